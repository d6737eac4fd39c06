"""Demo data for a first run: two units, a pending main account with a set-password link,
active accounts with known passwords, and a helpdesk member. Safe to run again: what exists
is left as the person left it (a changed password, a transfer, a disabled account), and what
it prints is read back from the database, so it stays true on the next run."""

import logging
import re
from contextlib import contextmanager
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
from mail.backends import files_only
from schools.models import AccountReview, MainAccountApplication, Unit
from stations.demo_station import ensure_demo_station
from stations.models import Station, StationGrant
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
        with files_only(), quiet_loggers(), transaction.atomic():
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
        """A teacher whose password predates the policy: sign-in asks for a new one first
        (set when the account is made; a password the person changed since is kept)."""
        new = not Account.objects.filter(username=f"{unit.code}_teacher02").exists()
        account = self._active(unit, "teacher02", "黃淑芬", Account.Role.SUB, "學務處", "生教組長")
        if new:
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
        if StationGrant.objects.filter(station=demo).exists():
            return  # granted on the first run; the holder's changes since are kept
        principal, teacher, _reviewer = active
        for account in (principal, teacher, outdated):
            grant_station(account=account, station=demo, actor=None)
        grant_station(account=principal, station=statistics, actor=None)

    def _application(self, unit):
        """A school without a main account that has applied: helpdesk approves it in /admin/."""
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
        """The table of accounts first, each as it is now in the database (a second run
        after the person changed passwords, roles or states tells the truth), then what to
        try. Mail is not printed here: it is kept under var/mail/."""
        out = self.stdout.write
        out("")
        out(self.style.SUCCESS(f"Demo data ready. Sign in at {settings.PORTAL_BASE_URL}/"))
        out(f"  Every demo password, unless you changed it since: {DEMO_PASSWORD}")
        rows = [*(Account.objects.get(pk=a.pk) for a in (*active, outdated, helpdesk))]
        rows.append(Account.objects.get(username="admin"))
        for account in rows:
            out(f"  {account.username:<22} {account.full_name:<6} {self._who(account)}")
            for note in self._notes(account):
                out(f"  {'':<22} {note}")
        main = Account.objects.get(pk=main.pk)
        out("")
        if main.state == Account.State.PENDING:
            out(f"  Pending main account {main.username} ({main.full_name}) has no password yet.")
            found = _newest_mail_for(main)
            if found:
                path, link = found
                out(f"  Its account-created mail: {path}")
                out(f"  Set its password here:    {link}")
            else:
                out("  Its account-created mail went to your SMTP server (EMAIL_URL).")
        else:
            out(
                f"  {main.username} ({main.full_name}) is {main.get_state_display()}: "
                "its password is the one you set."
            )
        out("")
        out("  Admin-side accounts and staff (moe001_reviewer, helpdesk, admin) bind two-factor")
        out("  at their first sign-in: scan the QR code with an authenticator app, or without a")
        out('  phone run make totp SECRET="<the secret on the page>" for the current code.')
        holder = Account.objects.filter(unit__code="010301", role=Account.Role.MAIN).first()
        if holder is not None:
            out(f"  {holder.username} manages 010301's sub-accounts at /manage/accounts/.")
        if (
            settings.DEMO_STATION_ENABLED
            and StationGrant.objects.filter(
                account__username="010301_teacher01", station__slug="demo"
            ).exists()
        ):
            out("  Signed in as 010301_teacher01, click the 示範編報站 tile to try single sign-on.")
        if MainAccountApplication.objects.filter(
            unit__code="010302", status=MainAccountApplication.Status.PENDING
        ).exists():
            out("  helpdesk can approve 010302's main-account application in /admin/.")
        pending = holder is not None and holder.unit.sub_account_requests.filter(status="pending")
        if pending and pending.exists():
            out(f"  {holder.username} has a sub-account request to decide at /manage/requests/.")
        if (
            holder is not None
            and AccountReview.objects.filter(side=holder.unit.side, closed_at=None).exists()
        ):
            out(f"  {holder.username} has the yearly account review open at /manage/review/.")
        out("  The manuals (announcements with a PDF) are at /manuals/.")
        out(
            f"  Every mail (set-password links, reset codes) is kept in {settings.EMAIL_FILE_PATH}/"
        )
        out("")

    def _who(self, account) -> str:
        if account.is_superuser:
            return "(superuser, /admin/: units, stations, announcements)"
        if account.is_staff:
            return "(Helpdesk, /admin/)"
        return f"({account.unit.name}, {account.get_role_display()})"

    def _notes(self, account) -> list[str]:
        """What is true of this account now and differs from the demo as first loaded."""
        notes = []
        if account.state != Account.State.ACTIVE:
            notes.append(f"state: {account.get_state_display()} (changed since the demo set it)")
        if account.check_password(OUTDATED_PASSWORD):
            notes.append(
                f"password {OUTDATED_PASSWORD}: too weak for today's policy, so sign-in asks "
                "for a new one first"
            )
        elif not account.check_password(DEMO_PASSWORD):
            notes.append("password: the one you set (no longer the demo password)")
        if account.two_factor_device is not None:
            notes.append("two-factor bound: sign-in asks for the authenticator's code")
        return notes


@contextmanager
def quiet_loggers():
    """The table comes first: no line per task the demo's mail ran through (Celery runs
    them in this process on the embedded default), nor the broker's default host."""
    names = ("celery.app.trace", "kombu.connection")
    levels = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


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
