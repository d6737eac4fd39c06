"""The embedded default's mail backend: print each message and keep it as an .eml file.

A newcomer without an SMTP server can open var/mail/*.eml (or read the console) and follow
the set-password link in it.
"""

from pathlib import Path

from django.conf import settings
from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.utils import timezone
from django.utils.crypto import get_random_string


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
