"""Every mail the portal sends: one function per mail, three templates per mail
(templates/emails/<name>.subject.txt, .txt, .html). Each writes an outbox row; the Celery
task sends it after the surrounding transaction commits (mail/outbox.py). Nothing else
sends mail. The services decide when a mail goes; this module only says what it says."""

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

from mail.models import OutboundEmail
from mail.outbox import dispatch

MAIL_LANGUAGE = "zh-hant"


def _queue(*, name, to, context, account=None, carries_secret=False):
    context = {
        "platform_name": settings.PLATFORM_NAME,
        "base_url": settings.PORTAL_BASE_URL,
        "helpdesk_phone": settings.HELPDESK_PHONE,
        "helpdesk_email": settings.HELPDESK_EMAIL,
        **context,
    }
    with translation.override(MAIL_LANGUAGE):
        subject = render_to_string(f"emails/{name}.subject.txt", context).strip()
        body_text = render_to_string(f"emails/{name}.txt", context)
        body_html = render_to_string(f"emails/{name}.html", context)
    row = OutboundEmail.objects.create(
        kind=name,
        account=account,
        to_address=to,
        subject=" ".join(subject.split()),
        body_text=body_text,
        body_html=body_html,
        carries_secret=carries_secret,
    )
    transaction.on_commit(lambda: dispatch(row.pk))
    return row


def account_created(*, account, link):
    """註冊會員成功通知: the account's profile and its set-password link."""
    return _queue(
        name="account_created",
        to=account.email,
        context={
            "account": account,
            "unit": account.unit,
            "link": link,
            "link_hours": settings.SET_PASSWORD_LINK_HOURS,
        },
        account=account,
        carries_secret=True,
    )


def verification_resent(*, account, link):
    """補寄驗證信: a fresh set-password link; earlier links no longer work."""
    return _queue(
        name="verification_resent",
        to=account.email,
        context={
            "account": account,
            "unit": account.unit,
            "link": link,
            "link_hours": settings.SET_PASSWORD_LINK_HOURS,
        },
        account=account,
        carries_secret=True,
    )


def password_reset_code(*, account, prefix, code, typed):
    """忘記密碼確認信: the 8-digit code behind the prefix the page shows."""
    return _queue(
        name="password_reset_code",
        to=account.email,
        context={
            "account": account,
            "prefix": prefix,
            "code": code,
            "typed": typed,
            "minutes": settings.PASSWORD_RESET_CODE_MINUTES,
        },
        account=account,
        carries_secret=True,
    )


def password_changed(*, account, how):
    """A notice that the password changed ("change" or "reset"); no secret in it."""
    return _queue(
        name="password_changed",
        to=account.email,
        context={"account": account, "how": how},
        account=account,
    )


def two_factor_changed(*, account, what, codes_left=None):
    """A notice of a two-factor change: "enabled", "disabled", "reset" (by helpdesk),
    "recovery_codes" (regenerated) or "recovery_code_used" (with the codes left)."""
    return _queue(
        name="two_factor_changed",
        to=account.email,
        context={"account": account, "what": what, "codes_left": codes_left},
        account=account,
    )


def email_change_confirm(*, account, new_email, link):
    """To the new address: confirm it with the link."""
    return _queue(
        name="email_change_confirm",
        to=new_email,
        context={
            "account": account,
            "new_email": new_email,
            "link": link,
            "link_hours": settings.EMAIL_CHANGE_LINK_HOURS,
        },
        account=account,
        carries_secret=True,
    )


def email_change_notice(*, account, new_email):
    """To the old address: someone asked to move this account's mail elsewhere."""
    return _queue(
        name="email_change_notice",
        to=account.email,
        context={"account": account, "new_email": new_email},
        account=account,
    )


def email_change_proposed(*, account, new_email, link, requester):
    """To the new address, for a change someone else asked for: the person confirms it,
    signed in as themselves."""
    return _queue(
        name="email_change_proposed",
        to=new_email,
        context={
            "account": account,
            "new_email": new_email,
            "link": link,
            "link_hours": settings.EMAIL_CHANGE_LINK_HOURS,
            "requester": requester,
        },
        account=account,
        carries_secret=True,
    )


