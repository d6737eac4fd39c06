"""Announcement attachments (issue 18, seed 000: the manuals are attachments): PDF, ODT/ODS,
DOCX/XLSX, PNG/JPEG, the type read from the content and not the name, a size limit from
settings; kept under MEDIA_ROOT with generated names; listed under the announcement with
their size; served as downloads, a member announcement's only to signed-in accounts; and
/manuals/ (seed 001: 操作文件下載) lists the attachments of announcements marked as manuals."""

import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from accounts.models import Account
from announcements import services
from announcements.models import Announcement, Attachment
from tests.conftest import GOOD_PASSWORD, CommittingClient, sign_in

pytestmark = pytest.mark.django_db

ADMIN_ADD = "/admin/announcements/announcement/add/"

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def zipped(members: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


OFFICE = "[Content_Types].xml"
DOCX = zipped({OFFICE: "<Types/>", "word/document.xml": "<w:document/>"})
XLSX = zipped({OFFICE: "<Types/>", "xl/workbook.xml": "<workbook/>"})
DOCM = zipped({OFFICE: "<Types/>", "word/document.xml": "<w/>", "word/vbaProject.bin": "x"})
ODT = zipped({"mimetype": "application/vnd.oasis.opendocument.text", "content.xml": "<x/>"})
ODS = zipped({"mimetype": "application/vnd.oasis.opendocument.spreadsheet", "content.xml": "<x/>"})


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def root(db):
    return Account.objects.create_superuser(
        "root", email="root@portal.example.tw", password=GOOD_PASSWORD, full_name="系統管理者"
    )


@pytest.fixture
def root_in(root):
    client = CommittingClient()
    assert sign_in(client, "root", GOOD_PASSWORD).status_code == 302
    return client


def announce(title="實名制系統子帳號人員-編制手冊", audience="guest", **fields):
    return services.create_announcement(
        title=title, body="請參考附件手冊操作。", audience=audience, actor=None, **fields
    )


def attach(announcement, content, name):
    return services.add_attachment(
        announcement=announcement, upload=SimpleUploadedFile(name, content), actor=None
    )


def admin_post(client, files, **fields):
    data = {
        "title": "子帳號人員手冊",
        "body": "請下載附件。",
        "audience": "guest",
        "published": "on",
        "is_manual": "on",
        "attachments-TOTAL_FORMS": str(len(files)),
        "attachments-INITIAL_FORMS": "0",
        "attachments-MIN_NUM_FORMS": "0",
        "attachments-MAX_NUM_FORMS": "1000",
        **fields,
    }
    for index, (name, content) in enumerate(files):
        data[f"attachments-{index}-file"] = SimpleUploadedFile(name, content)
    return client.post(ADMIN_ADD, data)


# --- Adding files (the admin) ------------------------------------------------------------------


def test_an_author_attaches_files_in_the_admin_kept_under_generated_names(root_in, root, media):
    response = admin_post(root_in, [("子帳號手冊.pdf", PDF), ("流程圖.png", PNG)])
    assert response.status_code == 302
    note = Announcement.objects.get()
    assert note.is_manual
    pdf, png = note.attachments.order_by("id")
    assert (pdf.name, pdf.content_type, pdf.size) == ("子帳號手冊.pdf", "application/pdf", len(PDF))
    assert (png.name, png.content_type, png.uploaded_by) == ("流程圖.png", "image/png", root)
    stored = sorted(path.name for path in (Path(media) / "announcements").iterdir())
    assert len(stored) == 2 and all(len(Path(name).stem) == 32 for name in stored)
    assert not any("手冊" in name or "流程圖" in name for name in stored)


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("a.pdf", PDF, "application/pdf"),
        ("a.odt", ODT, "application/vnd.oasis.opendocument.text"),
        ("a.ods", ODS, "application/vnd.oasis.opendocument.spreadsheet"),
        ("a.docx", DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("a.xlsx", XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("a.png", PNG, "image/png"),
        ("a.jpeg", JPEG, "image/jpeg"),
    ],
)
def test_each_allowed_type_is_recognised_by_its_content(name, content, content_type):
    assert attach(announce(), content, name).content_type == content_type


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("manual.pdf", b"<html><script>alert(1)</script></html>"),
        ("setup.pdf", b"MZ\x90\x00\x03\x00\x00\x00"),
        ("macros.docx", DOCM),
        ("archive.zip", zipped({"a.txt": "x"})),
        ("notes.txt", "純文字".encode()),
    ],
    ids=["html-named-pdf", "program-named-pdf", "word-with-macros", "zip", "text"],
)
def test_a_file_of_another_type_is_refused_whatever_its_name(root_in, name, content, media):
    response = admin_post(root_in, [(name, content)])
    assert response.status_code == 200
    page = response.content.decode()
    assert "不是可以附加的檔案類型" in page and "依檔案內容判斷，不看副檔名" in page
    assert 'value="子帳號人員手冊"' in page  # what was typed stays
    assert not Announcement.objects.exists() and not Attachment.objects.exists()
    assert not (Path(media) / "announcements").exists()


