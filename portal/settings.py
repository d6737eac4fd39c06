"""Settings for the portal, read from the environment.

Secure by default: DEBUG is false unless set, and then the placeholder key and the keys made
under var/ are refused, so a deployed process without its secrets does not start. `make run`,
the test suite (tests/settings.py) and the demo set DEBUG=true; with that and nothing else
the portal runs embedded: SQLite under var/, Celery tasks run eagerly in-process, mail is
printed to the console and kept as .eml files under var/mail/. DATABASE_URL, REDIS_URL and
EMAIL_URL switch to the real services; the README lists every variable. Parsing is strict: a
boolean that is not a boolean stops the start-up.
"""

import os
import re
import secrets
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from portal.env import env_bool, env_float, env_int, env_list, env_str, parse_email_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PORTAL_VAR_DIR", str(BASE_DIR / "var")))

PLACEHOLDER_SECRET_KEY = "insecure-placeholder-for-the-embedded-default-only"
# Off unless asked for: only `make run` and the test suite turn it on (issue 13).
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", PLACEHOLDER_SECRET_KEY)
if not DEBUG and (SECRET_KEY == PLACEHOLDER_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured(
        "Set SECRET_KEY to a random value of at least 50 characters when DEBUG=false "
        '(python -c "import secrets; print(secrets.token_urlsafe(64))").'
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Absolute address of the portal, used for links in mail (mail is sent outside requests).
PORTAL_BASE_URL = env_str("PORTAL_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "axes",
    "captcha",
    "oauth2_provider",
    "schools",
    "accounts",
    "mail",
    "announcements",
    "stations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "portal.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "portal.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.IdleTimeoutMiddleware",
    "accounts.middleware.RequiredActionsMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
CSRF_FAILURE_VIEW = "portal.views.csrf_failure"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
            ],
            "libraries": {
                "portal": "portal.templatetags",
                # What helpdesk sees of the stations on an account's admin page.
                "station_care": "stations.care",
            },
        },
    },
]

# Widgets render with the project's templates too (the captcha widget lives in templates/);
# plain <input> widgets are drawn in Python, with the same markup (portal/forms.py).
FORM_RENDERER = "portal.forms.PortalFormRenderer"

# --- Database -------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60), conn_health_checks=True
        )
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # A PostgreSQL that does not answer must cost seconds, not hang a worker until
        # gunicorn's timeout. Each default can be changed in DATABASE_URL's query string,
        # e.g. ?connect_timeout=5&options=-c%20statement_timeout%3D60s (README).
        _options = DATABASES["default"].setdefault("OPTIONS", {})
        _options.setdefault("connect_timeout", 3)  # seconds, the whole connection set-up
        if "statement_timeout" not in str(_options.get("options", "")):
            _options["options"] = f"-c statement_timeout=15s {_options.get('options', '')}".strip()
        # A server host that vanishes (network, a dead VM): the kernel gives up in seconds.
        _options.setdefault("keepalives", 1)
        _options.setdefault("keepalives_idle", 10)
        _options.setdefault("keepalives_interval", 5)
        _options.setdefault("keepalives_count", 3)
        _options.setdefault("tcp_user_timeout", 10000)  # milliseconds
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "portal.sqlite3",
            "OPTIONS": {"timeout": 20},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def statement_timeout_seconds(options: str) -> float:
    """The statement_timeout set in libpq's `options` ("-c statement_timeout=60s"), in
    seconds; 0 when it is off or not set. Units as PostgreSQL's: ms (also without a unit),
    s, min, h."""
    found = re.search(r"statement_timeout\s*=\s*(\S+)", options)
    if not found:
        return 0
    value = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|min|h)?", found[1])
    if not value:
        raise ImproperlyConfigured(
            f"statement_timeout={found[1]!r} in DATABASE_URL is not a time (e.g. 15s, 500ms)"
        )
    return float(value[1]) * {"ms": 0.001, "s": 1, "min": 60, "h": 3600}[value[2] or "ms"]