def email_change_proposed_notice(*, account, new_email, requester):
    """To the old address: someone else asked to move this account's mail elsewhere."""
    return _queue(
        name="email_change_proposed_notice",
        to=account.email,
        context={"account": account, "new_email": new_email, "requester": requester},
        account=account,
    )


def email_changed_notice(*, account, old_email, requester):
    """To the old address of a pending account whose address someone else corrected: the
    set-password link sent here no longer works. The new address is not named (the old one
    may be a stranger's typo)."""
    return _queue(
        name="email_changed_notice",
        to=old_email,
        context={"account": account, "requester": requester},
        account=account,
    )


def account_lookup(*, email, unit, accounts):
    """Forgot account: the login names this e-mail holds in the unit."""
    return _queue(
        name="account_lookup",
        to=email,
        context={"unit": unit, "accounts": accounts},
        account=accounts[0],
    )


def station_reminder(*, account, station, holder):
    """催報: the main-account holder reminds an account to enter a station and consent."""
    return _queue(
        name="station_reminder",
        to=account.email,
        context={"account": account, "station": station, "holder": holder},
        account=account,
    )


def main_role_transferred(*, former, successor):
    """Both people learn that the unit's main role moved."""
    rows = []
    for recipient in (former, successor):
        rows.append(
            _queue(
                name="main_role_transferred",
                to=recipient.email,
                context={
                    "recipient": recipient,
                    "former": former,
                    "successor": successor,
                    "unit": successor.unit,
                },
                account=recipient,
            )
        )
    return rows


def application_received(*, application):
    """To a main-account applicant: the application arrived; helpdesk will check it."""
    return _queue(
        name="application_received",
        to=application.email,
        context={"application": application, "unit": application.unit},
    )


def application_approved(*, application, account):
    """To the applicant: the main account exists; the set-password mail comes separately."""
    return _queue(
        name="application_approved",
        to=application.email,
        context={
            "application": application,
            "account": account,
            "unit": application.unit,
            "link_hours": settings.SET_PASSWORD_LINK_HOURS,
        },
        account=account,
    )


def application_rejected(*, application):
    """To the applicant: the application was not approved, and why."""
    return _queue(
        name="application_rejected",
        to=application.email,
        context={"application": application, "unit": application.unit},
    )


def sub_account_requested(*, sub_request, holder):
    """To the unit's holder: a teacher asks for a sub-account (申請子帳號)."""
    return _queue(
        name="sub_account_requested",
        to=holder.email,
        context={"sub_request": sub_request, "holder": holder, "unit": sub_request.unit},
        account=holder,
    )


def sub_account_request_rejected(*, sub_request, holder):
    """To the teacher who asked: the holder did not create the sub-account, and why."""
    return _queue(
        name="sub_account_request_rejected",
        to=sub_request.email,
        context={"sub_request": sub_request, "holder": holder, "unit": sub_request.unit},
    )


def account_review_reminder(*, holder, unit_review, progress, last_day):
    """To a holder who has not finished the yearly review: how many are left, the deadline
    (a week before it, and on the last day)."""
    return _queue(
        name="account_review_reminder",
        to=holder.email,
        context={
            "holder": holder,
            "unit": unit_review.unit,
            "deadline": unit_review.deadline,
            "progress": progress,
            "last_day": last_day,
        },
        account=holder,
    )


def account_review_disabled(*, account, unit_review):
    """To a person whose account nobody confirmed in the yearly review: it is disabled."""
    return _queue(
        name="account_review_disabled",
        to=account.email,
        context={"account": account, "unit": unit_review.unit, "deadline": unit_review.deadline},
        account=account,
    )


def account_review_closed(*, holder, unit_review, accounts):
    """To the holder at the end of the review: the accounts disabled because nobody
    confirmed them."""
    return _queue(
        name="account_review_closed",
        to=holder.email,
        context={
            "holder": holder,
            "unit": unit_review.unit,
            "deadline": unit_review.deadline,
            "accounts": accounts,
        },
        account=holder,
    )
