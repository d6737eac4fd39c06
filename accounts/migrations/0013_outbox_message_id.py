from django.db import migrations, models

import mail.models  # new_message_id moved there with the outbox (issue 14)


def give_waiting_rows_a_message_id(apps, schema_editor):
    """Rows written before this migration that may still be sent get their own Message-ID;
    rows already sent keep none (nothing sends them again under the old one)."""
    OutboundEmail = apps.get_model("accounts", "OutboundEmail")
    for row in OutboundEmail.objects.filter(message_id="").exclude(status="sent").only("pk"):
        row.message_id = mail.models.new_message_id()
        row.save(update_fields=["message_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0012_password_check_failed"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboundemail",
            name="unconfirmed_sends",
            field=models.PositiveSmallIntegerField(default=0, verbose_name="未確認的寄送次數"),
        ),
        # Added empty, filled row by row, then given its per-row default: a callable default
        # on AddField would give every existing row the same value.
        migrations.AddField(
            model_name="outboundemail",
            name="message_id",
            field=models.CharField(default="", max_length=255, verbose_name="Message-ID"),
            preserve_default=False,
        ),
        migrations.RunPython(give_waiting_rows_a_message_id, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="outboundemail",
            name="message_id",
            field=models.CharField(
                default=mail.models.new_message_id,
                max_length=255,
                verbose_name="Message-ID",
            ),
        ),
    ]
