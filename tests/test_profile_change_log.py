"""Who changed a profile is who the security log names: the person on /me/, the holder on
the /manage/ pages (issue 16: the holder's edits were logged as the person's own)."""

from accounts.models import SecurityEvent
from tests.conftest import GOOD_PASSWORD, sign_in


def test_the_holders_edit_of_a_teachers_profile_is_logged_as_the_holders(client, holder, teacher):
    sign_in(client, "010300_admin01", GOOD_PASSWORD)
    client.post(
        f"/manage/accounts/{teacher.username}/",
        {
            "action": "save",
            "full_name": "林志明",
            "office": "學務處",
            "title": teacher.title,
            "phone": teacher.phone,
            "email": teacher.email,
        },
    )

    event = SecurityEvent.objects.get(kind="profile_changed")
    assert (event.account, event.actor) == (teacher, holder)


def test_the_persons_own_edit_is_logged_as_theirs(client, teacher):
    sign_in(client, "010300_teacher01", GOOD_PASSWORD)
    client.post(
        "/me/",
        {"full_name": "林志明", "office": "學務處", "title": teacher.title, "phone": teacher.phone},
    )

    event = SecurityEvent.objects.get(kind="profile_changed")
    assert (event.account, event.actor) == (teacher, teacher)
