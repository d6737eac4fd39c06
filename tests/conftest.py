"""The cast and the tools every test shares.

People: ``holder`` (main account of 010300), ``teacher`` (sub-account of 010300),
``other_holder`` (main account of 010301), ``reviewer`` (admin-side sub-account of MOE001),
``helpdesk`` (staff in the Helpdesk group), and the guest (an anonymous ``client``).

The ``client`` fixture runs each request's on-commit callbacks when the request ends, as a
real commit would, so mail queued by a request is in ``mail.outbox`` when it returns.
"""

import asyncio
import email
import os
import re
import socket
import threading

import pyotp
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from captcha.conf import settings as captcha_settings
from django.contrib.auth.models import AnonymousUser, Group
from django.core import mail
from django.core.cache import cache, caches
from django.test import Client, RequestFactory, TestCase
from django.utils import timezone

from accounts import guest_home
from accounts.hashers import PortalArgon2PasswordHasher
from accounts.models import Account, TwoFactorDevice, normalize_login_name
from accounts.profile import Profile
from accounts.services.new_accounts import create_main_account
from accounts.services.sign_in import PASSWORD_CHANGE_REQUIRED
from accounts.services.two_factor_setup import confirm_two_factor_binding, start_two_factor_binding
from accounts.two_factor import code_at, decrypt_secret
from portal import breaker
from portal.celery import app as celery_app
from portal.env import parse_email_url
from schools.models import Unit
from tests.write_guard import guarded

# A password that satisfies every rule of the policy, on both sides.
GOOD_PASSWORD = "Harbor#Lantern-Tide82"
OTHER_GOOD_PASSWORD = "Mango!Orchard-Kettle57"

LINK_PATTERN = re.compile(r"https?://[^\s\"<>]+/ckverifycode/([^/\s\"<>]+)/")


class CommittingClient(Client):
    """A test client whose requests end like real ones: on-commit callbacks (queued mail)
    run when the request's transaction would have committed."""

    def request(self, **request):
        with TestCase.captureOnCommitCallbacks(execute=True):
            return super().request(**request)


@pytest.fixture
def client():
    return CommittingClient()


@pytest.fixture(autouse=True)
def captcha_test_mode(monkeypatch):
    """simple-captcha reads CAPTCHA_TEST_MODE once at import, so patch its settings module:
    with it, the answer "PASSED" is accepted. Tests of the captcha itself use real_captcha."""
    monkeypatch.setattr(captcha_settings, "CAPTCHA_TEST_MODE", True)


@pytest.fixture
def real_captcha(monkeypatch):
    monkeypatch.setattr(captcha_settings, "CAPTCHA_TEST_MODE", False)


@pytest.fixture(autouse=True)
def empty_cache():
    """Rate-limit counters live in the cache (Redis in CI): every test starts from zero, and
    without a guest page kept drawn by an earlier test."""
    cache.clear()
    caches["fragments"].clear()
    guest_home.forget()
    yield


@pytest.fixture(autouse=True)
def closed_circuits():
    """Every test starts with Redis trusted again (the circuit breakers are per process)."""
    breaker.reset_all()
    yield
    breaker.reset_all()


@pytest.fixture(autouse=True)
def fresh_readiness():
    """Every test's first /healthz asks the database and the broker (the answer is kept a
    few seconds per process)."""
    from portal.views import forget_readiness

    forget_readiness()
    yield
    forget_readiness()


@pytest.fixture(autouse=True)
def writes_only_through_services():
    """Under every test: a view, form or admin class that writes a model itself, instead of
    through a service, fails the test (tests/write_guard.py)."""
    guard, wrapper = guarded()
    with wrapper:
        yield guard
    assert not guard.violations, guard.violations


@pytest.fixture(autouse=True)
def eager_celery(request):
    """Tasks run in-process unless the test asks for the live worker (live_services)."""
    if request.node.get_closest_marker("live_services"):
        yield
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


CAPTCHA_OK = {"captcha_0": "test", "captcha_1": "PASSED"}


class CountingHasher(PortalArgon2PasswordHasher):
    """Our argon2 hasher, noting the length of each password it is handed (to hash or to
    verify)."""

    lengths: list[int] = []

    def encode(self, password, salt):
        CountingHasher.lengths.append(len(password))
        return super().encode(password, salt)

    def verify(self, password, encoded):
        CountingHasher.lengths.append(len(password))
        return super().verify(password, encoded)


@pytest.fixture
def hashed_lengths(settings):
    """The lengths of the passwords handed to the hasher since the fixture started."""
    CountingHasher.lengths = []
    settings.PASSWORD_HASHERS = [
        "tests.conftest.CountingHasher",
        *settings.PASSWORD_HASHERS[1:],
    ]
    return lambda: list(CountingHasher.lengths)


