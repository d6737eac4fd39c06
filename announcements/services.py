"""Writing announcements. Not a security event: nothing goes to the security log."""

from django.db import transaction
from django.utils import timezone

from announcements.models import Announcement

# Changing any of these on a published announcement marks it "(已編輯)". Pinning,
# unpinning or withdrawing it is not an edit of what it says.
EDITED_FIELDS = frozenset({"title", "body", "audience", "station", "author_label"})


def create_announcement(
    *,
    title,
    body,
    audience,
    actor,
    station=None,
    author_label="",
    published=True,
    pinned=False,
) -> Announcement:
    """A new announcement written by ``actor`` (None: the system)."""
    author = actor if actor is not None and actor.is_authenticated else None
    with transaction.atomic():
        announcement = Announcement(
            title=title,
            body=body,
            audience=audience,
            station=station,
            author=author,
            author_label=author_label,
            published=published,
            pinned=pinned,
        )
        announcement.save()
    return announcement


def edit_announcement(*, announcement, changes: dict, actor) -> Announcement:
    """Apply ``changes`` (field name → value). Editing what a published announcement says
    stamps ``edited_at``; a draft may be reworked freely before it is published."""
    with transaction.atomic():
        was_published = Announcement.objects.filter(pk=announcement.pk, published=True).exists()
        for name, value in changes.items():
            setattr(announcement, name, value)
        fields = set(changes)
        if was_published and fields & EDITED_FIELDS:
            announcement.edited_at = timezone.now()
            fields.add("edited_at")
        if fields:
            announcement.save(update_fields=fields)
    return announcement


def delete_announcement(*, announcement, actor) -> None:
    """Take an announcement away for good (the admin's delete; withdrawing is unpublishing)."""
    with transaction.atomic():
        Announcement.objects.filter(pk=announcement.pk).delete()
