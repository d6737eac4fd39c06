"""The holder decides the unit's sub-account requests (/manage/requests/): approve as it is or
edited, or reject with a reason."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.profile import Profile
from schools.access import get_unit_request, require_main_account
from schools.forms import RequestDecisionForm
from schools.services.sub_account_requests import (
    approve_sub_account_request,
    open_requests,
    reject_sub_account_request,
)
from stations.models import Station

DETAILS = ("local_part", "full_name", "office", "title", "phone", "email")


def _form(sub_request, data, unit, stations):
    """The request's form. A post that carries no details (only ``request``, ``action`` and
    ``reason``) decides on the request as it was sent."""
    initial = {name: getattr(sub_request, name) for name in DETAILS}
    initial["stations"] = list(sub_request.stations)
    if data is not None and not any(name in data for name in DETAILS):
        data = {**initial, "reason": data.get("reason", "")}
    return RequestDecisionForm(
        data,
        initial=initial,
        unit=unit,
        stations=stations,
        auto_id=f"request-{sub_request.pk}-%s",
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def manage_requests(request):
    require_main_account(request.user)
    unit = request.user.unit
    stations = list(Station.objects.usable_by(unit))
    posted_form = None
    if request.method == "POST":
        sub_request = get_unit_request(request.user, request.POST.get("request", ""))
        posted_form = _form(sub_request, request.POST, unit, stations)
        done = _decide(request, sub_request, posted_form)
        if done:
            messages.success(request, done)
            return redirect("schools:manage-requests")
        posted_form.request_id = sub_request.pk
    pending = [
        (sub_request, posted_form)
        if posted_form is not None and posted_form.request_id == sub_request.pk
        else (sub_request, _form(sub_request, None, unit, stations))
        for sub_request in open_requests(unit)
    ]
    return render(
        request, "schools/manage_requests.html", {"pending": pending, "prefix": f"{unit.code}_"}
    )


def _decide(request, sub_request, form) -> str | None:
    """Carry out the posted decision: the message to show, or None (errors on the page)."""
    action = request.POST.get("action")
    try:
        if action == "reject":
            reject_sub_account_request(
                sub_request=sub_request,
                reason=request.POST.get("reason", ""),
                actor=request.user,
                request=request,
            )
            return _("已退回 %(name)s 的申請，並寄信通知申請人。") % {"name": sub_request.full_name}
        if action != "approve":
            messages.error(request, _("請按「核准並建立帳號」或「退回」。"))
            return None
        if not form.is_valid():
            return None
        data = form.cleaned_data
        account = approve_sub_account_request(
            sub_request=sub_request,
            local_part=data["local_part"],
            profile=Profile(*(data[name] for name in DETAILS[1:])),
            stations=data["stations"],
            actor=request.user,
            request=request,
        )
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            form.is_valid()  # a rejection's form was not cleaned yet
            form.add_error(None, error)
        else:
            messages.error(request, error.messages[0])
        return None
    return _("已建立子帳號 %(username)s，設定密碼的驗證信已寄到 %(email)s。") % {
        "username": account.username,
        "email": account.email,
    }
