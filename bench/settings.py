"""Production settings for the benchmark (bench/run), plus only what a benchmark needs.

Everything comes from portal.settings with DEBUG=false and the environment that bench/run
sets, exactly as a deployment behind a TLS proxy runs (BEHIND_TLS_PROXY=true: the load
generator plays the proxy and sends X-Forwarded-Proto: https, so SSL redirect, secure
cookies, HSTS and CSRF stay as in production). The additions:

- CAPTCHA_TEST_MODE: the answer "PASSED" is accepted, so a load generator can sign in.
  django-simple-captcha reads it when captcha.conf.settings is first imported, so it has to
  be set here; portal/settings.py never sets it.
- bench.middleware.QueryCountMiddleware (outermost): an X-Queries response header.
- bench.urls: the portal's URLs plus /bench/bare/, the floor every page is compared with.
- STATIC_ROOT under var/bench/, so collectstatic for the run leaves the work tree alone.
"""

import os
import warnings

from django.core.exceptions import ImproperlyConfigured

from portal.settings import *  # noqa: F403
from portal.settings import DATABASES, DEBUG, LOGGING, MIDDLEWARE, VAR_DIR

BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "portal_bench")
if DEBUG or DATABASES["default"]["NAME"] != BENCH_DATABASE:
    raise ImproperlyConfigured(
        "bench.settings is for bench/run only: DEBUG=false and the BENCH_DATABASE database "
        f"({BENCH_DATABASE})."
    )

CAPTCHA_TEST_MODE = True
# django-simple-captcha warns loudly about test mode with DEBUG off: here that is the point.
warnings.filterwarnings("ignore", message="CAPTCHA_TEST_MODE", category=RuntimeWarning)
LOGGING = {
    **LOGGING,
    "loggers": {**LOGGING["loggers"], "captcha.conf.settings": {"level": "CRITICAL"}},
}

ROOT_URLCONF = "bench.urls"
MIDDLEWARE = ["bench.middleware.QueryCountMiddleware", *MIDDLEWARE]
STATIC_ROOT = VAR_DIR / "bench" / "static"
