"""Mail backends.

``SMTPBackend`` is what ``EMAIL_URL`` selects: Django's SMTP backend with a short timeout
to connect, one fit for the end of DATA, and a clear word when a message may have been
delivered without the relay saying so. ``ConsoleAndFileBackend`` is the embedded default's:
it keeps each message as an .eml file and prints its recipient, subject and text (not the
whole MIME message with its HTML), so a newcomer without an SMTP server can follow the
set-password link from the console or from var/mail/*.eml.
"""

import functools
import smtplib
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.core.mail.backends.smtp import EmailBackend as DjangoSMTPBackend
from django.utils import timezone
from django.utils.crypto import get_random_string


class DeliveryUnconfirmed(smtplib.SMTPException):
    """The whole message went to the relay but no answer came back (timeout or hang-up
    after the final dot): it may have been delivered. Retrying may deliver it twice."""


class _PatientDataMixin:
    """Three waits, each fit for its step. Opening the TCP connection waits
    ``connect_timeout``: a relay that does not answer the handshake is down, and a short
    wait lets the retry come sooner. Every command, the reply to DATA itself (354; RFC 5321
    4.5.3.2 allows 2 minutes for it) included, waits ``timeout``. Only once the message with
    its final dot has gone out does the wait become ``data_timeout``: RFC 5321 gives the
    end of DATA up to 10 minutes (the relay may be scanning the message). A message whose
    final dot was sent but never answered raises DeliveryUnconfirmed instead of a plain
    network error."""

    connect_timeout = None
    data_timeout = None
    _message_handed_over = False

    def __init__(self, *args, connect_timeout=None, data_timeout=None, **kwargs):
        # Set before smtplib connects (in its __init__, when given a host).
        self.connect_timeout = connect_timeout
        self.data_timeout = data_timeout
        super().__init__(*args, **kwargs)

    def _get_socket(self, host, port, timeout):
        sock = super()._get_socket(host, port, self.connect_timeout or timeout)
        sock.settimeout(timeout)
        return sock

    def data(self, msg):
        self._message_handed_over = False
        try:
            return super().data(msg)
        except smtplib.SMTPResponseException:
            raise  # the relay answered: it did not take the message
        except OSError as error:
            if not self._message_handed_over:
                raise
            self.close()  # the dialogue is out of step; QUIT would read the late answer
            raise DeliveryUnconfirmed(
                f"no answer to the end of DATA ({type(error).__name__}: {error})"
            ) from error
        finally:
            if self.sock is not None:
                self.sock.settimeout(self.timeout)

    def send(self, s):
        super().send(s)
        # Commands go out as str; only data() sends the message itself, as bytes, final
        # dot included. Once that returned, the relay holds the whole message, and the wait
        # for its answer is the end of DATA's.
        if isinstance(s, bytes | bytearray):
            self._message_handed_over = True
            if self.sock is not None and self.data_timeout is not None:
                self.sock.settimeout(self.data_timeout)


class _SMTP(_PatientDataMixin, smtplib.SMTP):
    pass


class _SMTPOverSSL(_PatientDataMixin, smtplib.SMTP_SSL):
    pass


class SMTPBackend(DjangoSMTPBackend):
    """EMAIL_CONNECT_TIMEOUT to open the connection, EMAIL_TIMEOUT for each command,
    EMAIL_DATA_TIMEOUT for the answer to the end of DATA."""

    def __init__(self, *args, connect_timeout=None, data_timeout=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.connect_timeout = (
            settings.EMAIL_CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
        )
        self.data_timeout = settings.EMAIL_DATA_TIMEOUT if data_timeout is None else data_timeout

    @property
    def connection_class(self):
        base = _SMTPOverSSL if self.use_ssl else _SMTP
        return functools.partial(
            base, connect_timeout=self.connect_timeout, data_timeout=self.data_timeout
        )

    def open(self):
        try:
            return super().open()
        except OSError:
            # A refused login or STARTTLS leaves a half-open connection behind: close it now
            # rather than when the backend is collected.
            if self._partial_connection is not None:
                self._partial_connection.close()
                self._partial_connection = None
            raise


_quiet = threading.local()


@contextmanager
def files_only():
    """Mail sent in this block is kept as files but not printed (the demo prints its own
    summary first, and says where the files are)."""
    _quiet.on = True
    try:
        yield
    finally:
        _quiet.on = False


class ConsoleAndFileBackend(ConsoleBackend):
    def send_messages(self, email_messages):
        folder = Path(settings.EMAIL_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
            path = folder / f"{stamp}-{get_random_string(6)}.eml"
            path.write_bytes(message.message().as_bytes())
            if not getattr(_quiet, "on", False):
                self._print(message, path)
        return len(email_messages)

    def _print(self, message, path):
        stream = self.stream or sys.stdout
        rule = "-" * 72
        stream.write(
            f"{rule}\nMail to {', '.join(message.to)}: {message.subject}\n"
            f"(kept as {path})\n\n{message.body.rstrip()}\n{rule}\n"
        )
        stream.flush()
