# Portal image: one image for the web server (gunicorn), the Celery worker and Celery beat.
#
#   web:     the default CMD (gunicorn on port 8000)
#   worker:  celery -A portal worker --loglevel INFO
#   beat:    celery -A portal beat --loglevel INFO --schedule /tmp/celerybeat-schedule
#   migrate: python manage.py migrate --noinput, with neither database timeout (a migration
#            on a large table is a long statement): DATABASE_URL ending in
#            ?options=-c%20statement_timeout%3D0 and DATABASE_CLIENT_TIMEOUT=0, as
#            docker-compose.yml's migrate service does (README, "DATABASE_URL and timeouts")
#
# Every setting comes from the environment at run time (see portal/settings.py and
# docker-compose.yml); nothing secret is baked into the image.

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # uv: use the image's own Python, never download one, put the venv at /app/.venv.
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    # Every process of the image runs without debug (the settings' default too): with
    # DEBUG=false it refuses to start without its own SECRET_KEY and keys.
    DEBUG=false

# espeak-ng reads the captcha aloud in Mandarin, its "cmn" voice (the "語音播放驗證碼" button;
# without it the forms only say whom to call).
RUN apt-get update && apt-get install -y --no-install-recommends espeak-ng \
    && rm -rf /var/lib/apt/lists/* \
    && pip install uv

WORKDIR /app

# Dependencies first, so this layer is reused while only the project's code changes.
COPY pyproject.toml uv.lock .python-version ./
RUN uv sync --frozen --no-dev

ENV PATH="/app/.venv/bin:${PATH}"

COPY . .

# Build-time only: DEBUG=false so collectstatic uses whitenoise's compressed manifest storage.
# These variables exist only for this RUN step and are not kept in the image; the key is a
# public dummy that is never used to sign anything. PORTAL_VAR_DIR points at a throwaway
# directory because, without DATABASE_URL, the settings create the SQLite directory.
# The OIDC signing key and the two-factor key made here are thrown away with the step; the
# running portal takes its own from the environment.
RUN DEBUG=false \
    SECRET_KEY=docker-build-only-dummy-secret-key-never-used-at-runtime-0000000 \
    ALLOWED_HOSTS=localhost \
    PORTAL_VAR_DIR=/tmp/build-var \
    RECOVERY_CODE_KEY=docker-build-only-dummy-recovery-code-key-never-used \
    sh -c 'export TWO_FACTOR_ENCRYPTION_KEYS="$(python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())")" \
        && export OIDC_RSA_PRIVATE_KEY="$(python -c "from cryptography.hazmat.primitives.asymmetric import rsa; from cryptography.hazmat.primitives import serialization as s; print(rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()).decode())")" \
        && python manage.py compile_translations \
        && python manage.py collectstatic --noinput \
        && rm -rf /tmp/build-var'

# Run as an unprivileged user. The code stays owned by root (read-only to the app); only
# var/ (embedded SQLite and mail files, used when DATABASE_URL / EMAIL_URL are unset) is
# writable.
RUN groupadd --system --gid 10001 portal \
    && useradd --system --uid 10001 --gid portal --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin portal \
    && mkdir -p /app/var \
    && chown portal:portal /app/var

USER portal

EXPOSE 8000

# --timeout 120: a 2,000-row CSV import runs about 25 s in the request on this machine.
CMD ["gunicorn", "portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120", "--access-logfile", "-"]