# A server that is frozen (stopped, not down) still has its kernel acknowledge every packet:
# a query that has had no answer for this many seconds is ended from here
# (portal/db_watchdog.py); 0 turns it off. Above statement_timeout, so the server ends slow
# queries first: by default 5 s above it, and off when the statement timeout is.
STATEMENT_TIMEOUT = 0.0
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    STATEMENT_TIMEOUT = statement_timeout_seconds(DATABASES["default"]["OPTIONS"]["options"])
DATABASE_CLIENT_TIMEOUT = env_float(
    "DATABASE_CLIENT_TIMEOUT", STATEMENT_TIMEOUT + 5 if STATEMENT_TIMEOUT else 0
)
if 0 < DATABASE_CLIENT_TIMEOUT <= STATEMENT_TIMEOUT:
    raise ImproperlyConfigured(
        f"DATABASE_CLIENT_TIMEOUT={DATABASE_CLIENT_TIMEOUT:g} must be above the statement "
        f"timeout of DATABASE_URL ({STATEMENT_TIMEOUT:g} s), or 0 (off): it would end queries "
        "the server still allows"
    )

# --- Redis: cache, sessions, Celery broker --------------------------------------------
REDIS_URL = env_str("REDIS_URL")
# A page waits at most this long for a Redis that hangs, once: then the cache's circuit
# breaker skips Redis for a while (portal/cache.py, portal/breaker.py).
CACHE_REDIS_OPTIONS = {
    "socket_connect_timeout": env_float("REDIS_CONNECT_TIMEOUT", 0.5),
    "socket_timeout": env_float("REDIS_TIMEOUT", 0.5),
}
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "portal.cache.PortalRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": CACHE_REDIS_OPTIONS,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Template fragments that are a pure function of the values they are keyed on ({% cache %}
# with those values), in each process's memory: never stale, gone at the next deploy.
CACHES["fragments"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "fragments",
    "OPTIONS": {"MAX_ENTRIES": 10000},
}
# Sessions live in the database only: with Redis down people can still sign in.
SESSION_ENGINE = "accounts.sessions"

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "Asia/Taipei"
# Retried mail waits in the worker with an ETA. Redis hands an unacknowledged task to another
# worker after the visibility timeout, so the retry delays must stay well under it: 15.5
# minutes in all against one hour (a test holds this).
OUTBOX_RETRY_DELAYS = (30, 60, 120, 240, 480)
# After one failure to reach Redis (the cache or the broker), skip it for this many seconds,
# then let one call through as a trial (portal/breaker.py). Per process, per use.
CIRCUIT_BREAKER_OPEN_SECONDS = env_float("CIRCUIT_BREAKER_OPEN_SECONDS", 30)
# /healthz (readiness) keeps its answer this long per process (seconds), so load balancers
# probing every second or two do not each open a database connection (portal/views.py).
HEALTHZ_CACHE_SECONDS = env_float("HEALTHZ_CACHE_SECONDS", 2)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    # Publishing a task (after a commit, in the request) waits at most this long for a Redis
    # that hangs; the worker's BRPOP (1 s) is read only once Redis has answered.
    "socket_connect_timeout": env_float("REDIS_CONNECT_TIMEOUT", 0.5),
    "socket_timeout": env_float("REDIS_TIMEOUT", 0.5),
}
CELERY_BROKER_CONNECTION_TIMEOUT = env_float("REDIS_CONNECT_TIMEOUT", 0.5)
# A request that queues mail must not hang when the broker is down or hangs: try once more
# at once (a pooled connection may just be stale), then the broker's circuit breaker opens
# and the row waits for the outbox sweep (mail/outbox.py dispatch).
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "sweep-outbox": {"task": "mail.tasks.sweep_outbox", "schedule": 60.0},
    # The public forms' requests kept while the broker was down (public_request_sweep.py).
    "sweep-public-requests": {"task": "accounts.tasks.sweep_public_requests", "schedule": 60.0},
    "clean-captchas": {"task": "accounts.tasks.clean_expired_captchas", "schedule": 3600.0},
    # Expired sessions stay in accounts_session until deleted (Django's clearsessions).
    "clear-sessions": {"task": "accounts.tasks.clear_expired_sessions", "schedule": 3600.0},
    # Stations' logout tokens the broker never delivered, or whose worker was lost.
    "sweep-station-logouts": {"task": "stations.tasks.sweep_station_logouts", "schedule": 60.0},
    # Sign-on records and logout records older than anything they still serve.
    "clear-station-records": {"task": "stations.tasks.clear_station_records", "schedule": 3600.0},
    # CSV imports whose worker was lost (or whose task the broker never took) go on.
    "resume-account-imports": {"task": "schools.tasks.resume_account_imports", "schedule": 60.0},
    # The yearly account review: reminders to holders, and at the end the automatic disabling.
    "advance-account-reviews": {"task": "schools.tasks.advance_account_reviews", "schedule": 900.0},
    # Sub-account requests nobody decided within 30 days.
    "expire-sub-account-requests": {
        "task": "schools.tasks.expire_sub_account_requests",
        "schedule": 3600.0,
    },
}
# A running CSV import whose last chunk committed longer ago than this lost its worker: the
# beat task above hands it to another (schools/services/import_jobs.py).
ACCOUNT_IMPORT_LEASE_SECONDS = env_int("ACCOUNT_IMPORT_LEASE_SECONDS", 120)

