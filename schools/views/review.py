"""The yearly account review, the holder's page (/manage/review/): confirm (仍在職) or disable
each sub-account, one by one or several at once."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from portal.http import posted
from schools.access import require_main_account
from schools.forms import ReviewActionForm
from schools.services.account_review import (
    confirm_accounts,
    current_unit_review,
    disable_in_review,
    progress,
    review_rows,
)
from schools.views.summary import tell_outcome

DONE = {
    "confirm": gettext_lazy("已確認 %(count)d 位仍在職：%(names)s"),
    "disable": gettext_lazy("已停用 %(count)d 個帳號：%(names)s"),
}


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def manage_review(request):
    require_main_account(request.user)
    unit_review = current_unit_review(request.user.unit)
    form = ReviewActionForm(posted(request))
    if unit_review is None:
        if request.method == "POST":
            messages.error(request, _("目前沒有進行中的帳號年度審核。"))
        return render(request, "schools/manage_review.html", {"unit_review": None})
    if request.method == "POST" and form.is_valid():
        act = confirm_accounts if form.cleaned_data["action"] == "confirm" else disable_in_review
        outcome = act(
            unit_review=unit_review,
            usernames=form.cleaned_data["accounts"],
            actor=request.user,
            request=request,
        )
        tell_outcome(request, outcome, DONE[form.cleaned_data["action"]])
        return redirect("schools:manage-review")
    if form.errors:
        for errors in form.errors.values():
            messages.error(request, errors[0])
    context = {
        "unit_review": unit_review,
        "progress": progress(unit_review),
        "rows": review_rows(unit_review),
        "checked": set(request.POST.getlist("accounts")),
    }
    return render(request, "schools/manage_review.html", context)
