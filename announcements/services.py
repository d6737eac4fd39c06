"""Writing announcements and their attachments. Not a security event: nothing goes to the
security log."""

from django.db import transaction
from django.utils import timezone

from announcements.attachments import check_upload, served_name
from announcements.models import Announcement, Attachment

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
    is_manual=False,
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
            is_manual=is_manual,
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


def add_attachment(*, announcement, upload, actor) -> Attachment:
    """Attach a file: its type is read from its content (attachments.check_upload) and it is
    kept under MEDIA_ROOT with a generated name; its name and size are kept for the page.
    The file is written first; if its row cannot be written, the file is removed again (an
    outer transaction rolled back later leaves at most an unlisted file, never a listed
    attachment without its file)."""
    found = check_upload(upload)
    attachment = Attachment(
        announcement=announcement,
        name=served_name(upload.name, found),
        content_type=found.content_type,
        size=upload.size,
        uploaded_by=actor if actor is not None and actor.is_authenticated else None,
    )
    attachment.file.save(f"upload{found.extension}", upload, save=False)
    try:
        with transaction.atomic():
            attachment.save()
    except Exception:
        attachment.file.storage.delete(attachment.file.name)
        raise
    return attachment


def remove_attachment(*, attachment, actor) -> None:
    """Take a file off its announcement; the file leaves the disk once the row is gone."""
    name, storage = attachment.file.name, attachment.file.storage
    with transaction.atomic():
        attachment.delete()
        transaction.on_commit(lambda: storage.delete(name))


def delete_announcement(*, announcement, actor) -> None:
    """Take an announcement away for good (the admin's delete; withdrawing is unpublishing)."""
    files = [(a.file.name, a.file.storage) for a in announcement.attachments.all()]
    with transaction.atomic():
        Announcement.objects.filter(pk=announcement.pk).delete()
        for name, storage in files:  # its attachments' files go with their rows
            transaction.on_commit(lambda name=name, storage=storage: storage.delete(name))
