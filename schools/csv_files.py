"""The CSV files of the holder's import (SPEC section 6, seed 003): reading an upload into
rows, or refusing the whole file (not UTF-8, not CSV, empty, too big, too many rows, wrong
header), and the files to download (the template, the failed rows with their reasons)."""

import csv
import io
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from stations.models import Station

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


def column_labels() -> dict[str, str]:
    return dict(zip(COLUMNS, (_(label) for label in CHINESE_HEADER), strict=True))


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
    station = Station.objects.usable_by(unit).first()
    return _csv_text(CHINESE_HEADER, [(*EXAMPLE_ROW, station.slug if station else "")])


def failed_rows_csv(stored: dict) -> str:
    """The failed rows of an import (as kept by ImportResult.as_session) with their reasons,
    under the header the file came with, ready to be corrected and uploaded again."""
    header = (*HEADERS.get(stored["header"], CHINESE_HEADER), REASON_COLUMN)
    return _csv_text(
        header, [(*cells, "；".join(reasons)) for _line, cells, reasons in stored["failed"]]
    )
