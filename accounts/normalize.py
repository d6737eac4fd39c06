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


def has_unit_prefix(typed: str | None) -> bool:
    """Whether a typed login name has the ``CODE_`` in front that every school account's
    name has. Decided from what was typed alone, never from whether an account exists."""
    return "_" in normalize_login_name(typed)


def without_unit_prefix(local_part: str | None, unit_code: str) -> str:
    """A local part as a holder may type it on the create form, with the unit's own prefix
    (``010300_test03``): the part after it, normalised. Anything else is returned as is."""
    local_part = normalize_login_name(local_part)
    prefix = f"{normalize_login_name(unit_code)}_"
    return local_part[len(prefix) :] if local_part.startswith(prefix) else local_part
