"""Recovery codes stored before the keyed hash were the unkeyed SHA-256 of ``pk:code``, which
a copy of the database alone lets anyone search offline. Only the hash is known, so each
stored value is wrapped in an HMAC under RECOVERY_CODE_KEY (read from the settings now) and
marked "w:"; the check computes the same from the typed code (accounts/two_factor.py
wrap_stored_recovery_code_hash). Keyed values cannot be told apart from unkeyed ones, so all
values stored so far are wrapped; wrapping a keyed value is harmless."""

import hashlib
import hmac

from django.conf import settings
from django.db import migrations, models

PREFIX = "w:"


def wrapped(stored: str) -> str:
    digest = hmac.new(
        settings.RECOVERY_CODE_KEY.encode(),
        f"portal.recovery-code.wrapped:{stored}".encode(),
        hashlib.sha256,
    ).hexdigest()
    return PREFIX + digest


def wrap_stored_codes(apps, schema_editor):
    RecoveryCode = apps.get_model("accounts", "RecoveryCode")
    # Ten rows per account with two-factor: read them all first, then update each.
    rows = list(
        RecoveryCode.objects.exclude(code_hash__startswith=PREFIX).values_list("pk", "code_hash")
    )
    for pk, stored in rows:
        RecoveryCode.objects.filter(pk=pk).update(code_hash=wrapped(stored))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0013_outbox_message_id"),
    ]

    operations = [
        migrations.AlterField(
            model_name="recoverycode",
            name="code_hash",
            field=models.CharField(max_length=80),
        ),
        # Not reversible: the unkeyed values are gone, which is the point.
        migrations.RunPython(wrap_stored_codes, migrations.RunPython.noop),
    ]
