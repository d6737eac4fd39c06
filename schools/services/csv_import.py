"""Checking the rows of a CSV import of sub-accounts (SPEC section 6, seed 003): every row by
the rules of the create form, every reason at once. A row either creates a sub-account or,
with 停用 in its 狀態 column, disables the sub-account of that local part (a person who
left). Reading the file and the downloads: schools/csv_files.py; running the import in the
background, a chunk at a time: import_jobs.py."""

import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts.models import Account, ReleasedLocalPart, local_part_validator
from accounts.normalize import normalize_login_name, same_text
from accounts.profile import PHONE_VALIDATOR, Profile, validate_profile
from schools.csv_files import COLUMNS, MAX_LENGTHS, column_labels
from stations.models import Station

# Several stations in one cell: ";" as the template has it, or what people type instead.
STATION_SEPARATORS = re.compile(r"[;、,]")
# What the 狀態 column may say (after NFKC and lower case): a new account, or one to disable.
CREATE_STATES = {"", "啟用", "新增", "建立", "active", "create"}
DISABLE_STATES = {"停用", "離職", "disable", "disabled"}
# A phone Excel turned into a number: its leading 0 dropped, or in scientific notation.
# Numbers in Taiwan have 10 digits with their area code (02-, 049-, 09xx-): 8 or 9 left.
DIGITS_ONLY = re.compile(r"[1-9][0-9]{7,8}")
SCIENTIFIC = re.compile(r"[0-9](\.[0-9]+)?e\+?[0-9]+", re.IGNORECASE)


@dataclass(frozen=True)
class FailedRow:
    line: int
    cells: tuple[str, ...]  # the row's cells as uploaded (trimmed)
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class CheckedRow:
    line: int
    cells: tuple[str, ...]
    local_part: str
    profile: Profile
    stations: tuple
    disable: Account | None = None  # a 停用 row: the account to disable


class _UnitRules:
    """What the local-part and station rules need to know about the unit, loaded once for
    the whole file instead of once per row. ``ignore``: login names an earlier run of the
    same import created (a resumed import must not find them taken)."""

    def __init__(self, unit, *, ignore=(), disabling=False):
        self.unit = unit
        self.prefix = f"{unit.code}_".lower()
        self.stations = {}
        for station in Station.objects.usable_by(unit):
            self.stations[station.slug.lower()] = station
            self.stations.setdefault(
                unicodedata.normalize("NFKC", station.name).casefold(), station
            )
        self.slugs = [station.slug for station in Station.objects.usable_by(unit)]
        self.taken = set(
            Account.objects.filter(username__startswith=self.prefix).values_list(
                "username", flat=True
            )
        ) - set(ignore)
        self.released = {}
        for released in ReleasedLocalPart.objects.filter(unit=unit).order_by("released_at", "pk"):
            self.released[released.local_part] = released  # the newest one wins
        self.managed = {}
        if disabling:  # the sub-accounts a 停用 row may name (schools/access.py's rule)
            self.managed = {
                account.local_part: account
                for account in Account.objects.filter(
                    unit=unit, role=Account.Role.SUB, is_staff=False, is_superuser=False
                )
            }

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
        """The stations of a cell, named by their code or by the name the pages show, in
        any case, separated by ";" (or "、" or ",")."""
        chosen, unknown = [], []
        for name in STATION_SEPARATORS.split(unicodedata.normalize("NFKC", cell)):
            name = name.strip()
            if not name:
                continue
            station = self.stations.get(name.casefold())
            if station is None:
                unknown.append(name)
            elif station not in chosen:
                chosen.append(station)
        problems = []
        if unknown:
            problems.append(
                _(
                    "找不到編報站「%(unknown)s」，或貴單位不能使用；請填編報站的代號或名稱："
                    "%(known)s。"
                )
                % {
                    "unknown": "、".join(unknown),
                    "known": "、".join(self.slugs) or _("（無）"),
                }
            )
        return tuple(chosen), problems

    def account_to_disable(self, local_part: str, full_name: str):
        """A 停用 row's account and what is wrong with the row."""
        if local_part.startswith(self.prefix):
            local_part = local_part[len(self.prefix) :]
        account = self.managed.get(local_part)
        if account is None:
            return None, [
                _("找不到貴單位的子帳號 %(username)s，無法停用。")
                % {"username": f"{self.prefix}{local_part}"}
            ]
        if full_name and not same_text(full_name, account.full_name):
            return None, [
                _("姓名與帳號 %(username)s 的姓名「%(name)s」不符；為免停用錯人，請確認後再上傳。")
                % {"username": account.username, "name": account.full_name}
            ]
        return account, []


