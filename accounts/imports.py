"""Sub-accounts from a CSV file (SPEC section 6, seed 003).

``ImportForm`` reads an upload into rows or refuses the whole file (not UTF-8, not CSV,
empty, too big, too many rows, wrong header). ``import_sub_accounts`` checks every row by the
rules of the create form, creates each good row through ``services.create_sub_account`` in a
transaction of its own, and returns the failed rows with every reason, for the result page
and the download of failed rows.
"""

import csv
import io
import unicodedata
from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.forms import PHONE_VALIDATOR, stations_field
from accounts.models import Account, ReleasedLocalPart, local_part_validator, normalize_login_name
from accounts.services import Profile, create_sub_account, validate_profile

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ROWS = 2000
COLUMNS = ("local_part", "full_name", "office", "title", "phone", "email", "stations")
CHINESE_HEADER = ("子帳號", "姓名", "處室名稱", "職稱", "電話(分機)", "信箱", "編報站")
HEADERS = {"en": COLUMNS, "zh": CHINESE_HEADER}
# The download of failed rows adds this column; a corrected download may be uploaded again
# as it is, so a trailing reason column is accepted and ignored.
REASON_COLUMN = "錯誤原因"
STATION_SEPARATOR = ";"
# The create form's limits (the model's columns); the phone's is in PHONE_VALIDATOR.
MAX_LENGTHS = {"full_name": 50, "office": 50, "title": 50, "email": 254}
EXAMPLE_ROW = ("teacher01", "林志明", "教務處", "註冊組長", "049-2910960#3765", "lin@example.com")


def usable_stations(unit):
    """The stations a row may name: those the create form offers (active, the unit's side)."""
    return stations_field(unit).queryset


def column_labels() -> dict[str, str]:
    return dict(zip(COLUMNS, (_(label) for label in CHINESE_HEADER), strict=True))


# --- Reading the file ----------------------------------------------------------------------


@dataclass(frozen=True)
class ImportFile:
    """An upload that passed the file checks: its header language and its data rows, each
    with its row number as a spreadsheet shows it (the header is row 1)."""

    header: str  # "en" or "zh"
    rows: tuple[tuple[int, tuple[str, ...]], ...]


def _not_readable() -> ValidationError:
    return ValidationError(
        _(
            "無法讀取這個檔案：請上傳以 UTF-8 編碼儲存的 CSV 檔。用 Excel 編輯時請選擇"
            "「另存新檔」→「CSV UTF-8（逗號分隔）(*.csv)」；Big5 編碼的 CSV、Excel 活頁簿"
            "（.xlsx）或圖片都無法匯入。"
        ),
        code="not_csv",
    )


def _header_cell(value: str) -> str:
    """Full-width characters to half-width (電話（分機） is 電話(分機)), trimmed; English in
    lowercase."""
    return unicodedata.normalize("NFKC", value).replace("\ufeff", "").strip().lower()


def _header_language(cells: list[str]) -> tuple[str, bool] | None:
    """The header's language and whether it ends with the reason column of a download of
    failed rows, or None when it is not one of the two headers."""
    names = [_header_cell(cell) for cell in cells]
    while names and not names[-1]:
        names.pop()
    with_reasons = bool(names) and names[-1] == REASON_COLUMN
    if with_reasons:
        names.pop()
    for language, header in HEADERS.items():
        if tuple(names) == tuple(name.lower() for name in header):
            return language, with_reasons
    return None


def _wrong_header(cells: list[str]) -> ValidationError:
    found = ",".join(cell.strip() for cell in cells).strip(",")
    return ValidationError(
        _(
            "第一列（標題列）必須是「%(english)s」或「%(chinese)s」，欄位順序也要相同。"
            "這個檔案的第一列是「%(found)s」。請下載範本檔，把資料貼到範本裡再上傳。"
        )
        % {
            "english": ",".join(COLUMNS),
            "chinese": ",".join(CHINESE_HEADER),
            "found": found[:200] or _("（空白）"),
        },
        code="header",
    )


