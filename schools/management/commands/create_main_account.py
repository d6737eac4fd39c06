from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.profile import Profile
from accounts.services.new_accounts import create_main_account
from schools.models import Unit


class Command(BaseCommand):
    help = "Create a unit's main account (pending) and send its account-created mail."

    def add_arguments(self, parser):
        parser.add_argument("--unit", required=True, help="unit code, e.g. 010300")
        parser.add_argument(
            "--local", required=True, help="local part of the login name, e.g. admin01"
        )
        parser.add_argument("--name", required=True)
        parser.add_argument("--email", required=True)
        parser.add_argument("--office", required=True)
        parser.add_argument("--title", required=True)
        parser.add_argument("--phone", required=True)

    def handle(self, *args, **options):
        unit = Unit.objects.filter(code__iexact=options["unit"].strip()).first()
        if unit is None:
            raise CommandError(f"找不到單位代碼 {options['unit']}（請先用 import_units 匯入單位）")
        profile = Profile(
            full_name=options["name"],
            office=options["office"],
            title=options["title"],
            phone=options["phone"],
            email=options["email"],
        )
        try:
            account = create_main_account(unit=unit, local_part=options["local"], profile=profile)
        except ValidationError as error:
            lines = [
                f"{field}: {message}"
                for field, messages in error.message_dict.items()
                for message in messages
            ]
            raise CommandError("無法建立主帳號：\n" + "\n".join(lines)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"已建立主帳號 {account.username}（待開通），設定密碼信已寄到 {account.email}。"
            )
        )
