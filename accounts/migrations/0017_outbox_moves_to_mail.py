# The outbox (OutboundEmail) moves to the mail app (issue 14). Its table is renamed, every
# row kept; the model's state is created in mail.0001_initial, which also moves the content
# type (and with it the permissions helpdesk holds, such as resend_outboundemail).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0016_outbox_one_row_per_message_id"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable(name="OutboundEmail", table="mail_outboundemail"),
            ],
            state_operations=[
                migrations.DeleteModel(name="OutboundEmail"),
            ],
        ),
    ]
