"""Rule 6 of the password policy (SPEC section 4): not common or guessable.

The manuals' rule ("過於常見之密碼將不予以通過") is about *common* passwords, not about a
strength score, so this rule refuses what people really pick and attackers try first, and
lets everything else through:

- a password on the list of common passwords (Django's list of 20,000, in any case);
- one that holds the person's own name, unit code, login name or e-mail;
- the same few characters repeated (``Aa1!Aa1!``);
- one built from a single dictionary word, a year or date, a keyboard pattern (``1qaz``,
  ``zxcv``), a repeated character or a counted run of digits, and the single symbols that
  glue them, with at most three other characters around them (``Taipei#2026``,
  ``P@ssw0rd1!``, ``Summer!85``), or a dictionary word with at most five digits and
  symbols around it (``!!Dragon99``).

What is left over counts: a password with enough characters that one word and such patterns
do not explain passes (``Qm7$vLx2``), and so does a password of several unrelated words
(``Harbor#Lantern-Tide82``), the advice the page gives.

The word list is one file, ``accounts/static/accounts/password-words.txt``, read here and
by the checklist under every new-password field (static/js/portal.js runs the same steps),
so the page ticks exactly what the server decides. Its sources are in its first lines.
"""

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

WORDS_FILE = Path(__file__).resolve().parent / "static" / "accounts" / "password-words.txt"

# Fewer characters than this outside the explained pieces: guessable.
MIN_UNEXPLAINED = 4
# A dictionary word with nothing but digits and symbols around it needs more of them.
MIN_AROUND_A_WORD = 6
# Dictionary words shorter than this are not looked up (random passwords hold them often).
MIN_WORD = 3
# A personal word (name, unit code, e-mail) shorter than this is not looked for; Chinese
# names are two or three characters, so they count from two.
MIN_PERSONAL = 3
MIN_PERSONAL_CJK = 2
# Keyboard walks of this many adjacent keys or more (``1qaz``, ``zxcv``, ``qwas``).
MIN_WALK = 4

