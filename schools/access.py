"""The one place that decides who may load whose account (STYLE: access helpers)."""

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.models import Account, normalize_login_name
from schools.models import AccountImport, SubAccountRequest


def require_main_account(user) -> None:
    """The holder's pages: only a unit's active main account; teachers get 403."""
    if not (user.is_authenticated and user.unit_id and user.role == Account.Role.MAIN):
        raise PermissionDenied(_("只有主帳號負責人可以使用這個頁面。"))


def _manageable() -> Q:
    """What a holder may manage: the unit's sub-accounts, never staff or superusers (whose
    address and state are ways into the admin)."""
    return Q(role=Account.Role.SUB, is_staff=False, is_superuser=False)


def managed_accounts(holder):
    """The sub-accounts of the holder's unit that the holder manages: not the holder's own
    account (edited at /me/), not staff, not superusers."""
    require_main_account(holder)
    return Account.objects.filter(_manageable(), unit_id=holder.unit_id)


def listed_accounts(holder):
    """The holder's list and export: the managed sub-accounts and the holder's own row."""
    require_main_account(holder)
    return Account.objects.filter(_manageable() | Q(pk=holder.pk), unit_id=holder.unit_id)


def get_managed_account(holder, username: str) -> Account:
    """A managed sub-account of the holder's unit, or 404 (never 403: other units' names, and
    which names are staff, stay hidden)."""
    account = (
        managed_accounts(holder)
        .select_related("unit")
        .filter(username=normalize_login_name(username))
        .first()
    )
    if account is None:
        raise Http404
    return account


def chosen_accounts(holder, usernames, base=None):
    """The named sub-accounts the holder manages, in the order named, and the names that are
    not among them (another unit's, the holder's own, or no account at all: one answer)."""
    wanted = [normalize_login_name(name) for name in usernames]
    accounts = base if base is not None else managed_accounts(holder)
    found = {
        account.username: account
        for account in accounts.select_related("unit").filter(username__in=wanted)
    }
    return [found[name] for name in wanted if name in found], [
        name for name in wanted if name not in found
    ]


def get_unit_request(holder, request_id):
    """A sub-account request made to the holder's unit, or 404."""
    require_main_account(holder)
    found = (
        SubAccountRequest.objects.select_related("unit")
        .filter(unit_id=holder.unit_id, pk=_number(request_id))
        .first()
    )
    if found is None:
        raise Http404
    return found


def get_unit_import(holder, import_id):
    """A CSV import of the holder's unit (made by this holder or a predecessor), or 404."""
    require_main_account(holder)
    found = AccountImport.objects.filter(unit_id=holder.unit_id, pk=_number(import_id)).first()
    if found is None:
        raise Http404
    return found


def _number(value) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise Http404 from None