# --- Mail -----------------------------------------------------------------------------
EMAIL_URL = env_str("EMAIL_URL")
if EMAIL_URL:
    globals().update(parse_email_url(EMAIL_URL))
else:
    EMAIL_BACKEND = "mail.backends.ConsoleAndFileBackend"
EMAIL_FILE_PATH = VAR_DIR / "mail"
# Seconds to wait for the relay: EMAIL_CONNECT_TIMEOUT to open the connection (a relay that
# does not answer that is down: try again soon), EMAIL_TIMEOUT for each command and the
# reply to DATA, EMAIL_DATA_TIMEOUT for the answer to the end of DATA, which RFC 5321
# (4.5.3.2) lets the relay give for up to 10 minutes: giving up sooner makes a slow relay
# deliver the same mail again.
EMAIL_CONNECT_TIMEOUT = env_int("EMAIL_CONNECT_TIMEOUT", 10)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 60)
EMAIL_DATA_TIMEOUT = env_int("EMAIL_DATA_TIMEOUT", 600)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "資料填報整合平臺 <noreply@portal.example.tw>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Every outbox row gets one Message-ID, kept on the row and sent on every try, so a relay or
# mailbox can drop a repeat. Its right-hand side is the platform's mail domain, never the
# container's host name.
_from_address = parseaddr(DEFAULT_FROM_EMAIL)[1]
EMAIL_MESSAGE_ID_DOMAIN = env_str(
    "EMAIL_MESSAGE_ID_DOMAIN", _from_address.rpartition("@")[2] if "@" in _from_address else ""
)
if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?", EMAIL_MESSAGE_ID_DOMAIN):
    raise ImproperlyConfigured(
        f"DEFAULT_FROM_EMAIL={DEFAULT_FROM_EMAIL!r} gives no mail domain for the Message-ID "
        f"(got {EMAIL_MESSAGE_ID_DOMAIN!r}): give it an address with @, or set "
        "EMAIL_MESSAGE_ID_DOMAIN (e.g. portal.example.tw)."
    )