# Letters people write as digits or symbols inside a word (p@ssw0rd). "1", "!" and "|" are
# read both as i and as l.
LEET = {"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "@": "a"}
LEET |= {"$": "s", "+": "t"}
LEET_I_OR_L = "1!|"

# Numbers that mean something in Taiwan (520 我愛你, 1314 一生一世, 168 一路發).
MEANINGFUL_NUMBERS = {"520", "521", "1314", "5201314", "168", "888", "666", "999", "777", "007"}

KEYBOARD_ROWS = ("`1234567890-=", "qwertyuiop[]\\", "asdfghjkl;'", "zxcvbnm,./")
KEYBOARD_SHIFTED = ("~!@#$%^&*()_+", "QWERTYUIOP{}|", 'ASDFGHJKL:"', "ZXCVBNM<>?")


@lru_cache(maxsize=1)
def known_words() -> frozenset[str]:
    """Common passwords and dictionary words, lowercase: the lines after the notes (which end
    at the first empty line)."""
    _notes, words = WORDS_FILE.read_text(encoding="utf-8").split("\n\n", 1)
    return frozenset(word for word in words.splitlines() if word)


def normalize_password(password: str) -> str:
    """NFKC: a password typed with a Chinese input method in full-width mode is the same
    password as in half width (NIST SP 800-63B 5.1.1.2)."""
    return unicodedata.normalize("NFKC", password or "")


def _keyboard_positions() -> dict[str, tuple[int, int]]:
    positions = {}
    for rows in (KEYBOARD_ROWS, KEYBOARD_SHIFTED):
        for row, keys in enumerate(rows):
            for column, key in enumerate(keys):
                positions[key] = (row, column)
    return positions


KEYBOARD = _keyboard_positions()


def _adjacent(a: str, b: str) -> bool:
    """Neighbouring keys on a QWERTY keyboard: beside each other on a row, or touching on
    the row below (columns c-1 and c) or above (c and c+1)."""
    if a not in KEYBOARD or b not in KEYBOARD:
        return False
    (row_a, col_a), (row_b, col_b) = KEYBOARD[a], KEYBOARD[b]
    if row_a == row_b:
        return abs(col_a - col_b) == 1
    if row_b == row_a + 1:
        return col_b in (col_a - 1, col_a)
    if row_b == row_a - 1:
        return col_b in (col_a, col_a + 1)
    return False


def _is_letter(char: str) -> bool:
    return char.isascii() and char.isalpha()


def _is_leet(char: str) -> bool:
    return char in LEET or char in LEET_I_OR_L


def _word_runs(password: str) -> list[tuple[int, int]]:
    """Spans of letters, with the digits and symbols people use for letters inside them
    (``P@ssw0rd``): from a letter to a letter, nothing but letters and such stand-ins."""
    runs, start, n = [], None, len(password)
    for i, char in enumerate(password + " "):
        if i < n and (_is_letter(char) or (_is_leet(char) and start is not None)):
            if start is None:
                start = i
            continue
        if start is not None:
            end = i
            while not _is_letter(password[end - 1]):  # a run ends on a letter
                end -= 1
            runs.append((start, end))
            start = None
    return runs


def _readings(chunk: str) -> set[str]:
    """The words a run may be: its letters, with stand-ins read as the letters they mimic."""
    lowered = chunk.lower()
    readings = set()
    for i_or_l in "il":
        readings.add("".join(LEET.get(c, i_or_l if c in LEET_I_OR_L else c) for c in lowered))
    return readings


def _is_word(chunk: str) -> bool:
    if len(chunk) < MIN_WORD:
        return False
    words = known_words()
    return any(reading in words for reading in _readings(chunk)) or _is_repeat(chunk.lower())


def _is_repeat(chunk: str) -> bool:
    """The same few characters again and again (``aaaa``, ``abab``, ``Aa1!Aa1!``)."""
    for size in range(1, len(chunk) // 2 + 1):
        if len(chunk) % size == 0 and chunk[:size] * (len(chunk) // size) == chunk:
            return True
    return False


def _is_year(digits: str) -> bool:
    return len(digits) == 4 and 1900 <= int(digits) <= 2099


def _month_day(digits: str) -> bool:
    return len(digits) == 4 and 1 <= int(digits[:2]) <= 12 and 1 <= int(digits[2:]) <= 31


def _day_month(digits: str) -> bool:
    return len(digits) == 4 and 1 <= int(digits[2:]) <= 12 and 1 <= int(digits[:2]) <= 31


def _is_date(digits: str) -> bool:
    """A year, or a date as people write it without separators: yyyymmdd, mmddyyyy,
    ddmmyyyy, yymmdd, mmddyy, ddmmyy, mmdd, and the Republic of China years (yyymmdd, e.g.
    1120315 for 2023-03-15; ROC year + 1911 = Western year)."""
    n = len(digits)
    if n == 4:
        return _is_year(digits) or _month_day(digits)
    if n == 6:
        return _month_day(digits[2:]) or _month_day(digits[:4]) or _day_month(digits[:4])
    if n == 7:  # ROC year of three digits
        return 1 <= int(digits[:3]) <= 150 and _month_day(digits[3:])
    if n == 8:
        return (_is_year(digits[:4]) and _month_day(digits[4:])) or (
            _is_year(digits[4:]) and (_month_day(digits[:4]) or _day_month(digits[:4]))
        )
    return False


def _is_counted(digits: str) -> bool:
    """Digits that count up or down or stand still (123, 9876, 000), or mean something."""
    if digits in MEANINGFUL_NUMBERS:
        return True
    if len(digits) < 3:
        return False
    steps = {int(b) - int(a) for a, b in zip(digits, digits[1:], strict=False)}
    return len(steps) == 1 and steps <= {-1, 0, 1}


# ASCII digits only, as in the browser's copy of this rule.
DATE_WITH_SEPARATORS = re.compile(
    r"\d{2,4}[-/._]\d{1,2}[-/._]\d{1,4}|\d{1,2}[-/._]\d{1,2}", re.ASCII
)
DIGITS = re.compile(r"\d+", re.ASCII)


def _digit_spans(password: str) -> list[tuple[int, int]]:
    spans = [m.span() for m in DATE_WITH_SEPARATORS.finditer(password)]
    for match in DIGITS.finditer(password):
        digits = match.group()
        if _is_date(digits) or _is_counted(digits):
            spans.append(match.span())
    return spans


def _walk_spans(password: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for i in range(1, len(password) + 1):
        if i < len(password) and _adjacent(password[i - 1], password[i]):
            continue
        if i - start >= MIN_WALK:
            spans.append((start, i))
        start = i
    return spans


def _repeat_spans(password: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r"(.)\1{2,}", password)]


def _explain_separators(password: str, explained: list[bool]) -> None:
    """A single symbol between explained pieces (or between one and an end) is glue, as in
    ``Taipei#2026`` or ``0312!1985``."""
    n = len(password)
    glue = [
        i
        for i, char in enumerate(password)
        if not explained[i]
        and not char.isalnum()
        and (i == 0 or explained[i - 1])
        and (i == n - 1 or explained[i + 1])
    ]
    for i in glue:
        explained[i] = True


def personal_words_found(password: str, personal_words) -> bool:
    """Whether the password holds one of the person's own words: name, unit code, login name,
    e-mail (case and width do not matter)."""
    lowered = normalize_password(password).lower()
    for word in personal_words:
        word = normalize_password(word).strip().lower()
        minimum = MIN_PERSONAL if word.isascii() else MIN_PERSONAL_CJK
        if len(word) >= minimum and word in lowered:
            return True
    return False


def is_common_or_guessable(password: str, personal_words=()) -> bool:
    """Rule 6: True when the password is common or guessable (see the module's text)."""
    password = normalize_password(password)
    lowered = password.lower()
    if lowered in known_words() or personal_words_found(password, personal_words):
        return True
    if _is_repeat(lowered):  # Aa1!Aa1!
        return True
    explained = [False] * len(password)
    words = set()
    for start, end in _word_runs(password):
        if _is_word(password[start:end]):
            words.add(password[start:end].lower())
            explained[start:end] = [True] * (end - start)
    if len(words) > 1:
        return False  # several words: the passphrase the advice asks for
    for start, end in _digit_spans(password) + _walk_spans(password) + _repeat_spans(password):
        explained[start:end] = [True] * (end - start)
    _explain_separators(password, explained)
    left = [char for char, known in zip(password, explained, strict=True) if not known]
    if words and not any(_is_letter(char) for char in left):
        return len(left) < MIN_AROUND_A_WORD  # Dragon!!99
    return len(left) < MIN_UNEXPLAINED
