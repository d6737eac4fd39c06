"""The one place that decides who may load whose account (STYLE: access helpers)."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.models import Account, normalize_login_name


def require_main_account(user) -> None:
    """The holder's pages: only a unit's active main account; teachers get 403."""
    if not (user.is_authenticated and user.unit_id and user.role == Account.Role.MAIN):
        raise PermissionDenied(_("只有主帳號負責人可以使用這個頁面。"))


def managed_accounts(holder):
    """Every account of the holder's unit, the holder's own included."""
    require_main_account(holder)
    return Account.objects.filter(unit_id=holder.unit_id)


def get_managed_account(holder, username: str) -> Account:
    """An account of the holder's unit, or 404 (never 403: other units' names stay hidden)."""
    account = (
        managed_accounts(holder)
        .select_related("unit")
        .filter(username=normalize_login_name(username))
        .first()
    )
    if account is None:
        raise Http404
    return account
