"""Handing the main role to a successor (/manage/transfer/): choose the successor from the
unit's active sub-accounts, then a page that names both people asks for the password."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from schools.access import require_main_account
from schools.forms import TransferChoiceForm, TransferForm
from schools.services.transfer import transfer_main_role


@sensitive_post_parameters("password")
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def manage_transfer(request):
    require_main_account(request.user)
    holder = request.user
    if request.method == "POST" and "password" in request.POST:  # step 2: confirmed
        form = TransferForm(request.POST, holder=holder)
        if form.is_valid():
            try:
                successor = transfer_main_role(
                    holder=holder,
                    successor_username=form.cleaned_data["successor"].username,
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
    else:  # step 1: who takes over
        form = TransferChoiceForm(request.POST or None, holder=holder)
        if form.is_bound and form.is_valid():
            form = TransferForm(
                initial={"successor": form.cleaned_data["successor"]}, holder=holder
            )
    return _transfer_page(request, form)


def _transfer_page(request, form):
    """The confirmation once a successor is chosen (and the password is what is asked),
    else the list."""
    successor = (
        form.cleaned_data.get("successor") if form.is_bound else form.initial.get("successor")
    )
    context = {"form": form, "candidates": form.fields["successor"].queryset}
    if isinstance(form, TransferForm) and successor is not None:
        return render(
            request, "schools/manage_transfer_confirm.html", context | {"successor": successor}
        )
    return render(request, "schools/manage_transfer.html", context)
