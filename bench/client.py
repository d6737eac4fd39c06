"""Prepares the load generator: signs in the benchmark's accounts over HTTP (as a browser
behind the TLS proxy would), checks that each page answers what a person would see, and
writes the cookies and tokens for bench/wrk/scenario.lua as shell exports.

    python bench/client.py http://127.0.0.1:8765 var/bench/data.json var/bench/sessions.env
    python bench/client.py peer http://127.0.0.1:8767 var/bench/peer-users.txt OUT.env

Helpdesk's members sign in as staff must: the password, then the code of their
authenticator at /login/two-factor/ (pyotp, from the secret bench/load.py bound). A code
counts once, so the last step used per member is kept in var/bench/totp-steps.json.
The second form prepares the stock django-allauth peer (bench/peer/): its CSRF token, and
one sign-in checked to land where a person would.
"""

import http.client
import json
import re
import shlex
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import pyotp

SESSIONS = 16  # one signed-in session per connection of the page scenarios


class Client:
    def __init__(self, base: str):
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.origin = f"https://{self.host}:{self.port}"
        self.calls = 0

    def request(self, method, path, *, cookies=None, form=None):
        """One request through a fresh connection (gunicorn's sync workers close it)."""
        self.calls += 1
        headers = {
            # What the TLS-terminating proxy adds (BEHIND_TLS_PROXY=true, PROXY_COUNT=1).
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": f"10.99.{self.calls // 250 % 250}.{self.calls % 250 + 1}",
            "User-Agent": "portal-bench/1",
        }
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = self.origin
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            connection.close()
        jar = SimpleCookie()
        for value in response.headers.get_all("Set-Cookie") or []:
            jar.load(value)
        return response, text, {k: m.value for k, m in jar.items()}


def fail(message):
    raise SystemExit(f"bench/client.py: {message}")


def csrf(client):
    response, text, cookies = client.request("GET", "/login/")
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text)
    if response.status != 200 or not match or "csrftoken" not in cookies:
        fail(f"GET /login/ answered {response.status} without a CSRF token")
    return cookies["csrftoken"], match.group(1)


def sign_in(client, token, username, password, then="/"):
    form = {
        "csrfmiddlewaretoken": token[1],
        "username": username,
        "password": password,
        "captcha_0": "bench",
        "captcha_1": "PASSED",  # CAPTCHA_TEST_MODE (bench/settings.py only)
    }
    response, _text, cookies = client.request(
        "POST", "/login/", cookies={"csrftoken": token[0]}, form=form
    )
    if response.status != 302 or response.headers["Location"] != then or "sessionid" not in cookies:
        fail(f"sign-in of {username} answered {response.status} {response.headers['Location']}")
    return cookies["sessionid"]


def sign_in_staff(client, token, username, password, secret, steps_path):
    """Password, then the authenticator's code (the next step not used yet)."""
    session = sign_in(client, token, username, password, then="/login/two-factor/")
    steps = json.loads(steps_path.read_text()) if steps_path.exists() else {}
    totp = pyotp.TOTP(secret)
    step = max(totp.timecode(time.time()), steps.get(username, 0) + 1)
    while step > totp.timecode(time.time()) + 1:  # the server takes one step ahead at most
        time.sleep(1)
    steps[username] = step
    steps_path.write_text(json.dumps(steps))
    response, _text, cookies = client.request(
        "POST",
        "/login/two-factor/",
        cookies={"csrftoken": token[0], "sessionid": session},
        form={
            "csrfmiddlewaretoken": token[1],
            "code": totp.generate_otp(step),
            "account": username,  # the sign-in the code step was opened for
        },
    )
    if response.status != 302 or response.headers["Location"] != "/" or "sessionid" not in cookies:
        fail(f"the code step of {username} answered {response.status}")
    return cookies["sessionid"]


def expect(client, path, session, needle, what):
    response, text, _ = client.request("GET", path, cookies={"sessionid": session})
    if response.status != 200 or needle not in text:
        fail(f"GET {path} ({what}) answered {response.status} without {needle!r}")
    return text