# A row stays "sending" while a worker sends it. One still sending after this many seconds
# lost its worker (killed, or its database went away): the sweep sends it once more. No sum
# of timeouts bounds a send (each wait restarts with every byte a slow relay feeds): the
# send task's time limits do, 60 s (hard) and 90 s (soft) before the lease (prefork pool).
OUTBOX_SENDING_LEASE = env_int("OUTBOX_SENDING_LEASE", EMAIL_DATA_TIMEOUT + 10 * EMAIL_TIMEOUT)
OUTBOX_SEND_TIME_LIMIT = max(OUTBOX_SENDING_LEASE - 60, 2)
OUTBOX_SEND_SOFT_TIME_LIMIT = max(OUTBOX_SEND_TIME_LIMIT - 30, 1)
# A retried send waits in its worker, unacknowledged, for its delay, then runs up to its time
# limit: Redis hands it to a second worker if that outlasts the visibility timeout.
if (
    max(OUTBOX_RETRY_DELAYS) + OUTBOX_SEND_TIME_LIMIT
    >= CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
):
    raise ImproperlyConfigured(
        f"OUTBOX_SENDING_LEASE={OUTBOX_SENDING_LEASE} is too long: the longest retry delay "
        f"({max(OUTBOX_RETRY_DELAYS)} s) plus the send's time limit ({OUTBOX_SEND_TIME_LIMIT} s,"
        " the lease less 60) must stay under the broker's visibility timeout "
        f"({CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout']} s)."
    )

# --- Accounts, passwords, sign-in -----------------------------------------------------
AUTH_USER_MODEL = "accounts.Account"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

AUTHENTICATION_BACKENDS = [
    # Refuses locked login names before a password is checked.
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.AccountBackend",
]

PASSWORD_HASHERS = [
    "accounts.hashers.PortalArgon2PasswordHasher",
    # Hashes made before passwords were normalised (issue 16); re-hashed at the next sign-in.
    "accounts.hashers.LegacyArgon2PasswordHasher",
    "accounts.hashers.LegacyPBKDF2PasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "accounts.validators.LengthValidator"},
    {"NAME": "accounts.validators.CharacterClassValidator"},
    {"NAME": "accounts.validators.PasswordHistoryValidator"},
    {"NAME": "accounts.validators.LoginNameValidator"},
    {"NAME": "accounts.validators.SequenceValidator"},
    {"NAME": "accounts.validators.GuessabilityValidator"},
]

# Lockout (SPEC section 3, SECURITY.md). Per login name, never per address: a whole school
# signs in from one address. The lock runs 15 minutes from the third failure; attempts made
# while locked neither count nor extend it.
AXES_FAILURE_LIMIT = 3
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_USERNAME_CALLABLE = "accounts.lockout.username_for_lockout"
AXES_HANDLER = "accounts.lockout.PerLoginNameHandler"
AXES_LOCKOUT_CALLABLE = "accounts.views.sign_in.lockout_response"
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_DISABLE_ACCESS_LOG = True  # the security event log records every sign-in
AXES_VERBOSE = False
AXES_SENSITIVE_PARAMETERS = ["username", "password", "captcha_0", "captcha_1", "code"]

SET_PASSWORD_LINK_HOURS = env_int("SET_PASSWORD_LINK_HOURS", 72)
PASSWORD_RESET_CODE_MINUTES = 60
PASSWORD_RESET_CODE_TRIES = 5
PASSWORD_RESET_RESEND_SECONDS = 60
EMAIL_CHANGE_LINK_HOURS = env_int("EMAIL_CHANGE_LINK_HOURS", 24)
# Force a password change at sign-in when the password is older than this (seed 002 uses
# 90 days). 0 turns the age rule off; a password that breaks the current policy is always
# changed at sign-in.
PASSWORD_MAX_AGE_DAYS = env_int("PASSWORD_MAX_AGE_DAYS", 0)
# Raise this when a rule of the password policy (accounts/validators.py) gets stricter: every
# password is then checked again against the policy at its next sign-in.
# 2 (issue 16): rule 6 refuses common and guessable passwords instead of a zxcvbn score.
PASSWORD_POLICY_VERSION = 2
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 30)
# However active, a session ends this many hours after its sign-in (accounts/middleware.py).
SESSION_ABSOLUTE_HOURS = env_int("SESSION_ABSOLUTE_HOURS", 12)
if SESSION_ABSOLUTE_HOURS < 1:
    raise ImproperlyConfigured("SESSION_ABSOLUTE_HOURS must be at least 1")
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_HOURS * 60 * 60  # the cookie lasts no longer
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- OpenID Connect provider (stations sign in through the portal) -----------------------


