"""Settings read from the environment (SPEC section 15, STYLE "Settings"): each case starts
a fresh ``manage.py`` with its own environment, its var/ directory in a temporary folder."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from portal.env import parse_email_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Whatever the developer's shell or CI set must not leak into a case.
CONFIGURATION = (
    "DATABASE_URL",
    "DATABASE_CLIENT_TIMEOUT",
    "REDIS_URL",
    "EMAIL_URL",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "PORTAL_BASE_URL",
    "BEHIND_TLS_PROXY",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "OIDC_RSA_PRIVATE_KEY",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    # pytest-django exports tests.settings, which turns debug on: a case runs the real ones.
    "DJANGO_SETTINGS_MODULE",
    "TWO_FACTOR_ENCRYPTION_KEYS",
    "RECOVERY_CODE_KEY",
    "DEFAULT_FROM_EMAIL",
    "EMAIL_MESSAGE_ID_DOMAIN",
    "EMAIL_CONNECT_TIMEOUT",
    "EMAIL_TIMEOUT",
    "EMAIL_DATA_TIMEOUT",
    "OUTBOX_SENDING_LEASE",
)


@pytest.fixture(scope="module")
def signing_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def manage(tmp_path, *args, **overrides):
    env = {key: value for key, value in os.environ.items() if key not in CONFIGURATION}
    env.update(PORTAL_VAR_DIR=str(tmp_path / "var"), **overrides)
    finished = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return finished.returncode, finished.stdout + finished.stderr


def test_with_debug_unset_the_portal_refuses_the_placeholder_key(tmp_path):
    code, output = manage(tmp_path, "check")

    assert code != 0
    assert "SECRET_KEY" in output


def test_with_debug_unset_debug_is_off(tmp_path, signing_key):
    code, output = manage(
        tmp_path,
        "shell",
        "-c",
        "from django.conf import settings; print('DEBUG is', settings.DEBUG)",
        SECRET_KEY=secrets.token_urlsafe(48),
        ALLOWED_HOSTS="portal.example.tw",
        OIDC_RSA_PRIVATE_KEY=signing_key,
        TWO_FACTOR_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        RECOVERY_CODE_KEY=secrets.token_urlsafe(32),
    )

    assert code == 0, output
    assert "DEBUG is False" in output


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    code, output = manage(tmp_path, "check", DEBUG="false")

    assert code != 0
    assert "SECRET_KEY" in output


def test_production_refuses_a_short_secret_key(tmp_path):
    code, output = manage(tmp_path, "check", DEBUG="false", SECRET_KEY="too-short-to-be-secret")

    assert code != 0
    assert "SECRET_KEY" in output


def test_production_refuses_to_start_without_an_oidc_signing_key(tmp_path):
    code, output = manage(tmp_path, "check", DEBUG="false", SECRET_KEY=secrets.token_urlsafe(48))
    assert code != 0
    assert "OIDC_RSA_PRIVATE_KEY" in output


def test_production_refuses_to_start_without_a_two_factor_key(tmp_path, signing_key):
    code, output = manage(
        tmp_path,
        "check",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(48),
        OIDC_RSA_PRIVATE_KEY=signing_key,
    )
    assert code != 0
    assert "TWO_FACTOR_ENCRYPTION_KEYS" in output


def test_a_two_factor_key_that_is_not_a_fernet_key_is_refused(tmp_path, signing_key):
    code, output = manage(
        tmp_path,
        "check",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(48),
        OIDC_RSA_PRIVATE_KEY=signing_key,
        TWO_FACTOR_ENCRYPTION_KEYS="not-a-key",
    )
    assert code != 0
    assert "not a Fernet key" in output


def test_production_refuses_to_start_without_a_recovery_code_key(tmp_path, signing_key):
    code, output = manage(
        tmp_path,
        "check",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(48),
        OIDC_RSA_PRIVATE_KEY=signing_key,
        TWO_FACTOR_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
    )
    assert code != 0
    assert "RECOVERY_CODE_KEY" in output


def test_the_deployment_checklist_passes_in_production(tmp_path, signing_key):
    code, output = manage(
        tmp_path,
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(48),  # 64 characters
        ALLOWED_HOSTS="portal.example.tw",
        OIDC_RSA_PRIVATE_KEY=signing_key.replace("\n", "\\n"),  # one line, as in an env file
        TWO_FACTOR_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        RECOVERY_CODE_KEY=secrets.token_urlsafe(32),
    )

    assert code == 0, output
    assert "no issues" in output


def test_a_typo_in_a_boolean_fails_loudly(tmp_path):
    code, output = manage(tmp_path, "check", DEBUG="ture")

    assert code != 0
    assert "DEBUG='ture' is not a boolean" in output


@pytest.mark.parametrize("rate", ["300/0m", "300", "many/m", "0/m"])
def test_a_token_endpoint_rate_that_is_no_rate_fails_loudly(tmp_path, rate):
    """A rate django-ratelimit cannot use (a zero window divides by zero) would turn the
    limit off without a word: the start-up refuses it."""
    code, output = manage(tmp_path, "check", DEBUG="true", OIDC_TOKEN_RATE_PER_CLIENT=rate)

    assert code != 0
    assert "OIDC_TOKEN_RATE_PER_CLIENT must be a rate" in output


@pytest.mark.parametrize("sender", ["Portal <noreply>", "noreply", "Portal <noreply@>"])
def test_a_sender_without_a_mail_domain_fails_loudly(tmp_path, sender):
    """The Message-ID's right-hand side comes from DEFAULT_FROM_EMAIL: with no domain in it
    every Message-ID would end in "@noreply>" (or worse)."""
    code, output = manage(tmp_path, "check", DEBUG="true", DEFAULT_FROM_EMAIL=sender)

    assert code != 0
    assert "EMAIL_MESSAGE_ID_DOMAIN" in output


def test_a_sender_without_a_domain_is_accepted_with_a_message_id_domain(tmp_path):
    code, output = manage(
        tmp_path,
        "shell",
        "-c",
        "from mail.models import new_message_id; print(new_message_id())",
        DEBUG="true",
        DEFAULT_FROM_EMAIL="Portal <noreply>",
        EMAIL_MESSAGE_ID_DOMAIN="portal.example.tw",
    )

    assert code == 0, output
    assert output.strip().endswith("@portal.example.tw>")


@pytest.mark.parametrize(
    "environment",
    [{"OUTBOX_SENDING_LEASE": "4000"}, {"EMAIL_DATA_TIMEOUT": "3600"}],
    ids=["lease", "data-timeout"],
)
def test_a_send_that_could_outlast_the_brokers_visibility_timeout_fails_loudly(
    tmp_path, environment
):
    """A retried send waits its delay in the worker, unacknowledged, then runs up to its time
    limit: past the visibility timeout Redis hands it to a second worker."""
    code, output = manage(tmp_path, "check", DEBUG="true", **environment)

    assert code != 0
    assert "visibility timeout" in output


# Reading the settings opens no connection: nothing listens on this port.
POSTGRES_URL = "postgres://portal@127.0.0.1:9/portal"
PRINT_CLIENT_TIMEOUT = "from django.conf import settings; print(settings.DATABASE_CLIENT_TIMEOUT)"


@pytest.mark.parametrize(
    ("query", "deadline"),
    [
        ("", 20),  # the portal's own statement_timeout=15s
        ("?options=-c%20statement_timeout%3D60s", 65),
        ("?options=-c%20statement_timeout%3D1min", 65),
        ("?options=-c%20statement_timeout%3D60000", 65),
        ("?options=-c%20statement_timeout%3D500ms", 5.5),
        ("?options=-c%20statement_timeout%3D0", 0),
    ],
    ids=["default", "seconds", "minutes", "plain-milliseconds", "milliseconds", "off"],
)
def test_the_client_deadline_follows_the_statement_timeout_of_the_database_url(
    tmp_path, query, deadline
):
    """A raised statement_timeout (README's example) must not leave the client deadline
    below it, where it would end the queries the server still allows."""
    code, output = manage(
        tmp_path,
        "shell",
        "-c",
        PRINT_CLIENT_TIMEOUT,
        DEBUG="true",
        DATABASE_URL=POSTGRES_URL + query,
    )

    assert code == 0, output
    assert float(output.split()[-1]) == deadline


@pytest.mark.parametrize("deadline", ["20", "60"])
def test_a_client_deadline_not_above_the_statement_timeout_fails_loudly(tmp_path, deadline):
    code, output = manage(
        tmp_path,
        "check",
        DEBUG="true",
        DATABASE_URL=POSTGRES_URL + "?options=-c%20statement_timeout%3D60s",
        DATABASE_CLIENT_TIMEOUT=deadline,
    )

    assert code != 0
    assert "DATABASE_CLIENT_TIMEOUT" in output
    assert "statement" in output


@pytest.mark.parametrize(
    ("statement_timeout", "deadline"), [("0", "3"), ("60s", "0")], ids=["no-statement", "no-client"]
)
def test_either_timeout_may_be_turned_off_on_its_own(tmp_path, statement_timeout, deadline):
    code, output = manage(
        tmp_path,
        "shell",
        "-c",
        PRINT_CLIENT_TIMEOUT,
        DEBUG="true",
        DATABASE_URL=f"{POSTGRES_URL}?options=-c%20statement_timeout%3D{statement_timeout}",
        DATABASE_CLIENT_TIMEOUT=deadline,
    )

    assert code == 0, output
    assert float(output.split()[-1]) == float(deadline)


def test_a_statement_timeout_that_is_no_time_fails_loudly(tmp_path):
    code, output = manage(
        tmp_path,
        "check",
        DEBUG="true",
        DATABASE_URL=POSTGRES_URL + "?options=-c%20statement_timeout%3D60sec",
    )

    assert code != 0
    assert "statement_timeout='60sec'" in output


def test_it_reads_a_starttls_mail_url():
    settings = parse_email_url("smtp+tls://user:p%40ss@mail.example.tw:587")

    assert settings["EMAIL_BACKEND"] == "mail.backends.SMTPBackend"
    assert settings["EMAIL_HOST"] == "mail.example.tw"
    assert settings["EMAIL_PORT"] == 587
    assert settings["EMAIL_HOST_USER"] == "user"
    assert settings["EMAIL_HOST_PASSWORD"] == "p@ss"
    assert settings["EMAIL_USE_TLS"] is True
    assert settings["EMAIL_USE_SSL"] is False


def test_it_reads_an_implicit_tls_mail_url_with_its_default_port():
    settings = parse_email_url("smtps://user:secret@mail.example.tw")

    assert settings["EMAIL_PORT"] == 465
    assert settings["EMAIL_USE_SSL"] is True
    assert settings["EMAIL_USE_TLS"] is False


def test_it_refuses_an_unknown_mail_scheme():
    with pytest.raises(ImproperlyConfigured, match="imap"):
        parse_email_url("imap://user:secret@mail.example.tw")