def _unreadable_csv(error: csv.Error, *, line: int) -> ValidationError:
    """The csv module's error in the holder's words. It tells a field over its size limit
    only by its message (no error code of its own); every other error is a quoting one."""
    if str(error).startswith("field larger than field limit"):
        return ValidationError(
            _(
                "檔案第 %(line)d 行附近有一個欄位超過 %(limit)d 個字元，太長了無法匯入。"
                '若這一格不該這麼長，可能是它前面有引號「"」沒有成對，'
                "把後面好幾列都併進了同一格。"
            )
            % {"line": line, "limit": csv.field_size_limit()},
            code="field_too_long",
        )
    return ValidationError(
        _(
            '檔案第 %(line)d 行附近的 CSV 格式有誤（例如引號「"」不成對），'
            "請用 Excel 另存為「CSV UTF-8（逗號分隔）」後再上傳。"
        )
        % {"line": line},
        code="not_csv",
    )


def read_import_file(upload) -> ImportFile:
    """The rows of an uploaded CSV file; ValidationError (one message) refuses the file."""
    if upload.size > MAX_FILE_BYTES:
        raise ValidationError(
            _("檔案太大：最多 %(limit)d MB，請分成幾個檔案上傳。")
            % {"limit": MAX_FILE_BYTES // (1024 * 1024)},
            code="too_large",
        )
    data = upload.read(MAX_FILE_BYTES + 1)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _not_readable() from None
    if "\x00" in text:
        raise _not_readable()
    if not text.strip():
        raise ValidationError(_("檔案是空的，請使用範本檔填寫後再上傳。"), code="empty")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
        language = _header_language(header)
        if language is None:
            raise _wrong_header(header)
        language, with_reasons = language
        rows = []
        for number, cells in enumerate(reader, start=2):
            if with_reasons:  # the reasons of an earlier import are left out
                cells = cells[: len(COLUMNS)] + cells[len(COLUMNS) + 1 :]
            cells = tuple(cell.strip() for cell in cells)
            if not any(cells):
                continue  # blank lines, or a row Excel left with only commas
            if len(rows) == MAX_ROWS:
                raise ValidationError(
                    _("資料列太多：一次最多匯入 %(limit)d 列，請分成幾個檔案上傳。")
                    % {"limit": MAX_ROWS},
                    code="too_many_rows",
                )
            rows.append((number, cells))
    except csv.Error as error:
        raise _unreadable_csv(error, line=reader.line_num) from None
    if not rows:
        raise ValidationError(_("檔案只有標題列，沒有任何資料列。"), code="no_rows")
    return ImportFile(header=language, rows=tuple(rows))


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV 檔"),
        help_text=gettext_lazy("UTF-8 編碼（可含 BOM）的 CSV 檔，最多 2 MB、2,000 列。"),
        error_messages={
            "required": gettext_lazy("請選擇要匯入的 CSV 檔。"),
            "missing": gettext_lazy("請選擇要匯入的 CSV 檔。"),
            "invalid": gettext_lazy("沒有收到檔案，請重新選擇 CSV 檔後再上傳。"),
            "empty": gettext_lazy("檔案是空的，請使用範本檔填寫後再上傳。"),
        },
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self) -> ImportFile:
        return read_import_file(self.cleaned_data["file"])


# --- Checking and creating -----------------------------------------------------------------


@dataclass(frozen=True)
class FailedRow:
    line: int
    cells: tuple[str, ...]  # the row's seven cells as uploaded (trimmed)
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class CheckedRow:
    line: int
    cells: tuple[str, ...]
    local_part: str
    profile: Profile
    stations: tuple


