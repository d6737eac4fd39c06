"""allauth's URLs and a home page to land on after signing in."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import include, path


@login_required
def home(request):
    return HttpResponse(f"signed in as {request.user.username}", content_type="text/plain")


urlpatterns = [path("accounts/", include("allauth.urls")), path("", home)]