def test_a_file_over_the_size_limit_is_refused(root_in, settings):
    settings.ATTACHMENT_MAX_MB = 1
    too_big = PDF + b"0" * (1024 * 1024)
    page = admin_post(root_in, [("big.pdf", too_big)]).content.decode()
    assert "檔案太大：附件最大 1 MB" in page
    assert not Attachment.objects.exists()


def test_a_pdf_named_as_a_picture_is_served_as_a_pdf(client):
    attachment = attach(announce(), PDF, "手冊.png")
    assert (attachment.name, attachment.content_type) == ("手冊.pdf", "application/pdf")


def test_removing_an_attachment_in_the_admin_removes_its_file(root_in, media):
    note = announce()
    attachment = attach(note, PDF, "a.pdf")
    stored = Path(media) / attachment.file.name
    assert stored.exists()
    response = root_in.post(
        f"/admin/announcements/announcement/{note.pk}/change/",
        {
            "title": note.title,
            "body": note.body,
            "audience": "guest",
            "published": "on",
            "author_label": note.author_label,
            "attachments-TOTAL_FORMS": "1",
            "attachments-INITIAL_FORMS": "1",
            "attachments-MIN_NUM_FORMS": "0",
            "attachments-MAX_NUM_FORMS": "1000",
            "attachments-0-id": str(attachment.pk),
            "attachments-0-announcement": str(note.pk),
            "attachments-0-DELETE": "on",
        },
    )
    assert response.status_code == 302
    assert not Attachment.objects.exists()
    assert not stored.exists()


# --- Reading and downloading -------------------------------------------------------------------


def test_files_are_listed_under_the_announcement_with_their_size(client):
    note = announce()
    attach(note, PDF + b"0" * 2048, "子帳號手冊.pdf")
    page = client.get(f"/announce/{note.pk}").content.decode()
    assert "附件" in page and "子帳號手冊.pdf" in page and "2 KB" in page
    assert f'href="/announce/{note.pk}/files/' in page


def test_a_file_is_served_as_a_download_with_its_name_and_type(client):
    note = announce()
    attachment = attach(note, PDF, "子帳號手冊.pdf")
    response = client.get(attachment.get_absolute_url())
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''%E5%AD%90" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PDF


def test_a_member_announcements_files_go_to_signed_in_accounts_only(client, teacher):
    attachment = attach(announce("會員手冊", audience="member"), PDF, "會員手冊.pdf")
    response = client.get(attachment.get_absolute_url())
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")
    sign_in(client, "010300_teacher01", GOOD_PASSWORD)
    assert client.get(attachment.get_absolute_url()).status_code == 200


def test_a_file_of_an_unpublished_announcement_or_under_another_is_not_found(client, teacher):
    draft = announce("草稿", published=False)
    hidden = attach(draft, PDF, "a.pdf")
    shown = attach(announce(), PDF, "b.pdf")
    sign_in(client, "010300_teacher01", GOOD_PASSWORD)
    assert client.get(hidden.get_absolute_url()).status_code == 404
    assert client.get(f"/announce/{draft.pk}/files/{shown.pk}").status_code == 404


# --- /manuals/ ----------------------------------------------------------------------------------


def test_the_manuals_page_lists_the_files_of_manual_announcements_the_visitor_may_read(
    client, teacher
):
    attach(announce("主帳號人員-編制手冊", is_manual=True), PDF, "主帳號手冊.pdf")
    attach(announce("子帳號人員手冊", audience="member", is_manual=True), DOCX, "子帳號.docx")
    attach(announce("一般公告"), PNG, "海報.png")
    page = client.get("/manuals/").content.decode()
    assert "操作文件下載" in page and "主帳號手冊.pdf" in page
    assert "子帳號.docx" not in page and "海報.png" not in page
    assert "/manuals/" in client.get("/").content.decode()  # linked from the home page
    sign_in(client, "010300_teacher01", GOOD_PASSWORD)
    page = client.get("/manuals/").content.decode()
    assert "主帳號手冊.pdf" in page and "子帳號.docx" in page and "海報.png" not in page


def test_the_manuals_page_costs_the_same_queries_for_few_or_many(client):
    attach(announce("手冊 0", is_manual=True), PDF, "0.pdf")
    client.get("/manuals/")
    with CaptureQueriesContext(connection) as few:
        client.get("/manuals/")
    for index in range(1, 6):
        note = announce(f"手冊 {index}", is_manual=True)
        attach(note, PDF, f"{index}.pdf")
        attach(note, PNG, f"{index}.png")
    with CaptureQueriesContext(connection) as many:
        page = client.get("/manuals/").content.decode()
    assert page.count("/files/") == 11
    assert len(many) == len(few)


def test_removing_through_the_service_deletes_the_file_after_the_commit(media):
    attachment = attach(announce(), PDF, "a.pdf")
    stored = Path(media) / attachment.file.name
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.remove_attachment(attachment=attachment, actor=None)
    assert not stored.exists()
