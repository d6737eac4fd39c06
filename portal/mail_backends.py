"""Mail backends.

``SMTPBackend`` is what ``EMAIL_URL`` selects: Django's SMTP backend with a timeout fit for
the end of DATA, and a clear word when a message may have been delivered without the relay
saying so. ``ConsoleAndFileBackend`` is the embedded default's: it prints each message and
keeps it as an .eml file, so a newcomer without an SMTP server can open var/mail/*.eml (or
read the console) and follow the set-password link in it.
"""

import smtplib
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
    """RFC 5321 4.5.3.2 gives the end of DATA up to 10 minutes (the relay may be scanning the
    message); every other command keeps the short ``timeout``. A message whose final dot was
    sent but never answered raises DeliveryUnconfirmed instead of a plain network error."""

    data_timeout = None
    _message_handed_over = False

    def data(self, msg):
        self._message_handed_over = False
        if self.sock is not None and self.data_timeout is not None:
            self.sock.settimeout(self.data_timeout)
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
        # dot included. Once that returned, the relay holds the whole message.
        if isinstance(s, bytes | bytearray):
            self._message_handed_over = True


class _SMTP(_PatientDataMixin, smtplib.SMTP):
    pass


class _SMTPOverSSL(_PatientDataMixin, smtplib.SMTP_SSL):
    pass


class SMTPBackend(DjangoSMTPBackend):
    """EMAIL_TIMEOUT for connecting and each command, EMAIL_DATA_TIMEOUT for DATA."""

    def __init__(self, *args, data_timeout=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.data_timeout = settings.EMAIL_DATA_TIMEOUT if data_timeout is None else data_timeout

    @property
    def connection_class(self):
        base = _SMTPOverSSL if self.use_ssl else _SMTP
        data_timeout = self.data_timeout

        def connect(*args, **kwargs):
            connection = base(*args, **kwargs)
            connection.data_timeout = data_timeout
            return connection

        return connect

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


class ConsoleAndFileBackend(ConsoleBackend):
    def send_messages(self, email_messages):
        sent = super().send_messages(email_messages)
        folder = Path(settings.EMAIL_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
            path = folder / f"{stamp}-{get_random_string(6)}.eml"
            path.write_bytes(message.message().as_bytes())
        return sent
