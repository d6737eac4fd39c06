"""The guest pages of SPEC section 7 that belong to units: who holds a school's main account,
applying for one, asking a holder for a sub-account, and the Q&A."""

from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.profile import Profile
from accounts.throttles import address_throttled, key_throttled, render_throttled
from portal.http import posted
from schools.forms import (
    HAS_MAIN_ACCOUNT,
    HolderLookupForm,
    MainAccountApplicationForm,
    SubAccountRequestForm,
)
from schools.services.applications import submit_application
from schools.services.sub_account_requests import request_sub_account
from schools.services.units import find_main_account_holder

# Rate-limit scopes of accounts/throttles.py LIMITS (the numbers are there). Only well-formed
# submissions count: a school behind one address does not use them up with typos.
HOLDER_LOOKUP_SCOPE = "holder-lookup"
APPLY_SCOPE = "main-account-apply"
SUB_ACCOUNT_SCOPE = "sub-account-apply"
SUB_ACCOUNT_SENT = "sub_account_request_sent"


@never_cache
@require_http_methods(["GET", "POST"])
def holder_lookup(request):
    """查詢學校主帳號負責人: the holder's official contact data is the page's purpose."""
    form = HolderLookupForm(posted(request))
    context = {"searched": False, "found": None}
    if request.method == "POST" and form.is_valid():  # counted only when well-formed
        if address_throttled(request, HOLDER_LOOKUP_SCOPE):
            return render_throttled(request)
        code = form.cleaned_data["code"]
        context.update(searched=True, code=code, found=find_main_account_holder(unit_code=code))
        form = HolderLookupForm(initial={"code": code})  # a fresh captcha for the next one
    return render(request, "schools/holder_lookup.html", {"form": form, **context})


# The confirmation of an application just sent, kept for the page after the redirect.
APPLICATION_SENT = "application_sent"


@never_cache
@require_http_methods(["GET", "POST"])
def apply(request):
    """申請主帳號: stored for helpdesk, who approves or rejects it in the admin. After it is
    sent, a page that says so, without the form (post/redirect/get)."""
    if request.method == "GET" and APPLICATION_SENT in request.session:
        return render(request, "schools/apply_sent.html", request.session.pop(APPLICATION_SENT))
    form = MainAccountApplicationForm(posted(request))
    if request.method == "POST" and form.is_valid():  # counted only when well-formed
        data = form.cleaned_data
        if address_throttled(request, APPLY_SCOPE) or key_throttled(
            request, APPLY_SCOPE, data["email"]
        ):
            return render_throttled(request)
        try:
            application = submit_application(
                unit=form.unit,
                unit_name=data["unit_name"],
                local_part=data["local_part"],
                profile=Profile(
                    full_name=data["full_name"],
                    office=data["office"],
                    title=data["title"],
                    phone=data["phone"],
                    email=data["email"],
                ),
                request=request,
            )
        except ValidationError as error:  # the unit's application came in a moment ago
            form.add_error(None, error)
        else:
            request.session[APPLICATION_SENT] = sent_summary(application)
            return redirect("schools:apply")
    has_main_account = form.is_bound and form.has_error("code", HAS_MAIN_ACCOUNT)
    return render(
        request, "schools/apply.html", {"form": form, "has_main_account": has_main_account}
    )


@never_cache
@require_http_methods(["GET", "POST"])
def apply_sub_account(request):
    """申請子帳號: the same answer whether or not the unit exists or has a holder (the task
    decides, after the request: schools/services/sub_account_requests.py)."""
    if request.method == "GET" and request.session.pop(SUB_ACCOUNT_SENT, None):
        return render(request, "schools/apply_sub_account_sent.html")
    form = SubAccountRequestForm(posted(request))
    if request.method == "POST" and form.is_valid():  # counted only when well-formed
        data = form.cleaned_data
        if address_throttled(request, SUB_ACCOUNT_SCOPE) or key_throttled(
            request, SUB_ACCOUNT_SCOPE, data["email"]
        ):
            return render_throttled(request)
        request_sub_account(
            code=data["code"],
            local_part=data["local_part"],
            profile=Profile(
                full_name=data["full_name"],
                office=data["office"],
                title=data["title"],
                phone=data["phone"],
                email=data["email"],
            ),
            stations=[station.slug for station in data["stations"]],
            request=request,
        )
        request.session[SUB_ACCOUNT_SENT] = True
        return redirect("schools:apply-sub-account")
    return render(request, "schools/apply_sub_account.html", {"form": form})


def sent_summary(application) -> dict:
    return {
        "email": application.email,
        "unit": f"{application.unit.code} {application.unit.name}",
        "username": application.username,
        "full_name": application.full_name,
        "sent_on": timezone.localtime(application.created_at).strftime("%Y-%m-%d %H:%M"),
    }


@require_GET
def qa(request):
    return render(request, "schools/qa.html")
