from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from schools.services.units import import_units


class Command(BaseCommand):
    help = "Create or update units from a CSV file: columns code,name,side (UTF-8, BOM allowed)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file, **options):
        try:
            with file.open(encoding="utf-8-sig", newline="") as stream:
                result = import_units(stream=stream)
        except FileNotFoundError as error:
            raise CommandError(f"找不到檔案 {file}") from error
        except UnicodeDecodeError as error:
            raise CommandError(f"{file} 不是 UTF-8 編碼的 CSV 檔") from error
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        if result.errors:
            raise CommandError("沒有匯入任何單位：\n" + "\n".join(result.errors))
        self.stdout.write(
            self.style.SUCCESS(f"新增 {result.created} 個單位，更新 {result.updated} 個單位。")
        )
