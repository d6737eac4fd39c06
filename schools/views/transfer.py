"""Handing the main role to a successor (/manage/transfer/)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from portal.http import posted
from schools.access import require_main_account
from schools.forms import TransferForm
from schools.services.transfer import transfer_main_role


@sensitive_post_parameters("password")
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def manage_transfer(request):
    require_main_account(request.user)
    form = TransferForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            successor = transfer_main_role(
                holder=request.user,
                successor_username=form.cleaned_data["successor"],
                password=form.cleaned_data["password"],
                request=request,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("主帳號已轉移給 %(name)s（%(username)s）；您的帳號已改為子帳號。")
                % {"name": successor.full_name, "username": successor.username},
            )
            return redirect("home")
    return render(request, "schools/manage_transfer.html", {"form": form})
