"""Load the stock peer's users (bench/peer/settings.py) by COPY, as bench/load.py loads the
portal's accounts: as many users, one password hashed once with the peer's hasher, an
e-mail address row for each (allauth's signup makes one), and a pool of users for the
sign-in scenario.

    python bench/peer/load.py --users 200000 --out var/bench/peer-users.txt
"""

import argparse
import json
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.peer.settings"

import django  # noqa: E402

django.setup()

from allauth.account.models import EmailAddress  # noqa: E402
from django.contrib.auth.hashers import get_hasher, make_password  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

PASSWORD = "Bench-Portal-2026!tw"  # the portal's bench password (bench/load.py)
SIGN_IN_POOL = 20000


def copy(table, columns, rows):
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as out,
    ):
        for row in rows:
            out.write_row(row)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    started = time.monotonic()
    now = timezone.now()
    hashed = make_password(PASSWORD)
    # Login names shaped like the portal's (a 6-digit unit code, "_", a local part).
    names = [f"{100000 + k % 4000}_user{k}" for k in range(args.users)]
    with transaction.atomic():
        copy(
            "auth_user",
            [
                "id", "password", "last_login", "is_superuser", "username", "first_name",
                "last_name", "email", "is_staff", "is_active", "date_joined",
            ],
            (
                (k + 1, hashed, now - timedelta(days=k % 30), False, name, "", "",
                 f"{name}@bench.edu.tw", False, True, now - timedelta(days=100 + k % 900))
                for k, name in enumerate(names)
            ),
        )  # fmt: skip
        copy(
            "account_emailaddress",
            ["user_id", "email", "verified", '"primary"'],
            ((k + 1, f"{name}@bench.edu.tw", True, True) for k, name in enumerate(names)),
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('auth_user', 'id'), %s)", [args.users]
            )
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('account_emailaddress', 'id'), "
                "(SELECT max(id) FROM account_emailaddress))"
            )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE auth_user")
        cursor.execute("VACUUM ANALYZE account_emailaddress")
    pool = random.Random(19).sample(names, min(SIGN_IN_POOL, len(names)))
    args.out.write_text("\n".join(pool) + "\n")
    params = get_hasher("default").decode(hashed)
    args.out.with_suffix(".json").write_text(
        json.dumps(
            {
                "users": User.objects.count(),
                "emails": EmailAddress.objects.count(),
                "variety": params["variety"],
                "memory_cost_kib": params["memory_cost"],
                "time_cost": params["time_cost"],
                "parallelism": params["parallelism"],
            }
        )
    )
    print(f"peer: loaded {args.users} users in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