@dataclass(frozen=True)
class ImportResult:
    header: str
    created: tuple[Account, ...]
    failed: tuple[FailedRow, ...]

    def as_session(self, *, unit) -> dict:
        """What the result page and the download need, JSON-serializable and bounded by the
        file limits (at most MAX_ROWS rows of a MAX_FILE_BYTES file)."""
        return {
            "unit": unit.pk,
            "header": self.header,
            "created": [[account.username, account.full_name] for account in self.created],
            "failed": [[row.line, list(row.cells), list(row.reasons)] for row in self.failed],
        }


class _UnitRules:
    """What the local-part and station rules need to know about the unit, loaded once for
    the whole file instead of once per row."""

    def __init__(self, unit):
        self.unit = unit
        self.prefix = f"{unit.code}_".lower()
        self.stations = {station.slug: station for station in usable_stations(unit)}
        self.taken = set(
            Account.objects.filter(username__startswith=self.prefix).values_list(
                "username", flat=True
            )
        )
        self.released = {}
        for released in ReleasedLocalPart.objects.filter(unit=unit).order_by("released_at", "pk"):
            self.released[released.local_part] = released  # the newest one wins

    def local_part_problems(self, local_part: str, profile: Profile) -> list[str]:
        """services.validate_new_local_part's rules, against the preloaded names."""
        if not local_part:
            return [_("請填寫%(field)s。") % {"field": _("子帳號")}]
        if local_part.startswith(self.prefix):
            return [
                _("只要填「%(prefix)s」後面的部分，例如 %(example)s。")
                % {"prefix": self.prefix, "example": local_part[len(self.prefix) :]}
            ]
        try:
            local_part_validator(local_part)
        except ValidationError as error:
            return error.messages
        released = self.released.get(local_part)
        if released is not None and not released.belongs_to(
            full_name=profile.full_name, email=profile.email
        ):
            return [_("這個帳號以前屬於另一位人員，不可再給別人使用；請換一個。")]
        username = f"{self.prefix}{local_part}"
        if username in self.taken:
            return [
                _("帳號 %(username)s 已有人使用（含已停用的帳號），請換一個。")
                % {"username": username}
            ]
        return []

    def stations_of(self, cell: str) -> tuple[tuple, list[str]]:
        slugs = []
        for slug in unicodedata.normalize("NFKC", cell).split(STATION_SEPARATOR):
            slug = slug.strip()
            if slug and slug not in slugs:
                slugs.append(slug)
        unknown = [slug for slug in slugs if slug not in self.stations]
        problems = []
        if unknown:
            problems.append(
                _("找不到編報站代號「%(unknown)s」，或貴單位不能使用；可用的代號：%(known)s。")
                % {
                    "unknown": "、".join(unknown),
                    "known": "、".join(self.stations) or _("（無）"),
                }
            )
        return tuple(self.stations[slug] for slug in slugs if slug in self.stations), problems


def _problems_by_column(rules: _UnitRules, values: dict[str, str], seen: dict[str, int], line):
    profile = Profile(**{name: values[name] for name in COLUMNS[1:6]})
    local_part = normalize_login_name(values["local_part"])
    problems: dict[str, list[str]] = {"local_part": rules.local_part_problems(local_part, profile)}
    if local_part:
        first = seen.setdefault(local_part, line)
        if first != line:
            problems["local_part"].append(
                _("與第 %(line)d 列的子帳號重複（大小寫視為相同）。") % {"line": first}
            )
    for name, messages in validate_profile(profile).items():
        problems.setdefault(name, []).extend(messages)
    if values["phone"]:
        try:
            PHONE_VALIDATOR(values["phone"])
        except ValidationError as error:
            problems.setdefault("phone", []).extend(error.messages)
    for name, limit in MAX_LENGTHS.items():
        if len(values[name]) > limit:
            problems.setdefault(name, []).append(
                _("最多 %(limit)d 個字元（目前 %(length)d 個）。")
                % {"limit": limit, "length": len(values[name])}
            )
    stations, problems["stations"] = rules.stations_of(values["stations"])
    return local_part, profile, stations, problems


