"""Handing the unit's main role to a successor (SPEC section 6, /manage/transfer/)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account, SecurityEvent
from accounts.normalize import normalize_login_name
from accounts.security_log import record_security_event
from accounts.services.email_change import revoke_email_changes_asked_by
from accounts.services.reauthentication import check_password_again
from mail import messages
from schools.models import Unit

Kind = SecurityEvent.Kind


def transfer_candidates(holder: Account):
    """Who may take the main role over: the unit's active sub-accounts (not staff), by name."""
    return (
        Account.objects.filter(
            unit_id=holder.unit_id,
            role=Account.Role.SUB,
            state=Account.State.ACTIVE,
            is_staff=False,
            is_superuser=False,
        )
        .exclude(pk=holder.pk)
        .order_by("username")
    )


def transfer_main_role(
    *, holder: Account, successor_username: str, password: str, request
) -> Account:
    """Hand the main role to an active sub-account of the same unit. The password is checked
    through the sign-in machinery, so a wrong one counts toward the lockout. The unit row
    is locked, so two transfers at once cannot leave zero or two main accounts. The e-mail
    changes the former holder asked for the unit's accounts and nobody confirmed yet end
    with the role (the event counts them)."""
    successor_username = normalize_login_name(successor_username)
    errors: dict[str, list[str]] = {}
    password_error = check_password_again(
        account=holder, password=password, request=request, purpose="main_role_transfer"
    )
    if password_error:
        errors["password"] = [password_error]
    successor = (
        Account.objects.filter(
            unit_id=holder.unit_id, username=successor_username, role=Account.Role.SUB
        )
        .exclude(pk=holder.pk)
        .first()
    )
    if successor is None:
        errors["successor"] = [
            _("找不到這個子帳號：請輸入貴單位子帳號的完整帳號，例如 %(code)s_teacher01。")
            % {"code": holder.unit.code}
        ]
    elif successor.state != Account.State.ACTIVE:
        errors["successor"] = [_("接任者的帳號必須已開通且未停用。")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        Unit.objects.select_for_update().get(pk=holder.unit_id)
        former = Account.objects.select_for_update().get(pk=holder.pk)
        chosen = Account.objects.select_for_update().get(pk=successor.pk)
        if (
            former.role != Account.Role.MAIN
            or chosen.role != Account.Role.SUB
            or chosen.state != Account.State.ACTIVE
        ):
            raise ValidationError({"successor": [_("主帳號剛剛已有變動，請重新整理後再試。")]})
        former.role = Account.Role.SUB
        former.save(update_fields=["role"])
        revoked = revoke_email_changes_asked_by(former, timezone.now())
        chosen.role = Account.Role.MAIN
        chosen.save(update_fields=["role"])
        record_security_event(
            kind=Kind.MAIN_ROLE_TRANSFERRED,
            account=chosen,
            actor=former,
            request=request,
            detail={"from": former.username, "to": chosen.username}
            | ({"email_changes_revoked": revoked} if revoked else {}),
        )
        messages.main_role_transferred(former=former, successor=chosen)
    return chosen
