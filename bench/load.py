"""Load (or grow) the benchmark's data set in the BENCH_DATABASE database, fast.

    python bench/load.py --accounts 5000        # first load: units, stations, announcements
    python bench/load.py --accounts 200000      # grow: adds the accounts not there yet
    python bench/load.py --accounts 2000000     # national scale (issue 19)

Accounts, grants, consents and security events go in with COPY; every account with a
password shares one argon2id hash made once with the project's configured hasher (so each
sign-in still verifies a full hash, the cost of which does not depend on the salt). Rows are
a pure function of their index k, so growing only appends:

    k = 0                 main account of the big unit (the holder of scenarios c and d)
    k = 1 .. 2000         the big unit's 2,000 sub-accounts
    k = 2001 .. 2001+U-2  main accounts of units 1 .. U-1 (unit 1's holder creates accounts)
    k beyond              sub-accounts spread round-robin over units 1 .. U-1

The first load also makes the helpdesk's staff members (one per connection of the admin
scenarios), each in the Helpdesk group with an authenticator bound, as the admin requires:
bench/client.py signs them in through /login/ and /login/two-factor/ with the code their
secret gives (kept in data.json, a bench-only file).

The national phase's growth (--national) is made by PostgreSQL itself from hashes of k
(add_accounts_in_sql: Python's rows come at about 3,000 accounts a second), and drops the
secondary indexes of the tables it fills and builds them again afterwards, as a bulk load
of that size is done: one index build is much faster than as many insertions into each
index (the trigram indexes of the admin's search most of all). The tables are VACUUMed and
ANALYZEd after every load (the shared server runs no autovacuum).

Writes var/bench/data.json: the password, the logins the load generator uses and the
search terms, for bench/run and bench/client.py.
"""

import argparse
import json
import os
import random
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management.color import no_style  # noqa: E402
from django.db import connection, models, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts import two_factor  # noqa: E402
from accounts.models import Account, SecurityEvent, TwoFactorDevice  # noqa: E402
from accounts.services.sign_in import policy_failures  # noqa: E402
from announcements.models import Announcement  # noqa: E402
from schools.models import Unit  # noqa: E402
from stations.models import Consent, Station, StationGrant  # noqa: E402

PASSWORD = "Bench-Portal-2026!tw"
BIG_UNIT_SUBS = 2000
STATIONS = 20
ANNOUNCEMENTS = 200
SIGN_IN_POOL = 20000  # distinct accounts the sign-in scenario cycles through
HOME_TEACHERS = 16  # one signed-in teacher per connection of the home scenario
SEARCH_TERM = "林志"  # surname + first given character: a handful of the 2,000 match
HELPDESK_MEMBERS = 16  # one signed-in helpdesk member per connection of the admin scenarios
# The admin's search, as helpdesk uses it when someone calls: by a login name, a full name,
# an e-mail address, a unit code. Taken from accounts that exist from the first load on
# (k below), so the same terms are searched at every size.
ADMIN_SEARCH_ACCOUNT = 1234
ADMIN_SEARCH_UNIT = 10
# Loaded account k has the id k + 1; everything else (the helpdesk's members, accounts the
# create scenario makes) has an id above this, so a later growth never meets one.
OTHER_IDS = 50_000_000

SURNAMES = "陳林黃張李王吳劉蔡楊許鄭謝郭洪曾邱廖賴周"
SURNAMES_LATIN = [
    "chen", "lin", "huang", "zhang", "li", "wang", "wu", "liu", "cai", "yang",
    "xu", "zheng", "xie", "guo", "hong", "zeng", "qiu", "liao", "lai", "zhou",
]  # fmt: skip
GIVEN = "志明淑芬美玲家豪俊傑怡君雅婷宗翰建宏佩珊冠宇欣怡承恩詩涵"
GIVEN_LATIN = [
    "zhi", "ming", "shu", "fen", "mei", "ling", "jia", "hao", "jun", "jie",
    "yi", "jun", "ya", "ting", "zong", "han", "jian", "hong", "pei", "shan",
    "guan", "yu", "xin", "yi", "cheng", "en", "shi", "han",
]  # fmt: skip
OFFICES = [
    ("教務處", "註冊組長"),
    ("教務處", "教學組長"),
    ("學務處", "生教組長"),
    ("總務處", "事務組長"),
    ("輔導室", "輔導老師"),
    ("圖書館", "資訊組長"),
    ("人事室", "人事主任"),
    ("會計室", "會計主任"),
]


