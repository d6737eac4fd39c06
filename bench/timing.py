"""Two scenarios timed request by request over HTTP against the running stack (bench/run),
each writing one JSON file for bench/report.py:

    python bench/timing.py forms  BASE_URL DATA_JSON OUT_JSON SAMPLES
    python bench/timing.py import BASE_URL DATA_JSON OUT_JSON

forms (issue 13 §2 medium 5): the public forms must not give a match away by timing. For
/password/forgot/, /verify/resend/ and /account/lookup/, SAMPLES submissions that match an
account and SAMPLES that match none, alternating (in a shuffled order within each pair, so
drift of the machine falls on both alike), each timed from the first byte sent to the last
byte of the answer. The table shows the median of each, their difference (target < 1 ms)
and how often one sample, put on the nearer median's side, names its kind right (50% is
a coin). Every submission uses its own account and its own made-up name, so no per-key
limit is reached; each comes from its own address, as the load generator does.

import (issue 13 §1, from the test suite): the holder of a unit uploads a CSV file of 2,000
sub-accounts, 100 of whose names are already taken (as tests/test_csv_import.py's
2,000-row test does), and the request is timed end to end: upload, checking, the 1,900
accounts, their grants and their mails handed to the broker, until the redirect to the
result page comes back (target < 30 s). The result page and the database are then checked.
"""

import http.client
import json
import os
import random
import re
import statistics
import sys
import time
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django  # noqa: E402

django.setup()

from accounts.models import Account  # noqa: E402
from accounts.profile import Profile  # noqa: E402
from bench.client import Client, csrf, fail, sign_in  # noqa: E402
from mail.models import OutboundEmail  # noqa: E402
from schools import csv_files  # noqa: E402
from schools.models import Unit  # noqa: E402
from schools.services.sub_accounts import create_sub_account  # noqa: E402
from stations.models import Station  # noqa: E402

IMPORT_ROWS = 2000
TAKEN = range(0, 300, 3)  # 100 names already taken, as in the suite's old test
# Longer than gunicorn's --timeout 120, so a worker killed mid-import shows as a failure
# (a closed connection), not as this client giving up first.
IMPORT_TIMEOUT_S = 180


def timed(client, method, path, *, cookies, form):
    """One request (fresh connection, as Client does), timed with perf_counter."""
    started = time.perf_counter()
    response, text, _cookies = client.request(method, path, cookies=cookies, form=form)
    return time.perf_counter() - started, response, text


# --- forms --------------------------------------------------------------------------------


def people(state, count, offset):
    """Accounts of a state with a unit, name and e-mail, spread over the data set."""
    accounts = (
        Account.objects.filter(state=state, unit__isnull=False)
        .exclude(email="")
        .select_related("unit")
        .order_by("id")
    )
    chosen = list(accounts[offset : offset + count])
    if len(chosen) < count:
        fail(f"only {len(chosen)} {state} accounts for the timing of the public forms")
    return chosen


def made_up(account, n):
    """A submission shaped like the account's that matches nobody."""
    local = f"x{uuid.uuid4().hex[:10]}{n}"
    return {
        "full_name": account.full_name,
        "username": f"{account.unit.code}_{local}",
        "email": f"{local}@s{account.unit.code}.edu.tw",
    }


FORMS = {
    # path: (state of a matching account, the fields of a match, of a miss, expected answer)
    "/password/forgot/": (
        Account.State.ACTIVE,
        lambda a: {"full_name": a.full_name, "username": a.username, "email": a.email},
        made_up,
        "/password/forgot/code/",
    ),
    "/verify/resend/": (
        Account.State.PENDING,
        lambda a: {"full_name": a.full_name, "username": a.username, "email": a.email},
        made_up,
        "/verify/resend/",
    ),
    "/account/lookup/": (
        Account.State.ACTIVE,
        lambda a: {"code": a.unit.code, "email": a.email},
        lambda a, n: {"code": a.unit.code, "email": f"x{uuid.uuid4().hex[:10]}{n}@example.tw"},
        "/account/lookup/",
    ),
}


