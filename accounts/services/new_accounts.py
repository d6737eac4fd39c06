"""Creating accounts: a pending account (no password yet) with its security event and its
account-created mail holding a set-password link; a unit's main account (operators,
helpdesk's approval of an application). Sub-accounts are the holder's work:
schools/services/sub_accounts.py."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import Account, ReleasedLocalPart, SecurityEvent, local_part_validator
from accounts.normalize import without_unit_prefix
from accounts.profile import Profile, normalize_profile, validate_profile
from accounts.security_log import record_security_event
from accounts.services.set_password import issue_set_password_link
from mail import messages
from schools.models import Unit

Kind = SecurityEvent.Kind


def validate_new_local_part(
    *, unit: Unit, local_part: str, person: Profile | None = None
) -> tuple[str, list[str]]:
    """The normalized local part and what is wrong with it (SPEC section 2): letters,
    digits, "." and "-", 2 to 30 characters, not used before in the unit by anyone (a
    disabled account keeps its name: a successor gets a new one). A name freed by an
    account reset may be taken again only by the same person (``person``: name, e-mail).
    Typed with the unit's own prefix (``010300_test03``), it is understood as the part after
    it; another prefix is explained."""
    local_part = without_unit_prefix(local_part, unit.code)
    if typed_with_a_unit_code(local_part):
        return local_part, [
            _(
                "子帳號只要填「_」後面的部分，例如 %(example)s；系統會自動加上貴單位的 "
                "%(prefix)s（不必輸入校代碼）。"
            )
            % {"example": local_part.partition("_")[2], "prefix": f"{unit.code}_"}
        ]
    try:
        local_part_validator(local_part)
    except ValidationError as error:
        return local_part, error.messages
    released = (
        ReleasedLocalPart.objects.filter(unit=unit, local_part=local_part)
        .order_by("-released_at")
        .first()
    )
    if released is not None and (
        person is None or not released.belongs_to(full_name=person.full_name, email=person.email)
    ):
        return local_part, [_("這個帳號以前屬於另一位人員，不可再給別人使用；請換一個。")]
    if Account.objects.filter(username=f"{unit.code}_{local_part}".lower()).exists():
        return local_part, [
            _("帳號 %(username)s 已有人使用（含已停用的帳號），請換一個。")
            % {"username": f"{unit.code}_{local_part}".lower()}
        ]
    return local_part, []


def typed_with_a_unit_code(local_part: str) -> bool:
    """``010301_test03``: a unit's code, an underscore and a name (units are public)."""
    code, underscore, rest = local_part.partition("_")
    return bool(underscore and rest) and Unit.objects.filter(code__iexact=code).exists()


def create_pending_account(
    *, unit: Unit, local_part: str, role: str, profile: Profile, actor, request, origin=None
):
    """A pending account (no password yet), its event and its account-created mail
    (``origin``: where the request came from, for work done in a task)."""
    profile = normalize_profile(profile)
    account = Account(
        username=f"{unit.code}_{local_part}",
        unit=unit,
        local_part=local_part,
        role=role,
        state=Account.State.PENDING,
        full_name=profile.full_name,
        office=profile.office,
        title=profile.title,
        phone=profile.phone,
        email=profile.email,
    )
    account.set_unusable_password()
    account.save()
    record_security_event(
        kind=Kind.ACCOUNT_CREATED,
        account=account,
        actor=actor,
        request=request,
        detail={"role": role},
        origin=origin,
    )
    messages.account_created(
        account=account, link=issue_set_password_link(account=account, first=True)
    )
    return account


def create_main_account(*, unit: Unit, local_part: str, profile: Profile, actor=None, request=None):
    """Create the unit's main account (pending) and send its account-created mail.

    Raises ValidationError (with a field → messages dict) when a value breaks the rules or
    the unit already has a main account.
    """
    profile = normalize_profile(profile)
    errors = validate_profile(profile)
    local_part, problems = validate_new_local_part(unit=unit, local_part=local_part, person=profile)
    if problems:
        errors["local_part"] = problems
    if Account.objects.filter(unit=unit, role=Account.Role.MAIN).exists():
        errors.setdefault("unit", []).append(
            _("單位 %(code)s 已有主帳號，請改用主帳號轉移。") % {"code": unit.code}
        )
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            account = create_pending_account(
                unit=unit,
                local_part=local_part,
                role=Account.Role.MAIN,
                profile=profile,
                actor=actor,
                request=request,
            )
    except IntegrityError as error:
        # Two operators creating the same unit's main account at once: the constraint wins.
        raise ValidationError(
            {"unit": [_("單位 %(code)s 已有主帳號。") % {"code": unit.code}]}
        ) from error
    return account
