from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idAsThePortal(Argon2PasswordHasher):
    """argon2id with the portal's parameters (accounts/hashers.py), so both sides of the
    comparison verify the same work per sign-in. bench/report.py reads the parameters back
    from a hash each side made and says whether they match."""

    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
