from django.contrib.auth.hashers import Argon2PasswordHasher, PBKDF2PasswordHasher

from accounts.common_passwords import normalize_password
from accounts.validators import password_too_long


class PortalArgon2PasswordHasher(Argon2PasswordHasher):
    """argon2id with explicit parameters: OWASP's minimum configuration (Password Storage
    Cheat Sheet: m=19 MiB, t=2, p=1), not Django's default (m=100 MiB, p=8), of the password
    normalised with NFKC (full width = half width; NIST SP 800-63B 5.1.1.2).

    Why these and not more: every sign-in costs one verify, on the web worker that serves
    it. m=19 MiB, t=2 takes about 33 ms of one core on the development machine (README,
    SECURITY.md), so a core verifies about 30 sign-ins a second and memory per concurrent
    sign-in stays small.
    p=1 because a web worker handles one request at a time: more lanes would only take cores
    from the other sign-ins running beside it. Raising any parameter re-hashes each account
    at its next sign-in (Django's must_update), so this can be tightened later without a
    migration.

    Its name, "argon2nfkc", tells its hashes from the "argon2" ones made before passwords
    were normalised (LegacyArgon2PasswordHasher reads those, and the first sign-in re-hashes
    them with this one).

    The last guard of the 128-character limit (SECURITY.md): every form and the sign-in
    backend refuse a longer password first; should one still get here, it never matches
    and is never stored.
    """

    algorithm = "argon2nfkc"
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1

    def encode(self, password, salt):
        if password_too_long(password):
            raise ValueError("A password over 128 characters is never hashed.")
        return super().encode(normalize_password(password), salt)

    def verify(self, password, encoded):
        if password_too_long(password):
            return False
        return super().verify(normalize_password(password), encoded)


class _AsTypedOrNormalised:
    """A hash made before passwords were normalised holds the password as it was typed: a
    person who chose a password in full width and types it in full width again must still
    get in, and so must one who now types it in half width, if the hash was made of that.
    So both are tried (the second only when normalising changes what was typed). Django's
    check_password re-hashes the password with the preferred hasher at that sign-in, after
    which either width works."""

    def verify(self, password, encoded):
        if password_too_long(password):
            return False
        normalised = normalize_password(password)
        if super().verify(normalised, encoded):
            return True
        return normalised != password and super().verify(password, encoded)


class LegacyArgon2PasswordHasher(_AsTypedOrNormalised, Argon2PasswordHasher):
    """Reads the "argon2" hashes made before issue 16 (same parameters as above)."""

    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1


class LegacyPBKDF2PasswordHasher(_AsTypedOrNormalised, PBKDF2PasswordHasher):
    """Reads Django's default hashes, should any account still carry one."""
