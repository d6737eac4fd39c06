"""The mail pipeline (SPEC section 5): outbox row first, sent by the Celery task after commit,
retried with backoff on SMTP and connection errors, recorded when it fails for good, never
sent twice, swept when the broker lost it, secrets cleared once sent."""

import os
import re
import smtplib
import socket
import threading
import time
from datetime import timedelta
from email.utils import parseaddr

import pytest
import time_machine
from django.conf import settings as settings_module
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.mail import get_connection
from django.core.management import call_command
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from accounts.profile import Profile
from accounts.services.new_accounts import create_main_account
from accounts.services.set_password import find_set_password_token
from mail import outbox
from mail.models import OutboundEmail
from mail.outbox import (
    CLAIM_LOST,
    SWEEP_GRACE,
    _after_unconfirmed_send,
    _compose,
    _finish,
    _retry_later,
    deliver_outbound_email,
    sweep_outbox,
)
from mail.resend import resend_outbound_email
from portal import breaker
from portal.celery import app as celery_app
from tests.conftest import free_port, message_id

pytestmark = pytest.mark.django_db

PROFILE = Profile("王小明", "教務處", "教務主任", "049-2910960#3765", "wang@school.edu.tw")


def create(school, capture):
    with capture(execute=True):
        return create_main_account(unit=school, local_part="admin01", profile=PROFILE)


