from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from announcements.models import LISTING_ORDER, Announcement, Attachment

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
    context = {
        "announcement": announcement,
        "link": link,
        "attachments": announcement.attachments.all(),
    }
    return render(request, "announcements/detail.html", context)


def _visible_attachment(request, announcement_id, attachment_id):
    """The attachment when its announcement is one the visitor may read; a guest asking for
    a member announcement's file is sent to sign in first (None)."""
    attachment = (
        Attachment.objects.select_related("announcement")
        .filter(pk=attachment_id, announcement_id=announcement_id, announcement__published=True)
        .first()
    )
    if attachment is None:
        raise Http404
    visible = Announcement.objects.visible_to(request.user).filter(pk=announcement_id)
    if not visible.exists():
        if not request.user.is_authenticated:
            return None
        raise Http404
    return attachment


@require_GET
@cache_control(private=True)
def attachment_download(request, announcement_id, attachment_id):
    """The file, always as a download (never shown inline under the portal's origin), with
    the type read from its content when it was added."""
    attachment = _visible_attachment(request, announcement_id, attachment_id)
    if attachment is None:
        return redirect_to_login(request.get_full_path())
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    return FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.name,
        content_type=attachment.content_type,
    )


def _through_announcement(field: str) -> str:
    descending = field.startswith("-")
    return ("-" if descending else "") + "announcement__" + field.lstrip("-")


@require_GET
def manuals(request):
    """操作文件下載 (seed 001): the attachments of the announcements marked as manuals that
    the visitor may read, announcement by announcement in board order."""
    announcements = Announcement.objects.visible_to(request.user).filter(is_manual=True)
    files = (
        Attachment.objects.filter(announcement__in=announcements)
        .select_related("announcement")
        .order_by(*(_through_announcement(field) for field in LISTING_ORDER), "uploaded_at", "id")
    )
    return render(request, "announcements/manuals.html", {"files": files})
