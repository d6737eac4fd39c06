"""The outbox moved from the accounts app to the mail app (issue 14): its table, every row,
the next row's id, and the permissions helpdesk holds on it come along (CI runs this on
PostgreSQL, with data in the table)."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from mail.models import OutboundEmail
from tests.conftest import make_account

BEFORE_THE_MOVE = [("accounts", "0016_outbox_one_row_per_message_id"), ("mail", None)]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state([t for t in targets if t[1]]).apps


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("made_early", [False, True], ids=["plain", "target-made-early"])
def test_moving_the_outbox_keeps_every_row_and_the_permissions_helpdesk_holds(school, made_early):
    teacher = make_account(school, "teacher01")
    desk = make_account(school, "desk01", is_staff=True)
    try:
        old = migrate(BEFORE_THE_MOVE)
        OldRow = old.get_model("accounts", "OutboundEmail")
        OldGroup, OldPermission = (
            old.get_model("auth", "Group"),
            old.get_model("auth", "Permission"),
        )
        resend = OldPermission.objects.get(
            content_type__app_label="accounts", codename="resend_outboundemail"
        )
        group = OldGroup.objects.create(name="Outbox desk")
        group.permissions.add(resend)
        if made_early:  # as post_migrate would, had it run before mail.0001 (a partial run)
            early = old.get_model("contenttypes", "ContentType").objects.create(
                app_label="mail", model="outboundemail"
            )
            OldPermission.objects.create(
                content_type=early, codename="resend_outboundemail", name="可重寄信件"
            )
        group.user_set.add(desk.pk)
        rows = [
            OldRow.objects.create(
                kind="password_changed",
                account_id=teacher.pk,
                to_address=teacher.email,
                subject=f"密碼已變更 {number}",
                body_text="內文",
                status=status,
                attempts=attempts,
                message_id=f"<row{number}@portal.example.tw>",
            )
            for number, (status, attempts) in enumerate(
                [("sent", 1), ("failed", 5), ("queued", 0), ("sending", 1)]
            )
        ]
    finally:
        call_command("migrate", verbosity=0)

    moved = list(OutboundEmail.objects.order_by("pk"))
    assert [(row.pk, row.subject, row.status, row.attempts, row.message_id) for row in moved] == [
        (row.pk, row.subject, row.status, row.attempts, row.message_id) for row in rows
    ]
    assert all(row.account_id == teacher.pk for row in moved)
    # The table's id sequence came along: a new row follows the old ones.
    new = OutboundEmail.objects.create(kind="x", to_address="a@b.tw", subject="s", body_text="b")
    assert new.pk > max(row.pk for row in rows)

    permission = Permission.objects.get(codename="resend_outboundemail")  # one, not two
    assert permission.content_type.app_label == "mail"
    assert Group.objects.get(name="Outbox desk").permissions.get() == permission
    desk.refresh_from_db()
    assert desk.has_perm("mail.resend_outboundemail")


@pytest.mark.django_db
def test_helpdesks_bookmark_of_the_old_outbox_address_leads_to_the_new_one():
    response = Client().get("/admin/accounts/outboundemail/?status=failed")
    assert response.status_code == 302
    assert response.url == "/admin/mail/outboundemail/?status=failed"