@pytest.fixture
def policy_runs(monkeypatch) -> list:
    """The length of each password the policy's guessability rule (zxcvbn, its costliest
    rule) is run on, from now on."""
    from accounts.validators import GuessabilityValidator

    runs = []
    original = GuessabilityValidator.validate

    def counting(self, password, user=None):
        runs.append(len(password))
        return original(self, password, user)

    monkeypatch.setattr(GuessabilityValidator, "validate", counting)
    return runs


def sign_in(client, username, password, **extra):
    """Sign in as the person would, phone in hand: the password, then (for an account with
    two-factor) the current code; an account that must bind two-factor binds it. The answer
    to the password step is returned unless a code step followed it. Tests of two-factor
    itself post each step by hand."""
    response = client.post(
        "/login/", {"username": username, "password": password, **CAPTCHA_OK, **extra}
    )
    if response.status_code != 302:
        return response
    account = Account.objects.get(username=normalize_login_name(username))
    if response.url.startswith("/login/two-factor/"):
        return client.post(
            response.url, {"code": next_totp_code(account), "account": account.username}
        )
    if account.must_use_two_factor and not client.session.get(PASSWORD_CHANGE_REQUIRED):
        bind_through_the_page(client, account, password)
    return response


def bind_through_the_page(client, account, password=GOOD_PASSWORD) -> None:
    """Bind two-factor in this signed-in client's session (which stays signed in): the
    password again and the app's first code."""
    client.get("/me/two-factor/")
    bound = client.post("/me/two-factor/", {"password": password, "code": next_totp_code(account)})
    assert bound.url.startswith("/me/two-factor/recovery-codes/"), "binding failed"


def bind_two_factor(account, password=GOOD_PASSWORD) -> str:
    """Bind an authenticator for ``account`` as the binding page would (its password given
    again, from a browser of its own); returns the secret."""
    secret = start_two_factor_binding(account=account)
    request = RequestFactory().post("/me/two-factor/")
    request.user = AnonymousUser()
    confirm_two_factor_binding(
        account=account,
        code=code_at(secret, timezone.now()),
        password=password,
        request=request,
    )
    return secret


def next_totp_code(account) -> str:
    """The code the account's authenticator shows, or the next one when the current one was
    already used (a code counts once)."""
    device = TwoFactorDevice.objects.get(account=account)
    secret = decrypt_secret(device.encrypted_secret)
    totp = pyotp.TOTP(secret)
    step = max(totp.timecode(timezone.now()), device.last_used_step + 1)
    return totp.generate_otp(step)


def link_token(message) -> str:
    """The set-password token in a mail (text part)."""
    match = LINK_PATTERN.search(message.body)
    assert match, f"no set-password link in: {message.body}"
    return match.group(1)


def make_account(unit, local_part, *, role=Account.Role.SUB, password=GOOD_PASSWORD, **fields):
    """An active account with a password (sub-accounts get their own service in a later issue)."""
    defaults = {
        "full_name": "測試人員",
        "office": "教務處",
        "title": "組長",
        "phone": "049-2910960#3765",
        "email": f"{local_part}@school.edu.tw",
    }
    defaults.update(fields)
    account = Account(
        username=f"{unit.code}_{local_part}",
        unit=unit,
        local_part=local_part,
        role=role,
        state=Account.State.ACTIVE,
        **defaults,
    )
    account.set_password(password)
    account.save()
    return account


@pytest.fixture
def school(db):
    return Unit.objects.create(code="010300", name="國立示範高級中學", side=Unit.Side.SCHOOL)


@pytest.fixture
def other_school(db):
    return Unit.objects.create(code="010301", name="市立和平高級中學", side=Unit.Side.SCHOOL)


@pytest.fixture
def agency(db):
    return Unit.objects.create(code="MOE001", name="教育部國民及學前教育署", side=Unit.Side.ADMIN)


@pytest.fixture
def holder(school):
    return make_account(school, "admin01", role=Account.Role.MAIN, full_name="王小明")


@pytest.fixture
def teacher(school):
    return make_account(school, "teacher01", full_name="林志明")


@pytest.fixture
def other_holder(other_school):
    return make_account(other_school, "principal", role=Account.Role.MAIN, full_name="陳美玲")


@pytest.fixture
def reviewer(agency):
    return make_account(agency, "reviewer", full_name="張雅婷")


@pytest.fixture
def helpdesk(db):
    account = Account.objects.create_user(
        "helpdesk", email="helpdesk@portal.example.tw", password=GOOD_PASSWORD, full_name="客服人員"
    )
    account.is_staff = True
    account.save()
    account.groups.add(Group.objects.get(name="Helpdesk"))
    return account


