"""What a file attached to an announcement really is, read from its content and never from
its name (issue 18): PDF, OpenDocument text and spreadsheet (ODT/ODS), Word and Excel
(DOCX/XLSX, without macros), PNG and JPEG. Anything else is refused, however it is named."""

import zipfile
from dataclasses import dataclass
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


@dataclass(frozen=True)
class FileType:
    extension: str
    content_type: str
    label: str


PDF = FileType(".pdf", "application/pdf", "PDF")
PNG = FileType(".png", "image/png", "PNG")
JPEG = FileType(".jpg", "image/jpeg", "JPEG")
ODT = FileType(".odt", "application/vnd.oasis.opendocument.text", "ODT")
ODS = FileType(".ods", "application/vnd.oasis.opendocument.spreadsheet", "ODS")
DOCX = FileType(
    ".docx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "DOCX",
)
XLSX = FileType(
    ".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "XLSX"
)
# The extensions a name may carry for each type (the served name gets the type's own
# extension when it has none of these).
EXTENSIONS = {PDF: {".pdf"}, PNG: {".png"}, JPEG: {".jpg", ".jpeg"}, ODT: {".odt"}}
EXTENSIONS |= {ODS: {".ods"}, DOCX: {".docx"}, XLSX: {".xlsx"}}
OPEN_DOCUMENT = {ODT.content_type: ODT, ODS.content_type: ODS}


def max_bytes() -> int:
    return settings.ATTACHMENT_MAX_MB * 1024 * 1024


def _zip_type(upload) -> FileType | None:
    """ODT/ODS by their ``mimetype`` member; DOCX/XLSX by their main part. Only the list of
    members and the small mimetype member are read: nothing is unpacked."""
    upload.seek(0)
    try:
        archive = zipfile.ZipFile(upload)
        names = set(archive.namelist())
        if "mimetype" in names and archive.getinfo("mimetype").file_size < 100:
            return OPEN_DOCUMENT.get(archive.read("mimetype").decode("ascii", "replace").strip())
        if "[Content_Types].xml" not in names or any("vbaProject" in name for name in names):
            return None  # not Office, or Office with macros
        if "word/document.xml" in names:
            return DOCX
        if "xl/workbook.xml" in names:
            return XLSX
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError):
        return None
    return None


def detect(upload) -> FileType | None:
    upload.seek(0)
    head = upload.read(8)
    if head.startswith(b"%PDF-"):
        return PDF
    if head == b"\x89PNG\r\n\x1a\n":
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"PK\x03\x04"):
        return _zip_type(upload)
    return None


def check_upload(upload) -> FileType:
    """The upload's type; ValidationError when it is too big or of a type not allowed."""
    if upload.size > max_bytes():
        raise ValidationError(
            _("檔案太大：附件最大 %(limit)d MB（這個檔案 %(size)s）。")
            % {"limit": settings.ATTACHMENT_MAX_MB, "size": human_size(upload.size)},
            code="too_large",
        )
    found = detect(upload)
    upload.seek(0)
    if found is None:
        raise ValidationError(
            _(
                "「%(name)s」不是可以附加的檔案類型。只接受 PDF、ODT、ODS、DOCX、XLSX、PNG、"
                "JPEG（依檔案內容判斷，不看副檔名；含巨集的 Office 檔案也不接受）。"
            )
            % {"name": PurePath(upload.name or "").name},
            code="type",
        )
    return found


def served_name(name: str, found: FileType) -> str:
    """The name the download carries: the uploaded one, with the type's extension when its
    own does not belong to the type (a PDF named .png is served as .pdf)."""
    path = PurePath(PurePath(name or "").name or "file")
    if path.suffix.lower() in EXTENSIONS[found]:
        return path.name[:200]
    return f"{path.stem[: 200 - len(found.extension)]}{found.extension}"


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
