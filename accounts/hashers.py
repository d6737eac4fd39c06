from django.contrib.auth.hashers import Argon2PasswordHasher


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
    """

    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
