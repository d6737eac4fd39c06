"""Bulk actions on the holder's list (POST /manage/accounts/, seed 003: 停用 for people who
leave): one service call per account (account_care for disable, enable and resend;
stations.services for grant and revoke), so each account gets its own security event and
its own transaction; what was refused says why."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Account
from accounts.services.account_care import disable_account, enable_account, resend_verification
from schools.services.outcomes import Outcome
from stations.models import StationGrant
from stations.services import grant_station, revoke_station

ACTIONS = {
    "disable": gettext_lazy("停用"),
    "enable": gettext_lazy("重新啟用"),
    "resend": gettext_lazy("補寄驗證信"),
    "grant": gettext_lazy("授予編報站權限"),
    "revoke": gettext_lazy("移除編報站權限"),
}
STATION_ACTIONS = {"grant", "revoke"}


def _one(action, account, station, actor, request) -> str | None:
    """Carry out the action on one account: None when done, else why not."""
    if action == "disable":
        done = disable_account(account=account, actor=actor, request=request)
        return None if done else _("已經是停用狀態")
    if action == "enable":
        done = enable_account(account=account, actor=actor, request=request)
        return None if done else _("沒有停用，不需要重新啟用")
    if action == "resend":
        try:
            resend_verification(account=account, actor=actor, request=request)
        except ValidationError as error:
            return error.messages[0]
        return None
    if action == "grant":
        if account.state == Account.State.DISABLED:
            return _("帳號已停用")
        if StationGrant.objects.filter(account=account, station=station).exists():
            return _("已經有這個編報站的權限")
        grant_station(account=account, station=station, actor=actor, request=request)
        return None
    revoked = revoke_station(account=account, station=station, actor=actor, request=request)
    return None if revoked else _("沒有這個編報站的權限")


def act_on_accounts(
    *, holder: Account, accounts, missing, action: str, station=None, request=None
) -> Outcome:
    """Apply ``action`` to each of ``accounts`` (already loaded through schools/access.py);
    ``missing`` are the login names asked for that the holder does not manage."""
    if action not in ACTIONS:
        raise ValueError(action)
    outcome = Outcome()
    for name in missing:
        if name == holder.username:
            outcome.refuse(name, _("這是您自己的帳號，請到「個人資料」修改"))
        else:
            outcome.refuse(name, _("找不到這個帳號，或不是貴單位的子帳號"))
    for account in accounts:
        why = _one(action, account, station, holder, request)
        if why is None:
            outcome.done.append(account.username)
        else:
            outcome.refuse(account.username, why)
    return outcome