def plan(units: int) -> dict:
    """Index ranges of the layout in the module docstring, for ``units`` units."""
    return {"units": units, "first_main": 1 + BIG_UNIT_SUBS, "first_sub": BIG_UNIT_SUBS + units}


def account_row(k: int, layout: dict, unit_ids: list[int], codes: list[str], now, hashed):
    """Account k, as column values (see the module docstring for what k means)."""
    rng = random.Random(k)
    if k == 0:
        unit, role = 0, Account.Role.MAIN
    elif k <= BIG_UNIT_SUBS:
        unit, role = 0, Account.Role.SUB
    elif k < layout["first_sub"]:
        unit, role = k - BIG_UNIT_SUBS, Account.Role.MAIN
    else:
        unit, role = 1 + (k - layout["first_sub"]) % (layout["units"] - 1), Account.Role.SUB
    s, g1, g2 = rng.randrange(20), rng.randrange(len(GIVEN)), rng.randrange(len(GIVEN))
    local = f"{SURNAMES_LATIN[s]}.{GIVEN_LATIN[g1]}{GIVEN_LATIN[g2]}{k}"
    # Mains, the first teachers of the big unit and most others are active; some never set
    # a password (pending), a few have left (disabled).
    roll = rng.random()
    if role == Account.Role.MAIN or k <= 100 or roll < 0.90:
        state = Account.State.ACTIVE
    elif roll < 0.96:
        state = Account.State.PENDING
    else:
        state = Account.State.DISABLED
    joined = now - timedelta(days=rng.randrange(30, 1500))
    active = state != Account.State.PENDING
    changed = now - timedelta(days=rng.randrange(1, 60), minutes=rng.randrange(1440))
    office, title = OFFICES[rng.randrange(len(OFFICES))]
    return {
        "id": k + 1,
        "password": hashed if active else "!" + rng.randbytes(20).hex(),
        "last_login": changed + timedelta(days=rng.randrange(0, 30)) if active else None,
        "is_superuser": False,
        "username": f"{codes[unit]}_{local}",
        "local_part": local,
        "role": role,
        "state": state,
        "full_name": SURNAMES[s] + GIVEN[g1] + GIVEN[g2],
        "office": office,
        "title": title,
        "phone": f"0{rng.randrange(2, 9)}-{rng.randrange(2000000, 9999999)}#{k % 900 + 100}",
        "email": f"{local}@s{codes[unit]}.edu.tw",
        "is_staff": False,
        "date_joined": joined,
        "activated_at": joined + timedelta(days=1) if active else None,
        "password_changed_at": changed if active else None,
        "unit_id": unit_ids[unit],
    }


def copy_rows(model, rows, *, with_pk=False) -> int:
    """COPY rows (dicts by attname) into the model's table. Fields a row leaves out get the
    field's default, so a column added to the model later does not break the load; the
    primary key is left to the database unless ``with_pk``."""
    fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
    defaults = {f.attname: f.get_default() for f in fields}
    json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    count = 0
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            values = []
            for field in fields:
                value = row.get(field.attname, defaults[field.attname])
                if field.attname in json_fields:
                    value = field.get_db_prep_save(value, connection)
                values.append(value)
            copy.write_row(values)
            count += 1
    return count


def reset_sequences(*model_list):
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), model_list):
            cursor.execute(sql)


