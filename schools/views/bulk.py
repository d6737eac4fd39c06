"""Bulk actions on the holder's list (POST /manage/accounts/): the checked accounts, or every
account the list's filter finds, disabled, enabled, sent their verification mail again, or
granted or refused a station, one service call each; the summary says what was done and
what was refused and why."""

from django.contrib import messages
from django.db.models import Q
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Account
from schools.access import chosen_accounts, managed_accounts, require_main_account
from schools.forms import BulkActionForm
from schools.services.bulk_actions import act_on_accounts
from schools.views.summary import tell_outcome

# Accounts one post may act on: each is a service call of its own in this request.
BULK_LIMIT = 500

DONE = {
    "disable": gettext_lazy("已停用 %(count)d 個帳號：%(names)s"),
    "enable": gettext_lazy("已重新啟用 %(count)d 個帳號：%(names)s"),
    "resend": gettext_lazy("已補寄驗證信給 %(count)d 個帳號：%(names)s"),
    "grant": gettext_lazy("已授予 %(count)d 個帳號「%(station)s」的權限：%(names)s"),
    "revoke": gettext_lazy("已移除 %(count)d 個帳號「%(station)s」的權限：%(names)s"),
}


def filtered_accounts(accounts, params):
    """``accounts`` in name order, filtered as the list's q, state and station say."""
    accounts = accounts.order_by("username")
    query = (params.get("q") or "").strip()
    if query:
        accounts = accounts.filter(
            # Login names are lower case (a database constraint), so they need no UPPER() on
            # every row; names and addresses keep their case and are matched without it.
            Q(username__contains=query.lower())
            | Q(full_name__icontains=query)
            | Q(email__icontains=query)
        )
    if params.get("state") in Account.State.values:
        accounts = accounts.filter(state=params["state"])
    if params.get("station"):
        accounts = accounts.filter(station_grants__station__slug=params["station"])
    return accounts


def bulk_action(request, *, render_list):
    holder = request.user
    require_main_account(holder)
    form = BulkActionForm(request.POST, unit=holder.unit)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, errors[0])
        return render_list(request, bulk_form=form)
    data = form.cleaned_data
    if data["scope"] == "filter":
        found = filtered_accounts(managed_accounts(holder), request.GET).select_related("unit")
        accounts, missing = list(found[: BULK_LIMIT + 1]), []
    else:
        accounts, missing = chosen_accounts(holder, data["accounts"])
    if len(accounts) > BULK_LIMIT:
        messages.error(
            request,
            _("一次最多處理 %(limit)d 個帳號，請用篩選條件縮小範圍後再做。")
            % {"limit": BULK_LIMIT},
        )
        return render_list(request, bulk_form=form)
    station = data.get("station")
    outcome = act_on_accounts(
        holder=holder,
        accounts=accounts,
        missing=missing,
        action=data["action"],
        station=station,
        request=request,
    )
    tell_outcome(request, outcome, DONE[data["action"]], station=station.name if station else "")
    if not outcome.done and not outcome.refused:
        messages.info(request, _("沒有符合篩選條件的帳號。"))
    target = reverse("schools:manage-list")
    return redirect(f"{target}?{request.GET.urlencode()}" if request.GET else target)