def forms(base, out, samples):
    client = Client(base)
    token = csrf(client)
    rng = random.Random(13)
    results = {}
    for index, (path, (state, match, miss, target)) in enumerate(FORMS.items()):
        # Different accounts per form (forgot and lookup both take active ones).
        accounts = people(state, samples, offset=index * samples if state == "active" else 0)
        times = {"match": [], "miss": []}
        for n, account in enumerate(accounts):
            pair = [("match", match(account)), ("miss", miss(account, n))]
            rng.shuffle(pair)
            for kind, fields in pair:
                form = {
                    "csrfmiddlewaretoken": token[1],
                    **fields,
                    "captcha_0": "bench",
                    "captcha_1": "PASSED",
                }
                seconds, response, _text = timed(
                    client, "POST", path, cookies={"csrftoken": token[0]}, form=form
                )
                location = response.headers.get("Location", "")
                if response.status != 302 or location != target:
                    fail(f"POST {path} ({kind}) answered {response.status} {location}")
                times[kind].append(seconds * 1000)
        match_ms, miss_ms = statistics.median(times["match"]), statistics.median(times["miss"])
        middle = (match_ms + miss_ms) / 2
        match_is_slower = match_ms >= miss_ms
        right = sum((t >= middle) == match_is_slower for t in times["match"]) + sum(
            (t < middle) == match_is_slower for t in times["miss"]
        )
        results[path] = {
            "samples": samples,
            "match_median_ms": match_ms,
            "miss_median_ms": miss_ms,
            "difference_ms": match_ms - miss_ms,
            "one_sample_right": right / (2 * samples),
        }
        print(
            f"   {path:<20} {samples} pairs: match {match_ms:6.2f} ms, miss {miss_ms:6.2f} ms, "
            f"difference {match_ms - miss_ms:+.2f} ms",
            file=sys.stderr,
        )
    out.write_text(json.dumps({"forms": results, "requests": 2 * samples * len(FORMS)}))


# --- import -------------------------------------------------------------------------------


def csv_row(local, station):
    return ",".join(
        [
            local,
            "黃淑芬",
            "學務處",
            "生教組長",
            "049-2910960#3971",
            f"{local}@bench.edu.tw",
            station,
        ]
    )


def multipart(fields, file_name, file_bytes):
    boundary = f"bench{uuid.uuid4().hex}"
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        )
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{file_name}"\r\nContent-Type: text/csv\r\n\r\n'
    )
    body = "".join(parts).encode() + file_bytes + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def import_csv(base, data, out):
    # The third unit's holder: the first two are the list/search and the create scenarios'.
    unit = Unit.objects.order_by("code")[2]
    holder = Account.objects.get(unit=unit, role=Account.Role.MAIN)
    station = Station.objects.usable_by(unit).first()
    for index in TAKEN:  # some names already taken, made as the portal makes them
        local = f"t{index:04d}"
        if not Account.objects.filter(unit=unit, local_part=local).exists():
            create_sub_account(
                unit=unit,
                local_part=local,
                profile=Profile(
                    full_name="黃淑芬",
                    office="學務處",
                    title="生教組長",
                    phone="049-2910960#3971",
                    email=f"{local}@bench.edu.tw",
                ),
                actor=holder,
            )
    before = Account.objects.filter(unit=unit).count()
    unit_mails = OutboundEmail.objects.filter(kind="account_created", account__unit=unit)
    mails_before = unit_mails.count()
    rows = [csv_row(f"t{index:04d}", station.slug) for index in range(IMPORT_ROWS)]
    content = "\r\n".join([",".join(csv_files.CHINESE_HEADER), *rows]) + "\r\n"

    client = Client(base)
    token = csrf(client)
    session = sign_in(client, token, holder.username, data["password"])
    body, content_type = multipart(
        {"csrfmiddlewaretoken": token[1]}, "accounts.csv", content.encode("utf-8")
    )
    headers = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": "10.98.0.1",
        "User-Agent": "portal-bench/1",
        "Cookie": f"csrftoken={token[0]}; sessionid={session}",
        "Origin": client.origin,
        "Content-Type": content_type,
    }
    connection = http.client.HTTPConnection(client.host, client.port, timeout=IMPORT_TIMEOUT_S)
    started = time.perf_counter()
    try:
        connection.request("POST", "/manage/accounts/import/", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    seconds = time.perf_counter() - started
    location = response.headers.get("Location", "")
    if response.status != 302 or location != "/manage/accounts/import/result/":
        fail(f"the import answered {response.status} {location}")
    cookies = {"sessionid": session}
    for value in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = value.partition("=")
        cookies[name] = rest.split(";", 1)[0]
    result, page, _ = client.request("GET", location, cookies=cookies)
    expected = IMPORT_ROWS - len(TAKEN)
    said = re.search(r"成功建立 (\d+) 個子帳號，(\d+) 列有錯誤", page)
    created = Account.objects.filter(unit=unit).count() - before
    mails = unit_mails.count() - mails_before
    if result.status != 200 or not said or int(said.group(1)) != expected or created != expected:
        fail(f"the import's result: {result.status}, {said and said.group(0)}, {created} created")
    out.write_text(
        json.dumps(
            {
                "rows": IMPORT_ROWS,
                "taken": len(TAKEN),
                "created": created,
                "mails": mails,
                "seconds": seconds,
                "bytes": len(body),
            }
        )
    )
    print(
        f"   import of {IMPORT_ROWS} rows ({len(TAKEN)} taken): {seconds:.1f} s, "
        f"{created} created, {mails} mails in the outbox",
        file=sys.stderr,
    )


def main():
    command, base, data_path, out = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
    data = json.loads(data_path.read_text())
    if command == "forms":
        forms(base, out, int(sys.argv[5]))
    elif command == "import":
        import_csv(base, data, out)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