def _generated_under_var(filename: str, make) -> str:
    """A key the embedded default keeps under var/ (0600), made on first start by ``make``;
    the first process to start writes it, the others read that one."""
    path = VAR_DIR / filename
    if not path.exists():
        content = make()
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(content)
    return path.read_text().strip()


def _new_rsa_key() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _oidc_signing_key() -> str:
    """RS256 signing key: OIDC_RSA_PRIVATE_KEY (PEM; "\\n" accepted for newlines) in
    production; the embedded default generates one under var/ on first start."""
    pem = env_str("OIDC_RSA_PRIVATE_KEY")
    if pem:
        return pem.replace("\\n", "\n")
    if not DEBUG:
        raise ImproperlyConfigured(
            "Set OIDC_RSA_PRIVATE_KEY to an RSA private key in PEM form when DEBUG=false "
            "(openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048)."
        )
    return _generated_under_var("oidc-signing-key.pem", _new_rsa_key)


OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"  # stations.StationSignOn points at it
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": _oidc_signing_key(),
    "OAUTH2_VALIDATOR_CLASS": "stations.oidc.StationValidator",
    # One issuer whatever Host a station uses, in discovery, ID tokens and the `iss` of
    # authorization responses (RFC 9207).
    "OIDC_ISS_ENDPOINT": f"{PORTAL_BASE_URL}/o",
    "PKCE_REQUIRED": True,
    "SCOPES": {
        "openid": "OpenID Connect",
        "profile": "個人資料",
        "email": "公務信箱",
        "phone": "電話",
    },
    "DEFAULT_SCOPES": ["openid"],
    # Lifetimes, set on purpose: a code is exchanged at once; a station keeps its own
    # session after sign-in, so tokens are short.
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 600,
    "ID_TOKEN_EXPIRE_SECONDS": 300,
    "REFRESH_TOKEN_EXPIRE_SECONDS": 8 * 3600,
    "ROTATE_REFRESH_TOKEN": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"] if DEBUG else ["https"],
    # OAuth 2.0 Security BCP (RFC 9700), every gate on: no implicit or password grant,
    # S256 PKCE only, tokens only in headers, `iss` in authorization responses, tokens
    # stored hashed, refresh-token replay revokes the whole family.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": not DEBUG,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
}
# /o/token/ (and /o/revoke_token/) check the client secret with argon2 (about 40 ms of a
# core). A secret a process has verified once is then checked by an HMAC in that process's
# memory, so an honest station costs one slow check per process; every other slow check (a
# wrong secret always is one) is counted per address and per client from that address, and
# refused with 429 over these django-ratelimit rates. They cap the hashing one address can
# cause at one verify a second, a sliver of two cores, and never touch an honest station's
# exchanges or refreshes, however busy (stations/oidc.py).
OIDC_TOKEN_RATE_PER_CLIENT = env_str("OIDC_TOKEN_RATE_PER_CLIENT", "30/m")
OIDC_TOKEN_RATE_PER_ADDRESS = env_str("OIDC_TOKEN_RATE_PER_ADDRESS", "60/m")
for _name in ("OIDC_TOKEN_RATE_PER_CLIENT", "OIDC_TOKEN_RATE_PER_ADDRESS"):
    if not re.fullmatch(r"[1-9][0-9]*/([1-9][0-9]*)?[smhd]", globals()[_name]):
        raise ImproperlyConfigured(f"{_name} must be a rate such as 30/m (count/[n]s|m|h|d).")
