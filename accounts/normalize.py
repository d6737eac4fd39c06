"""How what people type is made comparable: one place for every name, code and text."""

import unicodedata


def normalize_login_name(value: str | None) -> str:
    """What a person typed as a login name, as stored: NFKC (full-width to half-width), trimmed,
    lowercase. ``０１０３００＿Ｔｅｓｔ01 `` becomes ``010300_test01``. Unit codes are matched
    the same way."""
    return unicodedata.normalize("NFKC", value or "").strip().lower()


def same_text(a: str, b: str) -> bool:
    """Two typed texts (a name) are the same once full width is half width and the ends are
    trimmed."""
    return (
        unicodedata.normalize("NFKC", a or "").strip()
        == unicodedata.normalize("NFKC", b or "").strip()
    )