def test_mail_is_sent_after_commit_in_text_and_html(
    school, django_capture_on_commit_callbacks, settings
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        account = create_main_account(unit=school, local_part="admin01", profile=PROFILE)
        assert mail.outbox == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()
    message = mail.outbox[0]
    assert message.to == [account.email]
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    assert message.subject.startswith("註冊會員成功通知")
    assert message.alternatives[0].mimetype == "text/html"
    assert "如果您並不是【010300】學校的老師，請忽略本信件" in message.alternatives[0].content
    row = OutboundEmail.objects.get()
    assert row.status == OutboundEmail.Status.SENT
    assert row.attempts == 1


def test_nothing_is_written_or_sent_when_the_transaction_rolls_back(
    school, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        create_main_account(unit=school, local_part="admin01", profile=PROFILE)
        raise RuntimeError("something later in the request failed")
    assert mail.outbox == []
    assert not OutboundEmail.objects.exists()


def test_a_secret_is_cleared_from_the_outbox_once_sent(school, django_capture_on_commit_callbacks):
    create(school, django_capture_on_commit_callbacks)
    row = OutboundEmail.objects.get()
    assert "/ckverifycode/" in mail.outbox[0].body
    assert "/ckverifycode/" not in row.body_text
    assert row.body_html == ""
    assert row.body_cleared_at is not None


def run_retries_as_they_fall_due(row):
    """Let time pass to each retry and run the outbox sweep, as Celery beat would."""
    for _ in range(len(settings_module.OUTBOX_RETRY_DELAYS) + 1):
        row.refresh_from_db()
        if row.status != OutboundEmail.Status.QUEUED:
            return row
        due = row.next_attempt_at + SWEEP_GRACE + timedelta(seconds=1)
        with time_machine.travel(due, tick=False):
            sweep_outbox()
    row.refresh_from_db()
    return row


def test_a_failed_smtp_send_is_retried_with_backoff_and_then_recorded_as_failed(
    school, django_capture_on_commit_callbacks, smtp_settings
):
    smtp_settings(free_port())  # nothing listens here: connection refused
    create(school, django_capture_on_commit_callbacks)
    row = OutboundEmail.objects.get()
    assert row.status == OutboundEmail.Status.QUEUED  # the first try failed; the next waits
    waits = [round((row.next_attempt_at - row.claimed_at).total_seconds())]
    while row.status == OutboundEmail.Status.QUEUED:
        row = run_one_retry(row)
        if row.status == OutboundEmail.Status.QUEUED:
            waits.append(round((row.next_attempt_at - row.claimed_at).total_seconds()))
    assert waits == list(settings_module.OUTBOX_RETRY_DELAYS)
    assert row.status == OutboundEmail.Status.FAILED
    assert row.attempts == len(settings_module.OUTBOX_RETRY_DELAYS) + 1
    assert "ConnectionRefusedError" in row.last_error
    assert "/ckverifycode/" not in row.body_text  # the link is never left lying in the outbox


def run_one_retry(row):
    due = row.next_attempt_at + SWEEP_GRACE + timedelta(seconds=1)
    with time_machine.travel(due, tick=False):
        sweep_outbox()
    row.refresh_from_db()
    return row


def test_a_retry_is_not_sent_before_its_time(
    school, django_capture_on_commit_callbacks, smtp_settings
):
    smtp_settings(free_port())
    create(school, django_capture_on_commit_callbacks)
    row = OutboundEmail.objects.get()
    with time_machine.travel(row.next_attempt_at - timedelta(seconds=10), tick=False):
        assert deliver_outbound_email(outbound_email_id=row.pk).status == "skipped"
        assert sweep_outbox() == {"requeued": 0, "resent": 0, "given_up": 0}
    row.refresh_from_db()
    assert row.attempts == 1


def test_helpdesk_resends_a_failed_account_created_mail_with_a_fresh_link(
    school, django_capture_on_commit_callbacks, smtp_settings, sink_factory, helpdesk
):
    smtp_settings(free_port())
    account = create(school, django_capture_on_commit_callbacks)
    failed = run_retries_as_they_fall_due(OutboundEmail.objects.get())
    assert failed.status == OutboundEmail.Status.FAILED

    sink, sink_port = sink_factory()
    smtp_settings(sink_port)
    with django_capture_on_commit_callbacks(execute=True):
        fresh = resend_outbound_email(outbound_email=failed, actor=helpdesk)
    fresh.refresh_from_db()
    assert fresh.pk != failed.pk
    assert fresh.status == OutboundEmail.Status.SENT
    assert len(sink.messages) == 1
    assert sink.messages[0].rcpt_tos == [account.email]
    token = re.search(rb"/ckverifycode/([^/\s]+)/", sink.messages[0].content).group(1).decode()
    assert find_set_password_token(token) is not None  # the new link works


def test_a_temporary_refusal_is_retried_and_delivered_once(
    school, django_capture_on_commit_callbacks, smtp_settings, sink_factory
):
    sink, port = sink_factory(refuse_first=2)
    smtp_settings(port)
    create(school, django_capture_on_commit_callbacks)
    row = run_retries_as_they_fall_due(OutboundEmail.objects.get())
    assert row.status == OutboundEmail.Status.SENT
    assert row.attempts == 3
    assert len(sink.messages) == 1


@pytest.mark.parametrize(
    "code",
    [
        "550 5.1.1 <wang@school.edu.tw>: Recipient address rejected: User unknown",
        "550 No such user here",
        "552 5.2.2 Mailbox full",
    ],
)
def test_a_relay_refusing_the_recipient_fails_the_mail_at_once(
    code, school, django_capture_on_commit_callbacks, smtp_settings, sink_factory
):
    sink, port = sink_factory(refuse_first=99, code=code, at="RCPT")
    smtp_settings(port)
    create(school, django_capture_on_commit_callbacks)
    row = OutboundEmail.objects.get()
    assert row.status == OutboundEmail.Status.FAILED
    assert row.attempts == 1
    assert code[:3] in row.last_error
    assert "/ckverifycode/" not in row.body_text


@pytest.mark.parametrize(
    ("at", "code"),
    [
        ("MAIL", "550 5.7.1 Sender address rejected: not owned by user"),
        ("AUTH", "535 5.7.8 Authentication credentials invalid"),
        ("DATA", "554 5.7.1 Message refused by policy"),
        ("RCPT", "554 5.7.1 <wang@school.edu.tw>: Relay access denied"),
    ],
    ids=["sender-refused", "login-refused", "policy-at-data", "relay-denied"],
)
def test_a_relay_refusing_the_sender_is_retried_and_the_mail_goes_out_once_it_accepts(
    at, code, school, django_capture_on_commit_callbacks, smtp_settings, sink_factory, settings
):
    """Every mail meets the same refusal: it is the relay's (or our configuration's) to fix,
    not the recipient's, so no mail is failed for it while retries remain."""
    sink, port = sink_factory(refuse_first=2, code=code, at=at)
    smtp_settings(port)
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "portal", "relay-password"
    create(school, django_capture_on_commit_callbacks)
    row = OutboundEmail.objects.get()
    assert row.status == OutboundEmail.Status.QUEUED
    assert code[:3] in row.last_error
    assert sink.messages == []

    row = run_retries_as_they_fall_due(row)
    assert row.status == OutboundEmail.Status.SENT
    assert row.attempts == 3
    assert sink.tries == 3
    assert len(sink.messages) == 1


def test_a_relay_refusing_the_sender_for_good_fails_the_mail_after_the_last_retry(
    school, django_capture_on_commit_callbacks, smtp_settings, sink_factory
):
    sink, port = sink_factory(refuse_first=99, code="550 5.7.1 Sender not allowed", at="MAIL")
    smtp_settings(port)
    create(school, django_capture_on_commit_callbacks)
    row = run_retries_as_they_fall_due(OutboundEmail.objects.get())
    assert row.status == OutboundEmail.Status.FAILED
    assert row.attempts == len(settings_module.OUTBOX_RETRY_DELAYS) + 1
    assert "SMTPSenderRefused" in row.last_error and "5.7.1" in row.last_error
    assert sink.messages == []


# --- One Message-ID per row; a timeout fit for the end of DATA ---------------------------


def test_every_try_of_a_mail_carries_the_rows_one_message_id_on_the_platforms_domain(
    school, django_capture_on_commit_callbacks, smtp_settings, sink_factory, settings
):
    sink, port = sink_factory(refuse_first=2)  # 451 at the end of DATA, twice
    smtp_settings(port)
    create(school, django_capture_on_commit_callbacks)
    row = run_retries_as_they_fall_due(OutboundEmail.objects.get())
    assert row.status == OutboundEmail.Status.SENT
    assert len(sink.data_seen) == 3
    assert {message_id(envelope) for envelope in sink.data_seen} == {row.message_id}
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2]
    assert row.message_id.endswith(f"@{domain}>")


def test_no_two_outbox_rows_share_a_message_id(school, django_capture_on_commit_callbacks):
    create(school, django_capture_on_commit_callbacks)
    row = OutboundEmail.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        OutboundEmail.objects.create(
            kind="x", to_address="a@b.tw", subject="s", body_text="b", message_id=row.message_id
        )
    # Rows sent before Message-IDs were kept have none; any number of them may exist.
    for _ in range(2):
        OutboundEmail.objects.create(
            kind="x", to_address="a@b.tw", subject="s", body_text="b", message_id=""
        )
    assert OutboundEmail.objects.filter(message_id="").count() == 2


def test_a_relay_slow_to_answer_the_end_of_data_gets_the_mail_once(
    school, django_capture_on_commit_callbacks, smtp_settings, sink_factory, settings
):
    """Commands wait EMAIL_TIMEOUT, the end of DATA EMAIL_DATA_TIMEOUT (RFC 5321 4.5.3.2)."""
    sink, port = sink_factory(answer_after=2)
    smtp_settings(port)
    settings.EMAIL_TIMEOUT, settings.EMAIL_DATA_TIMEOUT = 1, 10
    create(school, django_capture_on_commit_callbacks)
    row = run_retries_as_they_fall_due(OutboundEmail.objects.get())
    assert row.status == OutboundEmail.Status.SENT
    assert row.attempts == 1
    assert len(sink.messages) == 1


def test_a_relay_that_never_answers_the_end_of_data_gets_the_mail_twice_at_most_under_one_id(
    school, django_capture_on_commit_callbacks, smtp_settings, sink_factory, settings
):
    sink, port = sink_factory(answer_after=3)
    smtp_settings(port)
    settings.EMAIL_TIMEOUT = settings.EMAIL_DATA_TIMEOUT = 1
    create(school, django_capture_on_commit_callbacks)
    row = OutboundEmail.objects.get()
    assert row.status == OutboundEmail.Status.QUEUED  # it may have gone: once more, no more
    assert row.unconfirmed_sends == 1

    row = run_retries_as_they_fall_due(row)
    assert row.status == OutboundEmail.Status.FAILED
    assert row.attempts == 2
    assert "無法確認" in row.last_error
    assert len(sink.messages) == 2
    assert set(sink.message_ids) == {row.message_id}
    assert "/ckverifycode/" not in row.body_text


def test_a_relay_silent_after_data_itself_has_not_got_the_mail_and_it_is_retried_plainly(
    school, django_capture_on_commit_callbacks, smtp_settings, sink_factory, settings
):
    """The reply to DATA (354) waits EMAIL_TIMEOUT like any command (RFC 5321 4.5.3.2 allows
    it 2 minutes); only the end of DATA waits EMAIL_DATA_TIMEOUT. Nothing was handed over,
    so it is an ordinary retry, not a send that may have been delivered."""
    sink, port = sink_factory(data_reply_after=3)
    smtp_settings(port)
    settings.EMAIL_TIMEOUT, settings.EMAIL_DATA_TIMEOUT = 1, 10
    create(school, django_capture_on_commit_callbacks)
    row = OutboundEmail.objects.get()
    assert row.status == OutboundEmail.Status.QUEUED
    assert row.unconfirmed_sends == 0
    assert "timed out" in row.last_error
    assert sink.data_seen == []


@pytest.fixture
def unanswered_port():
    """A port on loopback whose listener never completes a handshake (its backlog is full),
    as a relay that is down behind a firewall dropping packets."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    yield port
    for sock in [*fillers, listener]:
        sock.close()


def test_connecting_to_the_relay_waits_the_connect_timeout_and_commands_the_longer_one(
    smtp_settings, sink_factory, unanswered_port, settings, monkeypatch
):
    """A relay that drops the handshake is given EMAIL_CONNECT_TIMEOUT, not the command
    timeout: the wait the socket is given is what is checked, not how long it took."""
    smtp_settings(unanswered_port)
    settings.EMAIL_CONNECT_TIMEOUT, settings.EMAIL_TIMEOUT = 1, 600
    waits = []
    create_connection = socket.create_connection

    def recording(address, timeout=None, *args, **kwargs):
        waits.append(timeout)
        return create_connection(address, timeout, *args, **kwargs)

    monkeypatch.setattr(smtplib.socket, "create_connection", recording)
    with pytest.raises(TimeoutError):
        get_connection(fail_silently=False).open()
    assert waits == [1]  # the handshake: EMAIL_CONNECT_TIMEOUT

    sink, port = sink_factory()
    smtp_settings(port)
    settings.EMAIL_CONNECT_TIMEOUT, settings.EMAIL_TIMEOUT = 1, 600
    backend = get_connection(fail_silently=False)
    backend.open()
    try:
        assert waits[-1] == 1
        assert backend.connection.sock.gettimeout() == 600  # each command: EMAIL_TIMEOUT
    finally:
        backend.close()


def test_the_send_tasks_time_limits_end_a_send_before_the_lease_runs_out(settings):
    """No sum of timeouts bounds a send (a relay feeding a byte at a time restarts each wait):
    the task's time limits do, in the prefork pool, before the sweep counts it as lost."""
    from mail.tasks import send_outbound_email

    lease = settings.OUTBOX_SENDING_LEASE
    assert send_outbound_email.soft_time_limit < send_outbound_email.time_limit < lease
    assert (
        lease > settings.EMAIL_DATA_TIMEOUT
    )  # a relay answering the end of DATA late is waited for
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert max(settings.OUTBOX_RETRY_DELAYS) + send_outbound_email.time_limit < visibility


def test_the_retry_delays_stay_under_the_redis_visibility_timeout(settings):
    delays = settings.OUTBOX_RETRY_DELAYS
    assert sum(delays) < settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] / 2
    assert list(delays) == sorted(delays)