# Back-channel logout (stations/backchannel.py): when a portal session ends, each station
# that received tokens in it gets a logout token by POST from a Celery task. Seconds to wait
# for a station (connecting, and each read); the tries after a failure wait these delays
# (38 minutes in all, well under the broker's visibility timeout); a send still "sending"
# after the lease lost its worker and the sweep sends it again.
BACKCHANNEL_LOGOUT_TIMEOUT = env_float("BACKCHANNEL_LOGOUT_TIMEOUT", 5)
BACKCHANNEL_LOGOUT_RETRY_DELAYS = (30, 60, 120, 300, 600, 1200)
BACKCHANNEL_LOGOUT_SEND_TIME_LIMIT = int(6 * BACKCHANNEL_LOGOUT_TIMEOUT) + 10
BACKCHANNEL_LOGOUT_SENDING_LEASE = BACKCHANNEL_LOGOUT_SEND_TIME_LIMIT + 60
if (
    max(BACKCHANNEL_LOGOUT_RETRY_DELAYS) + BACKCHANNEL_LOGOUT_SEND_TIME_LIMIT
    >= CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
):
    raise ImproperlyConfigured(
        f"BACKCHANNEL_LOGOUT_TIMEOUT={BACKCHANNEL_LOGOUT_TIMEOUT} is too long: the longest "
        "retry delay plus the send's time limit must stay under the broker's visibility "
        "timeout."
    )
# The demo station (/demo-station/) lets a newcomer try single sign-on on the embedded default.
DEMO_STATION_ENABLED = env_bool("DEMO_STATION_ENABLED", DEBUG)

# --- Two-factor sign-in (TOTP, seed 002) -------------------------------------------------


def _two_factor_keys() -> list[str]:
    """Fernet keys that encrypt the TOTP secrets at rest: TWO_FACTOR_ENCRYPTION_KEYS, comma-
    separated, the first encrypts and all decrypt (add a new key in front to rotate, then run
    ``manage.py rotate_two_factor_key``). The embedded default keeps one under var/."""
    from cryptography.fernet import Fernet

    keys = env_list("TWO_FACTOR_ENCRYPTION_KEYS", [])
    if not keys:
        if not DEBUG:
            raise ImproperlyConfigured(
                "Set TWO_FACTOR_ENCRYPTION_KEYS to a Fernet key when DEBUG=false (python -c "
                '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())").'
            )
        keys = [_generated_under_var("two-factor-key", Fernet.generate_key)]
    for key in keys:
        try:
            Fernet(key)
        except ValueError as error:
            raise ImproperlyConfigured(
                "TWO_FACTOR_ENCRYPTION_KEYS holds a value that is not a Fernet key "
                "(32 url-safe base64-encoded bytes)."
            ) from error
    return keys


TWO_FACTOR_ENCRYPTION_KEYS = _two_factor_keys()


def _recovery_code_key() -> str:
    """The HMAC key recovery codes are stored under: RECOVERY_CODE_KEY, 32 characters or more.
    Changing it makes every unused recovery code stop working. The embedded default keeps
    one under var/."""
    key = env_str("RECOVERY_CODE_KEY")
    if not key:
        if not DEBUG:
            raise ImproperlyConfigured(
                "Set RECOVERY_CODE_KEY to a random value of at least 32 characters when "
                'DEBUG=false (python -c "import secrets; print(secrets.token_urlsafe(32))").'
            )
        key = _generated_under_var("recovery-code-key", lambda: secrets.token_urlsafe(32).encode())
    if len(key) < 32:
        raise ImproperlyConfigured("RECOVERY_CODE_KEY must be at least 32 characters long.")
    return key