def _labelled(problems: dict[str, list[str]]) -> list[str]:
    labels = column_labels()
    reasons = []
    for name in (*COLUMNS, *sorted(set(problems) - set(COLUMNS))):
        label = labels.get(name)
        for message in problems.get(name, ()):
            reasons.append(f"{label}：{message}" if label else message)
    return reasons


def check_rows(*, unit, rows) -> tuple[list[CheckedRow], list[FailedRow]]:
    """Every row by the create form's rules: the local part's (format, names used in the
    unit or freed for someone else, and repeats within the file, case-insensitive), the
    required profile fields, e-mail and phone formats, lengths and the station slugs."""
    rules = _UnitRules(unit)
    width = len(COLUMNS)
    seen: dict[str, int] = {}
    good, failed = [], []
    for line, cells in rows:
        padded = (cells + ("",) * width)[:width]
        values = dict(zip(COLUMNS, padded, strict=True))
        local_part, profile, stations, problems = _problems_by_column(rules, values, seen, line)
        reasons = _labelled(problems)
        if any(cells[width:]):
            reasons.append(_("這一列的欄位比標題列多，請檢查是否多了逗號。"))
        if reasons:
            failed.append(FailedRow(line=line, cells=padded, reasons=tuple(reasons)))
        else:
            good.append(CheckedRow(line, padded, local_part, profile, stations))
    return good, failed


CHUNK = 100


def import_sub_accounts(*, unit, upload: ImportFile, actor, request=None) -> ImportResult:
    """Create the good rows, each in a savepoint of its own (its mail leaves when its chunk
    commits), so a row refused late by the service rolls back only itself.

    Rows are written in the order of their local part, whatever the file's order: two imports
    of the same names at once then take the name locks in one order, so the second waits for
    the first and reports each name the first created as a failed row, where opposite orders
    deadlocked and one import was answered 500. The result keeps the file's order."""
    good, failed = check_rows(unit=unit, rows=upload.rows)
    good.sort(key=lambda row: row.local_part)
    created = []
    # Commit every CHUNK rows: one disk sync per chunk instead of per row. Each row still runs
    # in its own savepoint (create_sub_account's atomic), so a refused row undoes only itself;
    # mails leave when their chunk commits.
    for start in range(0, len(good), CHUNK):
        with transaction.atomic():
            for row in good[start : start + CHUNK]:
                try:
                    account = create_sub_account(
                        unit=unit,
                        local_part=row.local_part,
                        profile=row.profile,
                        stations=row.stations,
                        actor=actor,
                        request=request,
                        checked=True,
                    )
                except ValidationError as error:
                    problems = (
                        error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
                    )
                    failed.append(FailedRow(row.line, row.cells, tuple(_labelled(problems))))
                else:
                    created.append((row.line, account))
    failed.sort(key=lambda row: row.line)
    created.sort(key=lambda pair: pair[0])
    return ImportResult(
        header=upload.header,
        created=tuple(account for _line, account in created),
        failed=tuple(failed),
    )


# --- Files to download -----------------------------------------------------------------------


def _csv_text(header, rows) -> str:
    """CSV that Excel opens correctly: UTF-8 with a BOM, CRLF line ends."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def template_csv(unit) -> str:
    """The header in Chinese and one example row (with a station the unit may use)."""
    station = usable_stations(unit).first()
    return _csv_text(CHINESE_HEADER, [(*EXAMPLE_ROW, station.slug if station else "")])


def failed_rows_csv(stored: dict) -> str:
    """The failed rows of an import (as kept by ImportResult.as_session) with their reasons,
    under the header the file came with, ready to be corrected and uploaded again."""
    header = (*HEADERS.get(stored["header"], CHINESE_HEADER), REASON_COLUMN)
    return _csv_text(
        header, [(*cells, "；".join(reasons)) for _line, cells, reasons in stored["failed"]]
    )