def first_load(units: int, now) -> None:
    """Units, stations and announcements: what exists before any account."""
    Unit.objects.bulk_create(
        Unit(code=f"{100000 + i}", name=f"第{i:04d}示範高級中學", side=Unit.Side.SCHOOL)
        for i in range(units)
    )
    for i in range(STATIONS):  # through save(): each station gets its OpenID Connect client
        Station(
            slug=f"station-{i:02d}",
            name=f"編報站{i:02d}",
            entry_url=f"https://station{i:02d}.example.tw/",
            redirect_uris=f"https://station{i:02d}.example.tw/oidc/callback/",
            order=i,
        ).save()
    stations = list(Station.objects.order_by("order"))
    rng = random.Random(8)
    announcements = []
    for i in range(ANNOUNCEMENTS):
        created = now - timedelta(days=ANNOUNCEMENTS - i, hours=rng.randrange(24))
        announcements.append(
            Announcement(
                title=f"公告 {i:03d}：資料填報時程與注意事項",
                body="請各校於期限內完成填報。\n說明：https://example.edu.tw/notice/"
                + str(i)
                + "\n如有問題請洽系統客服。",
                audience=Announcement.Audience.GUEST if i % 4 else Announcement.Audience.MEMBER,
                station=stations[i % STATIONS] if i % 3 == 0 else None,
                author_label="系統管理員",
                created_at=created,
                edited_at=created + timedelta(hours=1) if i % 5 == 0 else None,
                pinned=i in (50, 120, 190),
            )
        )
    Announcement.objects.bulk_create(announcements)
    add_helpdesk(now)


def add_helpdesk(now) -> None:
    """Helpdesk's staff members, each with an authenticator bound (staff must have one)."""
    group = Group.objects.get(name="Helpdesk")
    stamp = Account(unit=None).password_policy_stamp
    for i in range(1, HELPDESK_MEMBERS + 1):
        member = Account.objects.create(
            id=OTHER_IDS + i,
            username=f"helpdesk{i:02d}",
            local_part=f"helpdesk{i:02d}",
            full_name=f"客服人員{i:02d}",
            email=f"helpdesk{i:02d}@portal.example.tw",
            is_staff=True,
            state=Account.State.ACTIVE,
            password=make_password(PASSWORD),
            password_policy=stamp,
            password_changed_at=now,
            activated_at=now,
        )
        member.groups.add(group)
        TwoFactorDevice.objects.create(
            account=member,
            encrypted_secret=two_factor.encrypt_secret(two_factor.new_secret()),
            confirmed_at=now,
        )


def add_accounts(start: int, stop: int, layout: dict, now) -> None:
    """Accounts start .. stop-1 with their grants, consents and security events."""
    unit_ids = list(Unit.objects.order_by("code").values_list("id", flat=True))
    codes = list(Unit.objects.order_by("code").values_list("code", flat=True))
    stations = list(Station.objects.order_by("order"))
    hashed = make_password(PASSWORD)  # the project's hasher (PASSWORD_HASHERS[0])
    rows = [account_row(k, layout, unit_ids, codes, now, hashed) for k in range(start, stop)]
    # A password stored through the portal is stamped with the policy it was checked
    # against (accounts.services.set_password.store_new_password), so sign-in skips the policy run.
    if hasattr(Account, "password_policy_stamp"):
        stamp = Account(unit=Unit(side=Unit.Side.SCHOOL)).password_policy_stamp
        for row in rows:
            if not row["password"].startswith("!"):
                row["password_policy"] = stamp
    copy_rows(Account, rows, with_pk=True)

    def grants():
        for row in rows:
            count = 4 if row["role"] == Account.Role.MAIN else 2
            for j in range(count):
                yield {
                    "account_id": row["id"],
                    "station_id": stations[(row["id"] + 5 * j) % STATIONS].pk,
                    "granted_at": row["date_joined"],
                }

    def consents():
        for row in rows:
            if row["state"] == Account.State.ACTIVE and row["id"] % 2 == 0:
                station = stations[row["id"] % STATIONS]
                yield {
                    "account_id": row["id"],
                    "station_id": station.pk,
                    "fields": station.field_list,
                    "given_at": row["last_login"],
                }

    def events():
        for row in rows:
            yield {
                "kind": SecurityEvent.Kind.ACCOUNT_CREATED,
                "account_id": row["id"],
                "username": row["username"],
                "detail": {"role": row["role"]},
                "created_at": row["date_joined"],
            }
            if row["last_login"]:
                yield {
                    "kind": SecurityEvent.Kind.SIGN_IN_SUCCEEDED,
                    "account_id": row["id"],
                    "actor_id": row["id"],
                    "username": row["username"],
                    "ip_address": f"10.{row['id'] % 250}.{row['id'] % 199}.{row['id'] % 97 + 1}",
                    "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
                    "created_at": row["last_login"],
                }

    copy_rows(StationGrant, grants())
    copy_rows(Consent, consents())
    copy_rows(SecurityEvent, events())


