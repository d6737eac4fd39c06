from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from announcements.models import Announcement

PER_PAGE_CHOICES = (10, 25, 50)


def _per_page(value) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return PER_PAGE_CHOICES[0]
    return number if number in PER_PAGE_CHOICES else PER_PAGE_CHOICES[0]


def _page_number(value, last: int) -> int:
    """Anything that is not a page number opens the first page; past the end, the last."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 1
    return min(max(number, 1), last)


@require_GET
def announcement_list(request):
    per_page = _per_page(request.GET.get("per_page"))
    paginator = Paginator(Announcement.objects.visible_to(request.user).listed(), per_page)
    page = paginator.page(_page_number(request.GET.get("page"), paginator.num_pages))
    return render(
        request,
        "announcements/list.html",
        {"page": page, "per_page": per_page, "per_page_choices": PER_PAGE_CHOICES},
    )


@require_GET
def announcement_detail(request, announcement_id):
    visible = Announcement.objects.visible_to(request.user).select_related("station", "author")
    announcement = visible.filter(pk=announcement_id).first()
    if announcement is None:
        published = Announcement.objects.filter(pk=announcement_id, published=True)
        if not request.user.is_authenticated and published.exists():
            return redirect_to_login(request.get_full_path())  # a member announcement
        raise Http404
    link = request.build_absolute_uri(announcement.get_absolute_url())
    return render(
        request, "announcements/detail.html", {"announcement": announcement, "link": link}
    )