def test_a_row_is_never_sent_twice(school, django_capture_on_commit_callbacks):
    create(school, django_capture_on_commit_callbacks)
    row = OutboundEmail.objects.get()
    assert deliver_outbound_email(outbound_email_id=row.pk).status == "skipped"
    OutboundEmail.objects.filter(pk=row.pk).update(status=OutboundEmail.Status.SENDING)
    assert deliver_outbound_email(outbound_email_id=row.pk).status == "skipped"
    assert len(mail.outbox) == 1


class RefusingBroker:
    """A port where connections are accepted and closed at once (Redis going down), counted."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()


@pytest.fixture
def broker_down():
    """Point Celery at a broker that closes every connection, as when Redis is down."""
    saved = celery_app.conf.broker_url, celery_app.conf.task_always_eager
    refusing = RefusingBroker()

    def reset_pools():
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    celery_app.conf.broker_url = f"redis://127.0.0.1:{refusing.port}/0"
    celery_app.conf.task_always_eager = False
    reset_pools()
    yield refusing
    refusing.listener.close()
    celery_app.conf.broker_url, celery_app.conf.task_always_eager = saved
    reset_pools()


def test_with_the_broker_down_the_request_succeeds_and_the_sweep_sends_later(
    school, helpdesk, django_capture_on_commit_callbacks, broker_down
):
    account = create(school, django_capture_on_commit_callbacks)
    assert account.pk is not None
    row = OutboundEmail.objects.get()
    assert row.status == OutboundEmail.Status.QUEUED
    assert mail.outbox == []
    # No long hang on the dead broker: after the first failure its circuit is open, and the
    # next hand-off does not even try to connect.
    assert broker_down.connections >= 1
    assert breaker.broker.state == "open"
    tried = broker_down.connections
    with django_capture_on_commit_callbacks(execute=True):
        resend_outbound_email(
            outbound_email=OutboundEmail.objects.create(
                kind="x",
                to_address="a@b.tw",
                subject="s",
                body_text="b",
                status=OutboundEmail.Status.SENT,
            ),
            actor=helpdesk,
        )
    assert broker_down.connections == tried
    assert OutboundEmail.objects.filter(status=OutboundEmail.Status.QUEUED).count() == 2

    # The broker is back; the sweep (Celery beat or the command) picks the row up.
    celery_app.conf.task_always_eager = True
    OutboundEmail.objects.filter(pk=row.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=5)
    )
    call_command("sweep_outbox")
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.SENT
    assert len(mail.outbox) == 1


# --- Nothing lost: a send that cannot be confirmed goes once more -------------------------


def lost_mid_send(**fields):
    """A row whose worker claimed it and was lost (killed, or its database went away) well
    past the lease: still "sending"."""
    values = {
        "kind": "password_changed",
        "to_address": "wang@school.edu.tw",
        "subject": "密碼已變更",
        "body_text": "您的密碼已變更。",
        "status": OutboundEmail.Status.SENDING,
        "attempts": 1,
        "claimed_at": timezone.now() - timedelta(hours=1),
    }
    return OutboundEmail.objects.create(**{**values, **fields})


def test_the_sweep_leaves_fresh_rows_to_the_broker_and_sending_rows_to_their_worker():
    now = timezone.now()
    fresh = OutboundEmail.objects.create(kind="x", to_address="a@b.tw", subject="s", body_text="b")
    sending = OutboundEmail.objects.create(
        kind="x",
        to_address="c@d.tw",
        subject="s",
        body_text="b",
        status=OutboundEmail.Status.SENDING,
        claimed_at=now - timedelta(minutes=1),
    )
    assert sweep_outbox(now=now) == {"requeued": 0, "resent": 0, "given_up": 0}
    fresh.refresh_from_db()
    sending.refresh_from_db()
    assert fresh.status == OutboundEmail.Status.QUEUED
    assert sending.status == OutboundEmail.Status.SENDING
    assert mail.outbox == []


def test_a_row_left_sending_past_its_lease_is_sent_once_more_under_its_message_id(
    smtp_settings, sink_factory
):
    sink, port = sink_factory()
    smtp_settings(port)
    row = lost_mid_send()
    result = sweep_outbox()
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.SENT
    assert row.attempts == 2
    assert sink.message_ids == [row.message_id]
    assert row.unconfirmed_sends == 1
    assert result["resent"] == 1

    with time_machine.travel(timezone.now() + timedelta(days=1), tick=False):
        sweep_outbox()
    assert len(sink.messages) == 1


def test_a_database_error_right_after_the_claim_loses_no_mail(
    school, django_capture_on_commit_callbacks, smtp_settings, sink_factory, monkeypatch
):
    sink, port = sink_factory()
    smtp_settings(port)
    compose, calls = _compose, []

    def database_gone_after_the_claim(row):
        calls.append(row.pk)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return compose(row)

    monkeypatch.setattr(outbox, "_compose", database_gone_after_the_claim, raising=False)
    with pytest.raises(OperationalError):
        create(school, django_capture_on_commit_callbacks)
    row = OutboundEmail.objects.get()
    assert row.status == OutboundEmail.Status.SENDING
    sweep_outbox()  # within the lease its worker may still be sending: left alone
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.SENDING

    after_the_lease = row.claimed_at + timedelta(hours=1)
    with time_machine.travel(after_the_lease, tick=False):
        sweep_outbox()
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.SENT
    assert row.attempts == 2
    assert sink.message_ids == [row.message_id]
    assert b"/ckverifycode/" in sink.messages[0].content
    assert "/ckverifycode/" not in row.body_text  # cleared once sent (SPEC 5)


def test_a_row_lost_twice_is_failed_with_a_reason_and_helpdesk_can_resend_it(
    smtp_settings, sink_factory, helpdesk, django_capture_on_commit_callbacks
):
    sink, port = sink_factory()
    smtp_settings(port)
    row = lost_mid_send(unconfirmed_sends=1)
    secret = lost_mid_send(unconfirmed_sends=1, carries_secret=True, kind="password_reset_code")
    assert sweep_outbox() == {"requeued": 0, "resent": 0, "given_up": 2}
    row.refresh_from_db()
    secret.refresh_from_db()
    assert row.status == secret.status == OutboundEmail.Status.FAILED
    assert "無法確認" in row.last_error and "重寄" in row.last_error
    assert secret.body_cleared_at is not None
    assert sink.messages == []

    first_message_id = row.message_id
    with django_capture_on_commit_callbacks(execute=True):
        resend_outbound_email(outbound_email=row, actor=helpdesk)
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.SENT
    # A deliberate resend is a new message: a mailbox that got a lost try must not drop it.
    assert sink.message_ids == [row.message_id]
    assert row.message_id != first_message_id


def test_a_mail_with_a_one_time_code_cannot_be_resent(helpdesk, teacher):
    row = OutboundEmail.objects.create(
        kind="password_reset_code",
        account=teacher,
        to_address=teacher.email,
        subject="s",
        body_text="code",
        carries_secret=True,
        status=OutboundEmail.Status.SENT,
    )
    with pytest.raises(ValidationError, match="無法重寄"):
        resend_outbound_email(outbound_email=row, actor=helpdesk)


def test_a_failed_mail_resent_by_helpdesk_goes_out_under_a_new_message_id(
    school, django_capture_on_commit_callbacks, smtp_settings, sink_factory, helpdesk
):
    smtp_settings(free_port())
    row = OutboundEmail.objects.create(
        kind="password_changed", to_address="wang@school.edu.tw", subject="s", body_text="b"
    )
    with django_capture_on_commit_callbacks(execute=True):
        outbox.dispatch(row.pk)
    failed = run_retries_as_they_fall_due(row)
    assert failed.status == OutboundEmail.Status.FAILED
    automatic_tries_id = failed.message_id

    sink, port = sink_factory()
    smtp_settings(port)
    with django_capture_on_commit_callbacks(execute=True):
        resend_outbound_email(outbound_email=failed, actor=helpdesk)
    failed.refresh_from_db()
    assert failed.status == OutboundEmail.Status.SENT
    assert sink.message_ids == [failed.message_id]
    assert failed.message_id != automatic_tries_id
    assert failed.message_id.endswith(f"@{settings_module.EMAIL_MESSAGE_ID_DOMAIN}>")


def test_a_bug_composing_a_mail_fails_it_at_once_with_the_reason(
    school, django_capture_on_commit_callbacks, smtp_settings, sink_factory, monkeypatch
):
    """A deterministic bug meets every try: the row is failed at once, saying so, rather
    than left "sending" until the lease and then resent into the same bug."""
    sink, port = sink_factory()
    smtp_settings(port)

    def broken_template(row):
        raise KeyError("platform_name")

    monkeypatch.setattr(outbox, "_compose", broken_template)
    create(school, django_capture_on_commit_callbacks)
    row = OutboundEmail.objects.get()
    assert row.status == OutboundEmail.Status.FAILED
    assert "無法組成這封信" in row.last_error and "KeyError" in row.last_error
    assert "/ckverifycode/" not in row.body_text
    with time_machine.travel(timezone.now() + timedelta(days=1), tick=False):
        sweep_outbox()
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.FAILED
    assert sink.data_seen == []


@pytest.mark.parametrize(
    "late_outcome",
    [
        lambda row: _retry_later(row, last_error="451 4.3.0 Try again later"),
        lambda row: _after_unconfirmed_send(row, "TimeoutError: timed out"),
        lambda row: _finish(row, status=OutboundEmail.Status.FAILED, last_error="x"),
    ],
    ids=["retry-later", "unconfirmed", "failed"],
)
def test_a_late_workers_outcome_is_not_recorded_over_the_row_the_sweep_gave_away(
    late_outcome, smtp_settings, sink_factory, caplog
):
    """The states of the PostgreSQL thread test below, driven one after the other: the
    worker's claim was counted lost, the sweep's resend went out, then the late worker
    ends. Its outcome would requeue (a third copy) or fail a row that was sent."""
    sink, port = sink_factory()
    smtp_settings(port)
    row = lost_mid_send()
    as_the_late_worker_saw_it = OutboundEmail.objects.get(pk=row.pk)
    sweep_outbox()
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.SENT

    late_outcome(as_the_late_worker_saw_it)
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.SENT
    assert row.unconfirmed_sends == 1
    assert "is not recorded" in caplog.text
    assert len(sink.messages) == 1


# --- Threads on PostgreSQL: workers and sweeps at the same time ---------------------------

needs_postgresql = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="DATABASE_URL is not PostgreSQL: these threads need connections that see each "
    "other's commits (the SQLite test database is one in-memory connection)",
)


def in_a_thread(work, results, name):
    def run():
        try:
            results[name] = work()
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def wait_for(condition, what):
    for _ in range(600):
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_worker_that_outlived_its_lease_records_nothing_over_the_next_workers_send(
    smtp_settings, sink_factory, settings, caplog
):
    """Without a hard time limit (eager mode with EMAIL_URL, a solo or threads pool, clocks
    apart) a send can outlive the lease: the sweep hands the row to a second worker. The
    first worker's late answer (here a 451, which would requeue it) must not touch the row
    the second one holds, or a third copy would follow."""
    first_answer, second_answer = threading.Event(), threading.Event()
    sink, port = sink_factory(
        answers=[("451 4.3.0 Try again later", first_answer), ("250 OK", second_answer)]
    )
    smtp_settings(port)
    row = OutboundEmail.objects.create(
        kind="password_changed", to_address="wang@school.edu.tw", subject="s", body_text="b"
    )
    results = {}
    first = in_a_thread(lambda: deliver_outbound_email(outbound_email_id=row.pk), results, "first")
    wait_for(lambda: len(sink.data_seen) == 1, "the first worker's message at the relay")
    settings.OUTBOX_SENDING_LEASE = 0  # the first worker has now outlived its lease
    sweep = in_a_thread(sweep_outbox, results, "sweep")  # the second worker sends
    wait_for(lambda: len(sink.data_seen) == 2, "the second worker's message at the relay")

    first_answer.set()
    first.join(timeout=30)
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.SENDING  # still the second worker's
    assert results["first"].status == CLAIM_LOST
    assert "is not recorded" in caplog.text

    second_answer.set()
    sweep.join(timeout=30)
    assert results["sweep"]["resent"] == 1
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.SENT
    assert row.attempts == 2
    assert [message_id(envelope) for envelope in sink.data_seen] == [row.message_id] * 2


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_dispatch_each_lost_row_exactly_once(
    smtp_settings, sink_factory, monkeypatch
):
    sink, port = sink_factory()
    smtp_settings(port)
    rows = [lost_mid_send(to_address=f"t{n}@school.edu.tw") for n in range(20)]
    dispatch, dispatched = outbox.dispatch, []

    def counted(pk):
        dispatched.append(pk)
        dispatch(pk)

    monkeypatch.setattr(outbox, "dispatch", counted)
    both_ready = threading.Barrier(2)

    def sweep():
        both_ready.wait(timeout=30)
        return sweep_outbox()

    results = {}
    sweeps = [in_a_thread(sweep, results, name) for name in ("one", "two")]
    for thread in sweeps:
        thread.join(timeout=120)
    assert sorted(dispatched) == sorted(row.pk for row in rows)
    assert results["one"]["resent"] + results["two"]["resent"] == 20
    assert sorted(sink.message_ids) == sorted(row.message_id for row in rows)
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {"sent"}