def peer(base, users_path, out_path):
    """The stock peer: a CSRF token from its login page, and one sign-in that lands home."""
    client = Client(base)
    response, text, cookies = client.request("GET", "/accounts/login/")
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text)
    if response.status != 200 or not match or "csrftoken" not in cookies:
        fail(f"the peer's GET /accounts/login/ answered {response.status} without a CSRF token")
    token = cookies["csrftoken"], match.group(1)
    user = users_path.read_text().split()[0]
    response, _text, cookies = client.request(
        "POST",
        "/accounts/login/",
        cookies={"csrftoken": token[0]},
        form={"csrfmiddlewaretoken": token[1], "login": user, "password": PEER_PASSWORD},
    )
    if response.status != 302 or response.headers["Location"] != "/" or "sessionid" not in cookies:
        fail(f"the peer's sign-in of {user} answered {response.status}")
    response, text, _ = client.request("GET", "/", cookies={"sessionid": cookies["sessionid"]})
    if response.status != 200 or user not in text:
        fail(f"the peer's home answered {response.status} after signing in")
    exports = {
        "BENCH_PEER_CSRF_COOKIE": token[0],
        "BENCH_PEER_CSRF_TOKEN": token[1],
        "BENCH_PEER_USERS_FILE": str(users_path),
        "BENCH_PEER_PASSWORD": quote(PEER_PASSWORD, safe=""),
    }
    out_path.write_text("".join(f"export {k}={shlex.quote(v)}\n" for k, v in exports.items()))
    print(f"peer: signed in {user}; {len(users_path.read_text().split())} users to sign in")


PEER_PASSWORD = "Bench-Portal-2026!tw"  # bench/peer/load.py


def main():
    if sys.argv[1] == "peer":
        peer(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
        return
    base, data_path, out_path = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    data = json.loads(data_path.read_text())
    client = Client(base)
    token = csrf(client)
    password = data["password"]
    teachers = [sign_in(client, token, name, password) for name in data["teachers"][:SESSIONS]]
    holders = [sign_in(client, token, data["holder"], password) for _ in range(SESSIONS)]
    creators = [sign_in(client, token, data["creator"], password) for _ in range(SESSIONS)]
    steps = data_path.with_name("totp-steps.json")
    helpdesk = [
        sign_in_staff(client, token, name, password, secret, steps)
        for name, secret in data["helpdesk"].items()
    ]

    # What each scenario must show, checked once before it is measured.
    expect(client, "/", teachers[0], 'class="tile"', "a teacher's home with station tiles")
    page = expect(client, "/manage/accounts/", holders[0], "/manage/accounts/", "the holder's list")
    rows = page.count('class="state state--')
    if rows != 50:
        fail(f"the holder's list shows {rows} rows, not 50")
    search = "/manage/accounts/?" + urlencode({"q": data["search"]})
    page = expect(client, search, holders[0], data["search"], "a search in the list")
    if page.count('class="state state--') != min(50, data["search_matches"]):
        fail(f"the search for {data['search']} does not list its {data['search_matches']} rows")
    # Helpdesk's changelist: 50 rows a page, and each search term finds its account or unit.
    page = expect(client, "/admin/accounts/account/", helpdesk[0], "result_list", "the admin")
    rows = page.count('class="action-select"')
    if rows != 50:
        fail(f"the admin's account changelist shows {rows} rows, not 50")
    for term in data["admin_search"]:
        path = "/admin/accounts/account/?" + urlencode({"q": term})
        page = expect(client, path, helpdesk[0], "result_list", f"the admin's search {term}")
        if 'class="action-select"' not in page:
            fail(f"the admin's search for {term} finds nothing")
    response, text, _ = client.request("GET", "/")
    if response.status != 200 or "captcha" not in text:
        fail(f"the guest home page answered {response.status}")
    # A new sub-account is granted the first station the creation form offers.
    page = expect(client, "/manage/accounts/new/", creators[0], 'name="local_part"', "the form")
    station = re.search(r'name="stations" value="(\d+)"', page)
    if not station:
        fail("the creation form offers no station")

    exports = {
        "BENCH_CSRF_COOKIE": token[0],
        "BENCH_CSRF_TOKEN": token[1],
        "BENCH_TEACHER_SESSIONS": " ".join(teachers),
        "BENCH_HOLDER_SESSIONS": " ".join(holders),
        "BENCH_CREATOR_SESSIONS": " ".join(creators),
        "BENCH_HELPDESK_SESSIONS": " ".join(helpdesk),
        "BENCH_ADMIN_SEARCH": " ".join(quote(term, safe="") for term in data["admin_search"]),
        "BENCH_PASSWORD": quote(password, safe=""),
        "BENCH_SEARCH": quote(data["search"], safe=""),
        "BENCH_HOLDER_PAGES": str(-(-data["holder_accounts"] // 50)),
        "BENCH_STATION": station.group(1),
    }
    out_path.write_text("".join(f"export {k}={shlex.quote(v)}\n" for k, v in exports.items()))
    users = out_path.with_name("sign-in-users.txt")
    users.write_text("\n".join(data["sign_in_pool"]) + "\n")
    print(
        f"signed in {len(teachers)} teachers, {len(holders) + len(creators)} holder sessions "
        f"and {len(helpdesk)} helpdesk members (two-factor); "
        f"{len(data['sign_in_pool'])} accounts for the sign-in scenario"
    )


if __name__ == "__main__":
    main()