def add_accounts_in_sql(start: int, stop: int, layout: dict, now) -> None:
    """Sub-accounts start .. stop-1 (all of the national growth is sub-accounts spread over
    units 1 .. U-1), made by PostgreSQL itself: the same layout, shapes and shares as
    account_row and add_accounts, drawn from hashes of k instead of Python's random
    (Python makes about 3,000 accounts a second with their rows; the server, ten times
    that). Grants, consents and sign-in events as add_accounts makes them."""
    if start < layout["first_sub"]:
        raise SystemExit("add_accounts_in_sql makes sub-accounts only")
    unit_ids = list(Unit.objects.order_by("code").values_list("id", flat=True))
    codes = list(Unit.objects.order_by("code").values_list("code", flat=True))
    stations = list(Station.objects.order_by("order"))
    hashed = make_password(PASSWORD)
    stamp = Account(unit=Unit(side=Unit.Side.SCHOOL)).password_policy_stamp
    params = {
        "start": start,
        "stop": stop - 1,
        "first_sub": layout["first_sub"],
        "others": layout["units"] - 1,
        "unit_ids": unit_ids,
        "codes": codes,
        "surnames": list(SURNAMES),
        "surnames_latin": SURNAMES_LATIN,
        "given": list(GIVEN),
        "given_latin": GIVEN_LATIN,
        "offices": [office for office, _title in OFFICES],
        "titles": [title for _office, title in OFFICES],
        "hashed": hashed,
        "stamp": stamp,
        "now": now,
        "stations": [station.pk for station in stations],
        "fields": [json.dumps(station.field_list) for station in stations],
    }
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH drawn AS (
                SELECT k,
                       1 + (k - %(first_sub)s) %% %(others)s AS u,
                       abs(hashint8(k * 8 + 1)) AS h1, abs(hashint8(k * 8 + 2)) AS h2,
                       abs(hashint8(k * 8 + 3)) AS h3, abs(hashint8(k * 8 + 4)) AS h4,
                       abs(hashint8(k * 8 + 5)) AS h5, abs(hashint8(k * 8 + 6)) AS h6
                FROM generate_series(%(start)s::bigint, %(stop)s::bigint) AS k
            ), shaped AS (
                SELECT k, u, h5, h6,
                       (%(surnames_latin)s::text[])[1 + h1 %% 20] || '.'
                         || (%(given_latin)s::text[])[1 + h2 %% 28]
                         || (%(given_latin)s::text[])[1 + h3 %% 28] || k AS local,
                       (%(surnames)s::text[])[1 + h1 %% 20]
                         || (%(given)s::text[])[1 + h2 %% 28]
                         || (%(given)s::text[])[1 + h3 %% 28] AS full_name,
                       CASE WHEN h4 %% 100 < 90 THEN 'active'
                            WHEN h4 %% 100 < 96 THEN 'pending' ELSE 'disabled' END AS state,
                       %(now)s::timestamptz - make_interval(days => 30 + (h5 %% 1470)::int)
                         AS joined,
                       %(now)s::timestamptz - make_interval(
                         days => 1 + (h6 %% 59)::int, mins => (h6 / 59 %% 1440)::int) AS changed
                FROM drawn
            )
            INSERT INTO accounts_account (
                id, password, last_login, is_superuser, username, local_part, role, state,
                full_name, office, title, phone, email, is_staff, date_joined, activated_at,
                password_changed_at, unit_id, password_policy)
            SELECT k + 1,
                   CASE WHEN state = 'pending' THEN '!' || md5(k::text) ELSE %(hashed)s END,
                   CASE WHEN state = 'pending' THEN NULL
                        ELSE changed + make_interval(days => (h5 %% 30)::int) END,
                   false, (%(codes)s::text[])[u + 1] || '_' || local, local, 'sub', state,
                   full_name, (%(offices)s::text[])[1 + h6 %% 8], (%(titles)s::text[])[1 + h6 %% 8],
                   '0' || (2 + h5 %% 7) || '-' || (2000000 + h6 %% 8000000)
                     || '#' || (k %% 900 + 100),
                   local || '@s' || (%(codes)s::text[])[u + 1] || '.edu.tw', false, joined,
                   CASE WHEN state = 'pending' THEN NULL ELSE joined + interval '1 day' END,
                   CASE WHEN state = 'pending' THEN NULL ELSE changed END,
                   (%(unit_ids)s::bigint[])[u + 1],
                   CASE WHEN state = 'pending' THEN '' ELSE %(stamp)s END
            FROM shaped
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO stations_stationgrant (account_id, station_id, granted_at)
            SELECT a.id, (%(stations)s::bigint[])[1 + (a.id + 5 * j) %% 20], a.date_joined
            FROM accounts_account a, generate_series(0, 1) AS j
            WHERE a.id BETWEEN %(start)s + 1 AND %(stop)s + 1
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO stations_consent (account_id, station_id, fields, given_at)
            SELECT a.id, (%(stations)s::bigint[])[1 + a.id %% 20],
                   ((%(fields)s::text[])[1 + a.id %% 20])::jsonb, a.last_login
            FROM accounts_account a
            WHERE a.id BETWEEN %(start)s + 1 AND %(stop)s + 1
              AND a.state = 'active' AND a.id %% 2 = 0
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO accounts_securityevent (
                kind, account_id, actor_id, username, ip_address, user_agent, detail, created_at)
            SELECT 'account_created', a.id, NULL, a.username, NULL, '',
                   '{"role": "sub"}'::jsonb, a.date_joined
            FROM accounts_account a WHERE a.id BETWEEN %(start)s + 1 AND %(stop)s + 1
            UNION ALL
            SELECT 'sign_in_succeeded', a.id, a.id, a.username,
                   ('10.' || a.id %% 250 || '.' || a.id %% 199 || '.' || a.id %% 97 + 1)::inet,
                   'Mozilla/5.0 (Windows NT 10.0; Win64; x64)', '{}'::jsonb, a.last_login
            FROM accounts_account a
            WHERE a.id BETWEEN %(start)s + 1 AND %(stop)s + 1 AND a.last_login IS NOT NULL
            """,
            params,
        )


@contextmanager
def indexes_built_afterwards(models_, enabled: bool):
    """Drop the secondary indexes of these tables (those that back no constraint) for the
    load inside, and build them again after it."""
    if not enabled:
        yield
        return
    definitions = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        # The rows are made consistent by construction (every account's unit, every grant's
        # account and station exist): the foreign keys' per-row checks, queued to the commit
        # by Django's deferrable constraints, would take longer than the load itself. As a
        # bulk load does (the bench connects as the server's superuser), they are skipped.
        cursor.execute("SET LOCAL session_replication_role = replica")
        for model in models_:
            cursor.execute(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
                "FROM pg_index i WHERE i.indrelid = %s::regclass AND NOT i.indisprimary "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
                [model._meta.db_table],
            )
            for name, definition in cursor.fetchall():
                definitions.append(definition)
                cursor.execute(f"DROP INDEX {name}")
    yield
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = origin")
        for definition in definitions:
            cursor.execute(definition)
    print(f"  {len(definitions)} indexes built in {time.monotonic() - started:.1f} s")


def write_data_file(path: Path, total: int) -> None:
    """What the load generator needs: sign-in logins spread over every loaded account, the
    home page's teachers, the holders, the search term."""
    active = Account.objects.filter(state=Account.State.ACTIVE, unit__isnull=False)
    ids = list(active.values_list("id", flat=True))
    random.Random(total).shuffle(ids)
    pool = list(
        Account.objects.filter(id__in=ids[:SIGN_IN_POOL]).values_list("username", flat=True)
    )
    random.Random(total + 1).shuffle(pool)
    big = Unit.objects.order_by("code")[0]
    second = Unit.objects.order_by("code")[1]
    teachers = list(
        active.filter(unit=big, role=Account.Role.SUB)
        .order_by("id")
        .values_list("username", flat=True)[:HOME_TEACHERS]
    )
    data = {
        "accounts": Account.objects.count(),
        "password": PASSWORD,
        "sign_in_pool": pool,
        "teachers": teachers,
        "holder": Account.objects.get(unit=big, role=Account.Role.MAIN).username,
        "holder_accounts": Account.objects.filter(unit=big).count(),
        "creator": Account.objects.get(unit=second, role=Account.Role.MAIN).username,
        "search": SEARCH_TERM,
        "search_matches": Account.objects.filter(
            unit=big, full_name__icontains=SEARCH_TERM
        ).count(),
        "helpdesk": {
            member.username: two_factor.decrypt_secret(member.two_factor.encrypted_secret)
            for member in Account.objects.filter(is_staff=True).select_related("two_factor")
        },
        "admin_search": admin_search_terms(),
    }
    path.write_text(json.dumps(data, ensure_ascii=False))


