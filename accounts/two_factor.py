"""The pieces of two-factor sign-in that hold no state: TOTP codes (pyotp: SHA-1, 6 digits,
30 s, as every authenticator app expects), the secret's encryption at rest (Fernet, keys from
the environment), recovery codes, and the QR code (drawn here by segno, so the secret never
leaves our server)."""

import hashlib
import hmac
import re
import secrets
import unicodedata
from functools import lru_cache

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils.crypto import constant_time_compare
from django.utils.safestring import SafeString, mark_safe

from accounts.models import hash_secret

DIGITS = 6
INTERVAL = 30
# One step either side: a phone whose clock is up to 30 s off still works.
TOLERANCE_STEPS = 1
RECOVERY_CODE_COUNT = 10
# 32 symbols without i, l, o and u, which are easy to misread; 12 of them carry 60 bits.
RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
RECOVERY_LENGTH = 12


# --- The secret ---------------------------------------------------------------------------


def new_secret() -> str:
    """160 random bits in base32, the length RFC 4226 recommends."""
    return pyotp.random_base32(length=32)


@lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def cipher() -> MultiFernet:
    return _cipher(tuple(settings.TWO_FACTOR_ENCRYPTION_KEYS))


def encrypt_secret(secret: str) -> str:
    return cipher().encrypt(secret.encode()).decode()


def decrypt_secret(token: str) -> str:
    try:
        return cipher().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise RuntimeError(
            "A two-factor secret cannot be decrypted: is its key still in "
            "TWO_FACTOR_ENCRYPTION_KEYS?"
        ) from error


def grouped(secret: str) -> str:
    """The secret as people type it from the screen: groups of four."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).provisioning_uri(
        name=username, issuer_name=settings.TWO_FACTOR_ISSUER
    )


def qr_svg(uri: str) -> SafeString:
    """The otpauth:// address as an inline SVG (no image request, no outside service). The
    markup is segno's: modules as one path, no text from the address in it."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=1, border=4, dark="#111", light="#fff", omitsize=True
    )
    return mark_safe(svg)  # noqa: S308 -- generated drawing, no user-controlled text


# --- Codes --------------------------------------------------------------------------------


# Letters a recovery code never holds, read as the digits they look like.
LOOKALIKES = str.maketrans({"o": "0", "i": "1", "l": "1"})


def normalize_code(value: str) -> str:
    """What someone typed: full-width characters folded, spaces and every kind of dash
    dropped, and o, i, l read as 0, 1, 1 (a recovery code has none of those letters)."""
    value = unicodedata.normalize("NFKC", value or "").lower()
    value = "".join(c for c in value if not c.isspace() and unicodedata.category(c) != "Pd")
    return value.translate(LOOKALIKES)


def is_totp_code(code: str) -> bool:
    return re.fullmatch(rf"\d{{{DIGITS}}}", code) is not None


def matching_step(secret: str, code: str, at) -> int | None:
    """The 30-second step whose code ``code`` is, within the tolerance around ``at``."""
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL)
    now = totp.timecode(at)
    for step in range(now - TOLERANCE_STEPS, now + TOLERANCE_STEPS + 1):
        if constant_time_compare(totp.generate_otp(step), code):
            return step
    return None


def code_at(secret: str, at) -> str:
    """The code an authenticator app shows at ``at`` (tests and the demo use it)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).at(at)


def new_recovery_codes() -> list[str]:
    """Ten codes such as ``7k2m-q9xh-3vdp``."""
    codes = []
    while len(codes) < RECOVERY_CODE_COUNT:
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        code = "-".join(raw[i : i + 4] for i in range(0, RECOVERY_LENGTH, 4))
        if code not in codes:
            codes.append(code)
    return codes


def _recovery_code(typed: str) -> str | None:
    code = normalize_code(typed)
    if len(code) != RECOVERY_LENGTH or any(c not in RECOVERY_ALPHABET for c in code):
        return None
    return code


def recovery_code_hash(account_id: int, typed: str) -> str | None:
    """The stored form of a typed recovery code, or None when it cannot be one: HMAC-SHA256
    keyed with RECOVERY_CODE_KEY, so a copy of the database alone is not enough to try the
    2^60 codes offline. The account is part of what is hashed, so one code's hash says
    nothing about another account's."""
    code = _recovery_code(typed)
    if code is None:
        return None
    message = f"portal.recovery-code:{account_id}:{code}".encode()
    return hmac.new(settings.RECOVERY_CODE_KEY.encode(), message, hashlib.sha256).hexdigest()


# Codes made before the keyed hash were stored as the unkeyed SHA-256 of ``pk:code``. The
# migration 0013 wrapped every code stored until then (old or keyed: the two cannot be told
# apart) in an HMAC under the same key, marked by this prefix.
WRAPPED_PREFIX = "w:"


def wrap_stored_recovery_code_hash(stored: str) -> str:
    """What migration 0013 made of a stored hash (keep in step with the migration)."""
    digest = hmac.new(
        settings.RECOVERY_CODE_KEY.encode(),
        f"portal.recovery-code.wrapped:{stored}".encode(),
        hashlib.sha256,
    ).hexdigest()
    return WRAPPED_PREFIX + digest


def stored_recovery_code_hashes(account_id: int, typed: str) -> list[str]:
    """Every form a typed recovery code may be stored in: the keyed hash, and the wrapped
    forms of the keyed hash and of the old unkeyed one. Empty when it cannot be a code."""
    keyed = recovery_code_hash(account_id, typed)
    if keyed is None:
        return []
    legacy = hash_secret(f"{account_id}:{_recovery_code(typed)}")
    return [keyed, wrap_stored_recovery_code_hash(keyed), wrap_stored_recovery_code_hash(legacy)]