RECOVERY_CODE_KEY = _recovery_code_key()
# Admin-side accounts and staff must bind two-factor at their next sign-in; this extends the
# rule to every school's main-account holder.
TWO_FACTOR_REQUIRED_FOR_MAIN_ACCOUNTS = env_bool("TWO_FACTOR_REQUIRED_FOR_MAIN_ACCOUNTS", False)
# The name authenticator apps show next to the account.
TWO_FACTOR_ISSUER = env_str("TWO_FACTOR_ISSUER", "資料填報整合平臺")
# How long the code step may take after the password was accepted.
TWO_FACTOR_STEP_MINUTES = 5

# --- Captcha --------------------------------------------------------------------------
CAPTCHA_CHALLENGE_FUNCT = "accounts.captcha.six_digit_challenge"
CAPTCHA_LENGTH = 6
CAPTCHA_TIMEOUT = 15  # minutes: a teacher typing a long form should not lose it
CAPTCHA_IMAGE_SIZE = (150, 44)
CAPTCHA_FONT_SIZE = 30
CAPTCHA_LETTER_ROTATION = (-20, 20)
CAPTCHA_NOISE_FUNCTIONS = ("captcha.helpers.noise_dots",)
# The audio alternative is ours (accounts/captcha.py, /captcha/audio/<key>.wav): espeak-ng
# reads the digits in Mandarin and the page plays them. simple-captcha's own (flite, English,
# served as a download) stays off.
CAPTCHA_FLITE_PATH = None
CAPTCHA_SPEECH_PROGRAM = env_str("CAPTCHA_SPEECH_PROGRAM", "espeak-ng")
CAPTCHA_SPEECH_TIMEOUT = env_float("CAPTCHA_SPEECH_TIMEOUT", 5.0)  # seconds
# CAPTCHA_TEST_MODE is never set here: tests patch captcha.conf.settings directly.

# --- Language and time ----------------------------------------------------------------
LANGUAGE_CODE = "zh-hant"
LANGUAGES = [("zh-hant", "繁體中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates in each language's own way: 2025-03-01 09:30, or 1 Mar 2025, 09:30 in English.
FORMAT_MODULE_PATH = ["portal.formats"]
TIME_ZONE = "Asia/Taipei"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# The embedded default serves straight from static/ (no collectstatic needed); production
# serves the hashed, compressed copies collectstatic made.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Uploaded files -------------------------------------------------------------------
# Announcement attachments are kept here under generated names. There is no MEDIA_URL: each
# file is served by a view that checks who may read its announcement. Several web processes
# (or hosts) must share this directory (docker-compose.yml mounts one volume into each).
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# The largest attachment an author may add, in megabytes.
ATTACHMENT_MAX_MB = env_int("ATTACHMENT_MAX_MB", 20)
if ATTACHMENT_MAX_MB < 1:
    raise ImproperlyConfigured("ATTACHMENT_MAX_MB must be at least 1")

# --- Security headers (production) ----------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# How many reverse proxies in front of the app append to X-Forwarded-For (0: use
# REMOTE_ADDR). Used for the security log and the per-address rate limits.
PROXY_COUNT = env_int("PROXY_COUNT", 0)
RATELIMIT_USE_CACHE = "default"
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

# --- Helpdesk contact (shown on pages and in mail) ------------------------------------
HELPDESK_PHONE = env_str("HELPDESK_PHONE", "049-2910960 #3765, #3971")
HELPDESK_EMAIL = env_str("HELPDESK_EMAIL", "helpdesk@portal.example.tw")
PLATFORM_NAME = _("全國高級中等學校資料填報整合平臺與實名制管理系統")

# Passkeys (WebAuthn, SPEC section 3) are a way in without the captcha (WCAG 3.3.8). The login
# page says so only once they exist: the work that builds them turns this on, with its sign-in.
PASSKEYS_AVAILABLE = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

# axes.W006 asks for the IP address among the lockout parameters. We lock per login name on
# purpose: a whole school signs in from one address (SPEC section 3, SECURITY.md).
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