def admin_search_terms() -> list[str]:
    """What helpdesk types: a login name, a full name, an e-mail address, a unit code."""
    account = Account.objects.get(id=ADMIN_SEARCH_ACCOUNT + 1)
    unit = Unit.objects.order_by("code")[ADMIN_SEARCH_UNIT]
    return [account.username, account.full_name, account.email, unit.code]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, required=True)
    parser.add_argument("--units", type=int, default=4000)
    parser.add_argument("--national", action="store_true", help="grow in SQL, indexes after")
    parser.add_argument("--out", type=Path, default=settings.VAR_DIR / "bench" / "data.json")
    args = parser.parse_args()
    layout = plan(args.units)
    if args.accounts <= layout["first_main"]:
        parser.error(f"--accounts must exceed the big unit's {layout['first_main']} accounts")
    started = time.monotonic()
    now = timezone.now()
    with transaction.atomic():
        if not Unit.objects.exists():
            first_load(args.units, now)
        have = Account.objects.filter(id__lte=OTHER_IDS).count()
        if have < args.accounts:
            filled = (Account, StationGrant, Consent, SecurityEvent)
            with indexes_built_afterwards(filled, args.national):
                if args.national:
                    add_accounts_in_sql(have, args.accounts, layout, now)
                else:
                    add_accounts(have, args.accounts, layout, now)
        reset_sequences(Account, StationGrant, Consent, SecurityEvent, Announcement, Unit)
    with connection.cursor() as cursor:
        # As autovacuum would have it (the shared server runs none): statistics, and the
        # visibility map that index-only scans read.
        for model in (Account, StationGrant, Consent, Unit):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
        cursor.execute("ANALYZE")
    # The shared password must pass today's policy, or every sign-in would be sent to the
    # change-password page instead of home.
    sample = Account.objects.select_related("unit").get(id=2)
    problems = policy_failures(PASSWORD, sample)
    if problems:
        raise SystemExit(f"bench password breaks the policy: {problems}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_data_file(args.out, args.accounts)
    print(
        f"loaded {Account.objects.count()} accounts in {Unit.objects.count()} units, "
        f"{StationGrant.objects.count()} grants, {Station.objects.count()} stations, "
        f"{Announcement.objects.count()} announcements in {time.monotonic() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
