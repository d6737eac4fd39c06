# The two commands a newcomer needs: `make run` and `make test`. `make lint` checks style.
# Needs only Python 3.11 and pip: uv is bootstrapped into var/uv when it is not installed.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS ?= never
UV := $(shell command -v uv 2>/dev/null || echo var/uv/bin/uv)
HOST ?= 127.0.0.1
PORT ?= 8000
# Links in mail and the demo station's addresses follow the address make run serves on.
RUN_ENV := PORTAL_BASE_URL=$${PORTAL_BASE_URL:-http://$(HOST):$(PORT)}
# The portal runs with DEBUG off unless told otherwise (portal/settings.py): these targets
# are for a developer's machine and turn it on, which lets the placeholder secret key and the
# keys generated under var/ be used. The test suite turns it on in tests/settings.py.
run install: export DEBUG = true

.PHONY: run test lint layout install speech totp bench

var/uv/bin/uv:
	python3 -m venv var/uv
	var/uv/bin/pip install --quiet uv

install: $(if $(findstring var/uv,$(UV)),var/uv/bin/uv)
	$(UV) sync --frozen --quiet
	$(UV) run --frozen python manage.py compile_translations

# The captcha read aloud needs espeak-ng (its Mandarin voice). Installed here when it is missing
# and apt-get can be used; otherwise make run goes on and says how to get it (until then the
# forms say whom to call instead of offering the audio).
speech:
	@command -v espeak-ng >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "== installing espeak-ng (the captcha read aloud in Mandarin)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng >/dev/null) \
	      || echo "espeak-ng could not be installed: the captcha has no audio until it is (apt-get install espeak-ng)"; \
	  else \
	    echo "espeak-ng is not installed: the captcha has no audio, the forms say whom to call instead."; \
	    echo "For the audio: sudo apt-get install espeak-ng (Debian, Ubuntu), brew install espeak-ng (macOS)"; \
	  fi; }

run: install speech
	$(UV) run --frozen python manage.py migrate --noinput
	$(RUN_ENV) $(UV) run --frozen python manage.py demo
	$(RUN_ENV) $(UV) run --frozen python manage.py runserver $(HOST):$(PORT)

# make test ARGS='-k lockout' passes arguments on to pytest.
test: install
	$(UV) run --frozen pytest $(ARGS)

lint: install
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

# The import graph read from the code: circles and dependencies that point the wrong way
# (tests/test_layout.py fails on them too; docs/architecture.md explains the rules).
layout: install
	$(UV) run --frozen python -m tests.layout

# The code an authenticator app would show, for trying two-factor without a phone:
#   make totp SECRET="ABCD EFGH ..."   (the secret shown on /me/two-factor/)
totp: install
	@$(UV) run --frozen python -c "import pyotp, sys; print(pyotp.TOTP(sys.argv[1].replace(' ', '')).now())" "$(SECRET)"

# The performance benchmark of issue 8 (full stack on this machine; see bench/README.md).
bench:
	bench/run
