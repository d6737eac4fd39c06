"""The stock peer of issue 19: a plain django-allauth project, as its documentation sets one
up, that the portal's password sign-in is measured against in the same run (bench/run).

Only what a deployment of it needs differs from allauth's defaults, and each is the same as
the portal's in the benchmark: production mode behind the same TLS proxy (one trusted
X-Forwarded-For entry, for its per-address rate limits as for the portal's), PostgreSQL on
the same server (its own database, BENCH_PEER_DATABASE), Redis as its cache (allauth keeps
its rate limits there), sessions in the database, and the same argon2id parameters as the
portal's hasher. Nothing of the portal is imported here.
"""

import os

import dj_database_url

DEBUG = False
SECRET_KEY = os.environ["SECRET_KEY"]
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "bench.peer.urls"
WSGI_APPLICATION = None

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "allauth",
    "allauth.account",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# The same server as the portal's, its own database, the same connection reuse (60 s).
DATABASES = {
    "default": dj_database_url.parse(
        os.environ["PEER_DATABASE_URL"], conn_max_age=60, conn_health_checks=True
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["REDIS_URL"],
        "KEY_PREFIX": "peer",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
# The portal's argon2id parameters (accounts/hashers.py): m=19 MiB, t=2, p=1.
PASSWORD_HASHERS = ["bench.peer.hashers.Argon2idAsThePortal"]

ACCOUNT_LOGIN_METHODS = {"username"}
LOGIN_REDIRECT_URL = "/"
# Behind the same TLS proxy as the portal (BEHIND_TLS_PROXY=true, PROXY_COUNT=1 there).
ALLAUTH_TRUSTED_PROXY_COUNT = 1
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = [os.environ["PEER_ORIGIN"]]

LANGUAGE_CODE = "zh-hant"
TIME_ZONE = "Asia/Taipei"
USE_TZ = True
STATIC_URL = "/static/"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
