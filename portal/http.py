"""Small pieces every app's views use."""

from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode


def posted(request):
    """The submitted data, or None on GET: an empty POST is still a submission (errors)."""
    return request.POST if request.method == "POST" else None


def next_url(request) -> str:
    """Where the person was going (``next``), when it is a page of this site; else ""."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(candidate, {request.get_host()}, request.is_secure()):
        return candidate
    return ""


def redirect_keeping_next(request, url_name):
    """Redirect to a step of a flow, carrying where the person was going."""
    target = reverse(url_name)
    if next_url(request):
        target += "?" + urlencode({"next": next_url(request)})
    return redirect(target)


def render_form(request, template, form, **context):
    return render(request, template, {"form": form, **context})