def phone_problems(phone: str) -> list[str]:
    """The phone rule, and a phone Excel turned into a number (its leading 0 gone)."""
    if not phone:
        return []
    if SCIENTIFIC.fullmatch(phone):
        return [
            _(
                "電話被 Excel 改成了科學記號（%(phone)s）。請把這一欄設成「文字」格式，"
                "重新輸入完整的電話，例如 049-2910960#3765。"
            )
            % {"phone": phone}
        ]
    if DIGITS_ONLY.fullmatch(phone):
        return [
            _(
                "電話開頭的 0 不見了（Excel 會把 0492910960 當成數字 492910960）。"
                "請改成 %(fixed)s，或寫成 049-2910960 這樣有分隔號的格式。"
            )
            % {"fixed": "0" + phone}
        ]
    try:
        PHONE_VALIDATOR(phone)
    except ValidationError as error:
        return error.messages
    return []


def _creation_problems(rules: _UnitRules, values: dict[str, str], seen: dict[str, int], line):
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
    problems.setdefault("phone", []).extend(phone_problems(values["phone"]))
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


def labelled_error(error: ValidationError) -> tuple[str, ...]:
    """A service's refusal of a row, labelled by column as the checks label theirs."""
    problems = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
    return tuple(_labelled(problems))


def _state_of(cell: str) -> str | None:
    """ "create", "disable", or None for a 狀態 the import does not know."""
    value = unicodedata.normalize("NFKC", cell).strip().lower()
    if value in CREATE_STATES:
        return "create"
    if value in DISABLE_STATES:
        return "disable"
    return None


def check_rows(
    *, unit, rows, with_state=False, ignore=()
) -> tuple[list[CheckedRow], list[FailedRow]]:
    """Every row by the create form's rules: the local part's (format, names used in the
    unit or freed for someone else, and repeats within the file, case-insensitive), the
    required profile fields, e-mail and phone formats, lengths and the stations. A 停用 row
    names a sub-account of the unit (and, when it gives one, that account's name)."""
    width = len(COLUMNS) + with_state
    states = [
        _state_of(cells[len(COLUMNS)]) if with_state and len(cells) > len(COLUMNS) else "create"
        for _line, cells in rows
    ]
    rules = _UnitRules(unit, ignore=ignore, disabling="disable" in states)
    seen: dict[str, int] = {}
    good, failed = [], []
    for (line, cells), state in zip(rows, states, strict=True):
        cells = tuple(cells)
        padded = (cells + ("",) * width)[:width]
        values = dict(zip(COLUMNS, padded, strict=False))
        extra = [_("這一列的欄位比標題列多，請檢查是否多了逗號。")] if any(cells[width:]) else []
        if state is None:
            reasons = [_("狀態：只能填「停用」（停用這個帳號）或留空（建立帳號）。"), *extra]
            failed.append(FailedRow(line=line, cells=padded, reasons=tuple(reasons)))
            continue
        if state == "disable":
            local_part = normalize_login_name(values["local_part"])
            account, problems = rules.account_to_disable(local_part, values["full_name"])
            reasons = [*_labelled({"local_part": problems}), *extra]
            if reasons:
                failed.append(FailedRow(line=line, cells=padded, reasons=tuple(reasons)))
            else:
                profile = Profile(account.full_name, "", "", "", "")
                good.append(CheckedRow(line, padded, local_part, profile, (), disable=account))
            continue
        local_part, profile, stations, problems = _creation_problems(rules, values, seen, line)
        reasons = [*_labelled(problems), *extra]
        if reasons:
            failed.append(FailedRow(line=line, cells=padded, reasons=tuple(reasons)))
        else:
            good.append(CheckedRow(line, padded, local_part, profile, stations))
    return good, failed
