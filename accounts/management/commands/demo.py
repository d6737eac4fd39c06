"""Demo data for a first run: two units, a pending main account with a set-password link,
active accounts with known passwords, and a helpdesk member. Safe to run again."""

import re
from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from accounts.profile import Profile
from accounts.services.new_accounts import create_main_account
from accounts.services.set_password import issue_set_password_link
from mail import messages
from schools.models import Unit
from stations.demo_station import ensure_demo_station
from stations.models import Station
from stations.services import grant_station

DEMO_PASSWORD = "Demo-Portal-2026!tw"
OUTDATED_PASSWORD = "teacher123"
UNITS = [
    ("010300", "國立示範高級中學", Unit.Side.SCHOOL),
    ("010301", "市立和平高級中學", Unit.Side.SCHOOL),
    ("010302", "縣立山海高級中學", Unit.Side.SCHOOL),
    ("MOE001", "教育部國民及學前教育署", Unit.Side.ADMIN),
]


class Command(BaseCommand):
    help = "Load the demo data set (idempotent) and print how to sign in."

    def handle(self, *args, **options):
        with transaction.atomic():
            units = {}
            for code, name, side in UNITS:
                units[code], _ = Unit.objects.update_or_create(
                    code=code, defaults={"name": name, "side": side}
                )
            main = self._pending_main(units["010300"])
            active = [
                self._active(
                    units["010301"], "principal", "陳美玲", Account.Role.MAIN, "秘書室", "秘書"
                ),
                self._active(
                    units["010301"], "teacher01", "林志明", Account.Role.SUB, "教務處", "註冊組長"
                ),
                self._active(
                    units["MOE001"], "reviewer", "張雅婷", Account.Role.SUB, "高中職組", "審查委員"
                ),
            ]
            helpdesk = self._helpdesk()
            self._administrator()
            outdated = self._outdated(units["010301"])
            self._stations(active, outdated)
            self._application(units["010302"])
            self._announcements()
            self._holders_year(units["010301"])
        self._print(main, active, helpdesk, outdated)

    def _pending_main(self, unit):
        main = Account.objects.filter(unit=unit, role=Account.Role.MAIN).first()
        if main is None:
            return create_main_account(
                unit=unit,
                local_part="admin01",
                profile=Profile(
                    "王小明", "教務處", "教務主任", "049-2910960#3765", "wang.admin01@demo.edu.tw"
                ),
            )
        if main.state == Account.State.PENDING:
            # Links are stored hashed, so the old one cannot be shown again: send a fresh one.
            messages.account_created(account=main, link=issue_set_password_link(account=main))
        return main

    def _active(self, unit, local, name, role, office, title):
        account, created = Account.objects.get_or_create(
            username=f"{unit.code}_{local}".lower(),
            defaults={
                "unit": unit,
                "local_part": local,
                "role": role,
                "full_name": name,
                "office": office,
                "title": title,
                "phone": "049-2910960#3971",
                "email": f"{local}@demo.edu.tw",
                "state": Account.State.ACTIVE,
            },
        )
        if created:
            account.set_password(DEMO_PASSWORD)
            # A year in use, so the yearly review (_holders_year) covers it.
            account.date_joined = timezone.now() - timedelta(days=365)
            account.save()
        return account

    def _outdated(self, unit):
        """A teacher whose password predates the policy: sign-in asks for a new one first."""
        account = self._active(unit, "teacher02", "黃淑芬", Account.Role.SUB, "學務處", "生教組長")
        if not account.check_password(OUTDATED_PASSWORD):
            account.set_password(OUTDATED_PASSWORD)
            account.save()
        return account

    def _stations(self, active, outdated):
        """The demo station (single sign-on you can try) and one more tile."""
        if not settings.DEMO_STATION_ENABLED:
            return
        demo = ensure_demo_station(settings.PORTAL_BASE_URL)
        statistics, _ = Station.objects.get_or_create(
            slug="statistics",
            defaults={
                "name": "公務統計報表",
                "icon": "統",
                "entry_url": "https://example.edu.tw/statistics/",
            },
        )
        principal, teacher, _reviewer = active
        for account in (principal, teacher, outdated):
            grant_station(account=account, station=demo, actor=None)
        grant_station(account=principal, station=statistics, actor=None)

    def _application(self, unit):
        """A school without a main account that has applied: helpdesk approves it in /admin/."""
        from schools.models import MainAccountApplication

        if not MainAccountApplication.objects.filter(unit=unit).exists():
            MainAccountApplication.objects.create(
                unit=unit,
                unit_name=unit.name,
                local_part="secretary",
                full_name="吳佩珊",
                title="秘書",
                office="秘書室",
                phone="03-9876543#101",
                email="wu@shanhai.edu.tw",
            )

    def _announcements(self):
        """The seed's board: guest announcements, one pinned, one for members only."""
        from datetime import datetime, timedelta
        from zoneinfo import ZoneInfo

        from announcements.models import Announcement
        from announcements.services import create_announcement

        taipei = ZoneInfo("Asia/Taipei")
        board = [
            (
                "測試公告ABC",
                "我是內文123",
                "guest",
                datetime(2020, 12, 18, 0, 1),
                "系統管理員",
                False,
            ),
            (
                "資本門計畫線上填報說明",
                "請各校於期限內完成資本門計畫線上填報。",
                "guest",
                datetime(2021, 3, 1, 9, 0),
                "資本門系統管理人員(北門高中)",
                False,
            ),
            (
                "群科申報測試站系統上線公告",
                "群科申報測試站已上線，歡迎試用。",
                "guest",
                datetime(2021, 2, 24, 10, 0),
                "系統管理員",
                False,
            ),
            (
                "重要事項公告&實名制系統主帳號人員-編制手冊V1.0版",
                "配合國教署政策，高級中等學校資料填報整合平臺建立實名制管理編報系統。\n"
                "查詢是否已建立主帳號連結查詢：http://127.0.0.1:8000/infosearch/\n"
                "查詢結果為「查無該所學校負責人資料」請致電客服確認。",
                "guest",
                datetime(2021, 2, 24, 9, 0),
                "系統管理員",
                True,
            ),
            (
                "實名制系統子帳號人員-編制手冊",
                "子帳號人員請參考附件手冊操作。",
                "member",
                datetime(2021, 2, 24, 8, 0),
                "系統管理員",
                False,
            ),
        ]
        for title, body, audience, created, label, pinned in board:
            if Announcement.objects.filter(title=title).exists():
                continue
            announcement = create_announcement(
                title=title,
                body=body,
                audience=audience,
                author_label=label,
                pinned=pinned,
                actor=None,
            )
            created = created.replace(tzinfo=taipei)
            Announcement.objects.filter(pk=announcement.pk).update(
                created_at=created, edited_at=created + timedelta(minutes=5)
            )

    def _holders_year(self, unit):
        """Issue 18: a teacher's sub-account request waiting for 010301's holder, the school
        side's yearly review in progress, and the manuals on the board as PDF attachments."""
        from announcements.models import Announcement
        from announcements.services import add_attachment
        from schools.models import AccountReview, SubAccountRequest
        from schools.services.review_cycle import open_review
        from schools.services.sub_account_requests import submit_sub_account_request

        if not SubAccountRequest.objects.filter(unit=unit, status="pending").exists():
            submit_sub_account_request(
                code=unit.code,
                local_part="wu.th",
                full_name="吳宗翰",
                office="輔導室",
                title="輔導老師",
                phone="02-2345-6789#301",
                email="wu.th@demo.edu.tw",
                stations=["demo"],
            )
        if not AccountReview.objects.filter(side=Unit.Side.SCHOOL, closed_at=None).exists():
            today = timezone.localdate()
            open_review(
                side=Unit.Side.SCHOOL,
                starts_on=today - timedelta(days=2),
                ends_on=today + timedelta(days=27),
                actor=None,
            )
        for title, pdf_name in (
            ("重要事項公告&實名制系統主帳號人員-編制手冊V1.0版", "主帳號人員-編制手冊.pdf"),
            ("實名制系統子帳號人員-編制手冊", "子帳號人員-編制手冊.pdf"),
        ):
            announcement = Announcement.objects.filter(title=title).first()
            if announcement is None or announcement.attachments.exists():
                continue
            Announcement.objects.filter(pk=announcement.pk).update(is_manual=True)
            add_attachment(
                announcement=announcement,
                upload=ContentFile(demo_pdf(pdf_name), name=pdf_name),
                actor=None,
            )

    def _administrator(self):
        """A system administrator (superuser) for the admin: units, stations, announcements."""
        account = Account.objects.filter(username="admin").first()
        if account is None:
            account = Account.objects.create_superuser(
                "admin", email="admin@demo.edu.tw", password=DEMO_PASSWORD, full_name="系統管理員"
            )
        return account

    def _helpdesk(self):
        account, created = Account.objects.get_or_create(
            username="helpdesk",
            defaults={
                "local_part": "helpdesk",
                "full_name": "客服人員",
                "email": "helpdesk@demo.edu.tw",
                "is_staff": True,
                "state": Account.State.ACTIVE,
            },
        )
        if created:
            account.set_password(DEMO_PASSWORD)
            account.save()
            # The group and its permissions come from a migration; get_or_create only
            # matters for a database whose rows were flushed (transactional tests).
            account.groups.add(Group.objects.get_or_create(name="Helpdesk")[0])
        return account

    def _print(self, main, active, helpdesk, outdated):
        out = self.stdout.write
        out("")
        out(self.style.SUCCESS(f"Demo data ready. Sign in at {settings.PORTAL_BASE_URL}/"))
        out(f"  Every demo password: {DEMO_PASSWORD}")
        for account in active:
            role = account.get_role_display()
            out(f"  {account.username:<22} {account.full_name}  ({account.unit.name}, {role})")
        out(f"  {helpdesk.username:<22} {helpdesk.full_name}  (Helpdesk, /admin/)")
        out(f"  {'admin':<22} 系統管理員  (superuser, /admin/: units, stations, announcements)")
        name = f"{outdated.username:<22} {outdated.full_name}"
        out(f"  {name}  password {OUTDATED_PASSWORD}: too weak for today's policy,")
        out("                         so sign-in asks for a new one first")
        out(f"  {helpdesk.username}, admin and moe001_reviewer bind two-factor at first sign-in:")
        out("  scan the QR code with an authenticator app, or without a phone run")
        out('  make totp SECRET="<the secret on the page>" for the current code.')
        out("  Forgot password, resend and account lookup mails land in var/mail/ as well.")
        if settings.DEMO_STATION_ENABLED:
            out("  Signed in as 010301_teacher01, click the 示範編報站 tile to try single sign-on.")
        out("  010301_principal manages 010301's sub-accounts at /manage/accounts/.")
        out("  helpdesk can approve 010302's main-account application in /admin/.")
        out("  010301_principal has a sub-account request to decide at /manage/requests/ and")
        out("  the yearly account review open at /manage/review/; the manuals are at /manuals/.")
        if main.state == Account.State.PENDING:
            out("")
            out(f"  Pending main account {main.username} ({main.full_name}) has no password yet.")
            found = _newest_mail_for(main)
            if found:
                path, link = found
                out(f"  Its account-created mail: {path}")
                out(f"  Set its password here:    {link}")
            else:
                out("  Its account-created mail went to your SMTP server (EMAIL_URL).")
        out("")


def _newest_mail_for(account):
    """The embedded default keeps every mail under var/mail; find the newest for this account."""
    folder = Path(settings.EMAIL_FILE_PATH)
    for path in sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
        message = message_from_bytes(path.read_bytes(), policy=default_policy)
        if message["To"] != account.email:
            continue
        text = message.get_body(preferencelist=("plain",)).get_content()
        match = re.search(r"https?://\S+/ckverifycode/\S+/", text)
        if match:
            return path, match.group(0)
    return None


def demo_pdf(title: str) -> bytes:
    """A one-page PDF standing for a manual (its text in ASCII: the base fonts have no CJK)."""
    lines = ["Portal demo manual", title.encode("ascii", "replace").decode(), "(demo data)"]
    text = "BT /F1 18 Tf 72 720 Td " + " 0 -28 Td ".join(f"({line}) Tj" for line in lines)
    stream = f"{text} ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
