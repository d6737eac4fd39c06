"""The CSV files of the holder's import (SPEC section 6, seed 003): reading an upload into
rows, or refusing the whole file (not text, not CSV, empty, too big, too many rows, wrong
header), and the files to download (the template, the failed rows with their reasons).

Files come as Taiwanese offices make them (issue 16): Excel on Windows saves "CSV" in Big5
(cp950), "CSV UTF-8" with a BOM, "Unicode text" in UTF-16 with tabs; each is recognised."""

import codecs
import csv
import io
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from stations.models import Station

# The import runs in the background (issue 18): a file is bounded by what a holder can check
# on one result page, not by a request's time.
MAX_FILE_BYTES = 4 * 1024 * 1024


MAX_ROWS = 10_000


COLUMNS = ("local_part", "full_name", "office", "title", "phone", "email", "stations")


CHINESE_HEADER = ("子帳號", "姓名", "處室名稱", "職稱", "電話(分機)", "信箱", "編報站")


HEADERS = {"en": COLUMNS, "zh": CHINESE_HEADER}


# An optional eighth column (issue 18): 停用 disables the sub-account of that local part (a
# person who left); empty creates the row's account as before.
STATE_COLUMN = {"en": "state", "zh": "狀態"}


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
    """An upload that passed the file checks: its header language, whether it has the 狀態
    column, its data rows, each with its row number as a spreadsheet shows it (the header
    is row 1), and the encoding it was read in."""

    header: str  # "en" or "zh"
    rows: tuple[tuple[int, tuple[str, ...]], ...]
    with_state: bool = False
    encoding: str = "utf-8"

    @property
    def width(self) -> int:
        return len(COLUMNS) + self.with_state


def _not_readable() -> ValidationError:
    return ValidationError(
        _(
            "無法讀取這個檔案：請上傳 CSV 檔（Excel 的「CSV（逗號分隔）」、「CSV UTF-8」或"
            "「Unicode 文字」都可以）。Excel 活頁簿（.xlsx）、PDF 或圖片都無法匯入，請先用 Excel"
            "「另存新檔」存成 CSV。"
        ),
        code="not_csv",
    )


ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16",
    "utf-16-be": "UTF-16",
    "cp950": "Big5",
}


def _looks_like_utf16(data: bytes) -> str | None:
    """UTF-16 without a byte-order mark: NUL bytes on one side of most ASCII characters."""
    sample = data[:400]
    if len(sample) < 4 or b"\x00" not in sample:
        return None
    odd = sample[1::2].count(0)
    even = sample[0::2].count(0)
    if odd > len(sample) // 8 and even == 0:
        return "utf-16-le"
    if even > len(sample) // 8 and odd == 0:
        return "utf-16-be"
    return None


def decode_upload(data: bytes) -> tuple[str, str]:
    """The file's text and the encoding it was in: a BOM says which (UTF-8, UTF-16); else
    UTF-16 by its NUL bytes, UTF-8 when it decodes as such, else Big5 (cp950, what Excel
    on a Taiwanese Windows saves). ValidationError when it is none of them, or binary."""
    if data.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = [_looks_like_utf16(data) or "utf-8", "cp950"]
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break  # a binary file (a picture, a workbook) that happens to decode
        return text.lstrip("\ufeff"), encoding
    raise _not_readable()


def _header_cell(value: str) -> str:
    """Full-width characters to half-width (電話（分機） is 電話(分機)), trimmed; English in
    lowercase."""
    return unicodedata.normalize("NFKC", value).replace("\ufeff", "").strip().lower()


def _header_language(cells: list[str]) -> tuple[str, bool, bool] | None:
    """The header's language, whether it has the 狀態 column, and whether it ends with the
    reason column of a download of failed rows; None when it is not one of the headers."""
    names = [_header_cell(cell) for cell in cells]
    while names and not names[-1]:
        names.pop()
    with_reasons = bool(names) and names[-1] == REASON_COLUMN
    if with_reasons:
        names.pop()
    for language, header in HEADERS.items():
        expected = [name.lower() for name in header]
        if names == expected:
            return language, False, with_reasons
        if names == [*expected, STATE_COLUMN[language]]:
            return language, True, with_reasons
    return None


def _wrong_header(cells: list[str]) -> ValidationError:
    found = ",".join(cell.strip() for cell in cells).strip(",")
    return ValidationError(
        _(
            "第一列（標題列）必須是「%(english)s」或「%(chinese)s」，欄位順序也要相同"
            "（最後可再加一欄「狀態」）。這個檔案的第一列是「%(found)s」。"
            "請下載範本檔，把資料貼到範本裡再上傳。"
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
            "請用 Excel 另存為「CSV（逗號分隔）」後再上傳。"
        )
        % {"line": line},
        code="not_csv",
    )


def _delimiter(text: str) -> str:
    """Commas, or tabs as Excel's "Unicode text" has them: decided by the header line."""
    first = text.lstrip().split("\n", 1)[0]
    return "\t" if first.count("\t") > first.count(",") else ","


def read_import_file(upload) -> ImportFile:
    """The rows of an uploaded CSV file; ValidationError (one message) refuses the file."""
    if upload.size > MAX_FILE_BYTES:
        raise ValidationError(
            _("檔案太大：最多 %(limit)d MB，請分成幾個檔案上傳。")
            % {"limit": MAX_FILE_BYTES // (1024 * 1024)},
            code="too_large",
        )
    text, encoding = decode_upload(upload.read(MAX_FILE_BYTES + 1))
    if not text.strip():
        raise ValidationError(_("檔案是空的，請使用範本檔填寫後再上傳。"), code="empty")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    try:
        header = next(reader)
        found = _header_language(header)
        if found is None:
            raise _wrong_header(header)
        language, with_state, with_reasons = found
        width = len(COLUMNS) + with_state
        rows = []
        for number, cells in enumerate(reader, start=2):
            if with_reasons:  # the reasons of an earlier import are left out
                cells = cells[:width] + cells[width + 1 :]
            cells = tuple(cell.strip() for cell in cells)
            if not any(cells):
                continue  # blank lines, or a row Excel left with only commas
            if len(rows) == MAX_ROWS:
                raise ValidationError(
                    _("資料列太多：一次最多匯入 %(limit)s 列，請分成幾個檔案上傳。")
                    % {"limit": f"{MAX_ROWS:,}"},
                    code="too_many_rows",
                )
            rows.append((number, cells))
    except csv.Error as error:
        raise _unreadable_csv(error, line=reader.line_num) from None
    if not rows:
        raise ValidationError(_("檔案只有標題列，沒有任何資料列。"), code="no_rows")
    return ImportFile(header=language, rows=tuple(rows), with_state=with_state, encoding=encoding)


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


def failed_rows_csv(*, header: str, with_state: bool, failed) -> str:
    """The failed rows of an import (``failed``: (cells, reasons) pairs) with their reasons,
    under the header the file came with, ready to be corrected and uploaded again as it is
    (the reason column is left out on the way in)."""
    names = HEADERS.get(header, CHINESE_HEADER)
    if with_state:
        names = (*names, STATE_COLUMN.get(header, "狀態"))
    return _csv_text(
        (*names, REASON_COLUMN), [(*cells, "；".join(reasons)) for cells, reasons in failed]
    )