@pytest.fixture
def pending_main(school, django_capture_on_commit_callbacks):
    """A main account created by the operator command's service: pending, mail sent."""
    with django_capture_on_commit_callbacks(execute=True):
        account = create_main_account(
            unit=school,
            local_part="Admin01",
            profile=Profile(
                "王小明", "教務處", "教務主任", "049-2910960#3765", "wang@school.edu.tw"
            ),
        )
    return account


@pytest.fixture
def set_password_token(pending_main):
    return link_token(mail.outbox[-1])


def live_services_configured() -> bool:
    return bool(os.environ.get("REDIS_URL"))


# --- A real SMTP server on loopback ----------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Sink:
    """A real SMTP server on loopback (aiosmtpd), behaving as a relay can: it refuses the
    first ``refuse_first`` tries (connections) with ``code`` at the stage ``at`` (AUTH, MAIL,
    RCPT, or DATA: the end of DATA), and it can answer the end of DATA ``answer_after``
    seconds late (the first ``answer_late_first`` messages; all when None). A message whose
    end of DATA came in is in ``messages`` even when the client stopped waiting for the
    answer: a relay holds it by then. ``data_seen`` has every message that reached the end
    of DATA, refused or not. ``data_reply_after`` delays the 354 reply to DATA itself.
    ``answers`` scripts the end of DATA message by message: each (reply, event) is given
    once the event is set (tests use it to order two workers' sends)."""

    def __init__(
        self,
        refuse_first=0,
        code="451 4.3.0 Try again later",
        at="DATA",
        answer_after=0.0,
        answer_late_first=None,
        data_reply_after=0.0,
        answers=(),
    ):
        assert at in {"AUTH", "MAIL", "RCPT", "DATA"}
        self.refuse_first = refuse_first
        self.code = code
        self.at = at
        self.answer_after = answer_after
        self.answer_late_first = answer_late_first
        self.data_reply_after = data_reply_after
        self.answers = list(answers)
        self.tries = 0
        self.messages = []
        self.data_seen = []
        self.end_of_data = threading.Event()  # set when a message's end of DATA came in
        self._sessions = []

    def _refuses(self, stage, session):
        """One try is one connection (a client may say AUTH once per mechanism)."""
        if stage != self.at:
            return False
        if not any(seen is session for seen in self._sessions):
            self._sessions.append(session)
            self.tries += 1
        return self.tries <= self.refuse_first

    async def handle_AUTH(self, server, session, envelope, args):
        if self._refuses("AUTH", session):
            return self.code
        session.authenticated = True
        return "235 2.7.0 Authentication successful"

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self._refuses("MAIL", session):
            return self.code
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self._refuses("RCPT", session):
            return self.code
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_seen.append(envelope)
        if self.answers:
            reply, release = self.answers.pop(0)
            self.end_of_data.set()
            await asyncio.to_thread(release.wait, 60)
            if reply.startswith("250"):
                self.messages.append(envelope)
            return reply
        if self._refuses("DATA", session):
            return self.code
        self.messages.append(envelope)
        self.end_of_data.set()
        late = self.answer_late_first is None or len(self.messages) <= self.answer_late_first
        if self.answer_after and late:
            await asyncio.sleep(self.answer_after)
        return "250 OK"

    @property
    def message_ids(self):
        return [message_id(envelope) for envelope in self.messages]


def message_id(envelope) -> str:
    return email.message_from_bytes(envelope.content)["Message-ID"]


@pytest.fixture
def smtp_settings(settings):
    """Send through the SMTP backend EMAIL_URL selects, to a sink on loopback."""

    def use(port):
        for name, value in parse_email_url(f"smtp://127.0.0.1:{port}").items():
            setattr(settings, name, value)
        settings.EMAIL_TIMEOUT = settings.EMAIL_DATA_TIMEOUT = 5

    return use


class SlowDataSMTP(SMTP):
    """aiosmtpd's server, answering DATA itself (354) after the sink's data_reply_after."""

    async def smtp_DATA(self, arg):
        if self.event_handler.data_reply_after:
            await asyncio.sleep(self.event_handler.data_reply_after)
        return await super().smtp_DATA(arg)


class SinkController(Controller):
    def factory(self):
        return SlowDataSMTP(self.handler, **self.SMTP_kwargs)


@pytest.fixture
def sink_factory():
    controllers = []

    def start(**kwargs):
        sink = Sink(**kwargs)
        # AUTH offered without TLS, as on loopback: a test that sets a user name logs in.
        controller = SinkController(
            sink, hostname="127.0.0.1", port=free_port(), auth_require_tls=False
        )
        controller.start()
        controllers.append(controller)
        return sink, controller.port

    yield start
    for controller in controllers:
        controller.stop()
