"""Sub-accounts from a CSV file (SPEC section 6, seed 003): every row checked by the rules
of the create form, each good row created through ``create_sub_account`` in a savepoint of
its own, the failed rows returned with every reason (for the result page and the download).
Reading the file and the downloads: schools/csv_files.py."""

import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Account, ReleasedLocalPart, local_part_validator
from accounts.normalize import normalize_login_name
from accounts.profile import PHONE_VALIDATOR, Profile, validate_profile
from schools.csv_files import COLUMNS, MAX_LENGTHS, STATION_SEPARATOR, ImportFile, column_labels
from schools.services.sub_accounts import create_sub_account
from stations.models import Station


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
        self.stations = {station.slug: station for station in Station.objects.usable_by(unit)}
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
