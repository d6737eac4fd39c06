"""Where a scenario's time goes: cProfile over Django's test client, in this process, against
the benchmark's database and settings (so the same data, middleware and queries as under
gunicorn, minus the network and the WSGI server).

    python bench/profile_scenario.py SCENARIO var/bench/data.json [REQUESTS]

Prints the share of time in SQL, template rendering and the rest, then the functions with
the most time of their own and the most time under them.
"""

import cProfile
import io
import json
import os
import pstats
import re
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.models import Account  # noqa: E402
from stations.models import Station  # noqa: E402


def client_for(username=None) -> Client:
    # X-Forwarded-Proto as the TLS proxy sends it (else SECURE_SSL_REDIRECT answers 301).
    client = Client(HTTP_HOST="127.0.0.1", HTTP_X_FORWARDED_PROTO="https")
    if username:
        client.force_login(Account.objects.get(username=username))
    return client


def requests_for(scenario: str, data: dict):
    """A function that makes one request of the scenario and checks its answer."""
    if scenario in ("create_smtp_up", "create_smtp_down"):
        client = client_for(data["creator"])
        station = Station.objects.filter(is_active=True).order_by("order", "name").first().pk
        counter = iter(range(10**9))

        def create():
            local = f"prof-{os.getpid()}-{next(counter)}"
            form = {
                "local_part": local,
                "full_name": "測試教師",
                "office": "教務處",
                "title": "組長",
                "phone": "049-2910960#3765",
                "email": f"{local}@bench.edu.tw",
                "stations": [station],
                "captcha_0": "bench",
                "captcha_1": "PASSED",
            }
            response = client.post("/manage/accounts/new/", form)
            # wrk never sends the messages cookie back; here it would pile up every
            # "created" message and make each request slower than the one before.
            client.cookies.pop("messages", None)
            return response, 302

        return create
    if scenario == "sign_in":
        client = client_for()
        users = iter(data["sign_in_pool"] * 10)
        addresses = iter(range(10**9))

        def sign_in():
            form = {
                "username": next(users),
                "password": data["password"],
                "captcha_0": "bench",
                "captcha_1": "PASSED",
            }
            # A new client address each time, as wrk sends: the per-address limit (300 in
            # 15 minutes) would otherwise answer 429 after a few hundred sign-ins.
            n = next(addresses)
            forwarded = f"10.98.{n // 250 % 250}.{n % 250 + 1}"
            response = client.post("/login/", form, HTTP_X_FORWARDED_FOR=forwarded)
            client.cookies.clear()  # the next sign-in starts anonymous, like wrk's
            return response, 302

        return sign_in
    paths = {
        "home": (data["teachers"][0], "/"),
        "list": (data["holder"], "/manage/accounts/?page=2"),
        "search": (data["holder"], "/manage/accounts/?" + urlencode({"q": data["search"]})),
        "guest_home": (None, "/"),
        # force_login skips the two-factor step; the member's binding is confirmed, so the
        # admin opens as it does after the code.
        "admin_list": (next(iter(data["helpdesk"])), "/admin/accounts/account/?p=2"),
        "admin_search": (
            next(iter(data["helpdesk"])),
            "/admin/accounts/account/?" + urlencode({"q": data["admin_search"][1]}),
        ),
    }
    username, path = paths[scenario]
    client = client_for(username)
    return lambda: (client.get(path), 200)


def main():
    scenario, data = sys.argv[1], json.loads(Path(sys.argv[2]).read_text())
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    one = requests_for(scenario, data)
    for _ in range(20):  # warm: templates compiled, connection open, caches filled
        response, expected = one()
        if response.status_code != expected:
            raise SystemExit(f"{scenario}: answered {response.status_code}, not {expected}")

    def checked():
        response, expected = one()
        if response.status_code != expected:
            raise SystemExit(f"{scenario}: answered {response.status_code}, not {expected}")

    # Without the profiler first: what one request costs this process, for scale.
    started = time.perf_counter()
    for _ in range(count):
        checked()
    plain = (time.perf_counter() - started) / count

    sql = {"seconds": 0.0, "count": 0}

    def timed(execute, sql_text, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql_text, params, many, context)
        finally:
            sql["seconds"] += time.perf_counter() - started
            sql["count"] += 1

    profiler = cProfile.Profile()
    started = time.perf_counter()
    with connection.execute_wrapper(timed):
        profiler.enable()
        for _ in range(count):
            checked()
        profiler.disable()
    wall = time.perf_counter() - started

    stats = pstats.Stats(profiler)
    # Cumulative time of the template backend's render (cProfile counts a recursive
    # function's outermost calls only, so includes are not counted twice).
    render = sum(
        entry[3]
        for func, entry in stats.stats.items()
        if func[0].endswith("django/template/backends/django.py") and func[2] == "render"
    )
    each = wall / count * 1000
    print(
        f"{scenario}: {plain * 1000:.1f} ms per request in one process without the profiler; "
        f"{each:.1f} ms under cProfile ({count} requests)"
    )
    print(
        f"  SQL (round trips, psycopg, PostgreSQL): {sql['seconds'] / wall:.0%} "
        f"({sql['count'] / count:.1f} queries, {sql['seconds'] / count * 1000:.1f} ms per request)"
    )
    print(f"  template rendering (includes its own queries): {render / wall:.0%}")
    print()
    listings = (
        ("tottime", "own time", None, 15),
        # The project's own functions (and template tags) with the time under each: the
        # middleware chain and Django's handlers above the view are left out.
        # (The checkout's own path: a work tree elsewhere than /work/main matched nothing.)
        (
            "cumulative",
            "time under, project code",
            re.escape(str(BASE_DIR)) + r"/(?!bench/)\w+/(?!middleware)",
            25,
        ),
        # Django and library internals: ORM, templates, sessions, auth, axes, captcha, psycopg.
        (
            "cumulative",
            "time under, libraries",
            r"site-packages/(?!django/(core/handlers|test/|utils/deprecation)|whitenoise)",
            30,
        ),
    )
    for order, title, pattern, rows in listings:
        buffer = io.StringIO()
        printer = pstats.Stats(profiler, stream=buffer).sort_stats(order)
        printer.print_stats(*([pattern] if pattern else []), rows)
        text = buffer.getvalue().replace(str(BASE_DIR) + "/", "")
        text = re.sub(r"\S*site-packages/", "", text)
        if "   ncalls" not in text:  # nothing matched the pattern
            continue
        body = text[text.index("   ncalls") :]
        print(f"-- top functions by {title}")
        print(body.rstrip())
        print()


if __name__ == "__main__":
    main()
