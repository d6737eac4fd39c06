from django.contrib.auth.hashers import Argon2PasswordHasher

from accounts.validators import password_too_long


class PortalArgon2PasswordHasher(Argon2PasswordHasher):
    """argon2id with explicit parameters: OWASP's minimum configuration (Password Storage
    Cheat Sheet: m=19 MiB, t=2, p=1), not Django's default (m=100 MiB, p=8).

    Why these and not more: every sign-in costs one verify, on the web worker that serves
    it. m=19 MiB, t=2 takes about 33 ms of one core on the development machine (README,
    SECURITY.md), so a core verifies about 30 sign-ins a second and memory per concurrent
    sign-in stays small.
    p=1 because a web worker handles one request at a time: more lanes would only take cores
    from the other sign-ins running beside it. Raising any parameter re-hashes each account
    at its next sign-in (Django's must_update), so this can be tightened later without a
    migration. It keeps the algorithm name "argon2" so stored hashes stay readable.

    The last guard of the 128-character limit (SECURITY.md): every form and the sign-in
    backend refuse a longer password first; should one still get here, it never matches
    and is never stored.
    """

    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1

    def encode(self, password, salt):
        if password_too_long(password):
            raise ValueError("A password over 128 characters is never hashed.")
        return super().encode(password, salt)

    def verify(self, password, encoded):
        if password_too_long(password):
            return False
        return super().verify(password, encoded)
