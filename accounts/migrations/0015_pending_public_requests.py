# Public form requests kept while the broker could not take them (accounts/services.py).

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0014_recovery_codes_wrapped"),
    ]

    operations = [
        migrations.CreateModel(
            name="PendingPublicRequest",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("verification_resend", "補寄驗證信（待開通帳號）"),
                            ("password_reset", "忘記密碼"),
                            ("password_reset_again", "重寄驗證信"),
                            ("account_list", "查詢帳號"),
                        ],
                        max_length=30,
                    ),
                ),
                ("payload", models.TextField()),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("claimed_at", models.DateTimeField(blank=True, null=True)),
                ("attempts", models.PositiveSmallIntegerField(default=0)),
            ],
            options={
                "ordering": ["created_at", "id"],
                "indexes": [models.Index(fields=["created_at"], name="pending_public_created")],
            },
        ),
    ]
