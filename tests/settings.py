"""The test suite's settings: the embedded default with DEBUG on, as `make run` has it.
portal/settings.py defaults to DEBUG=false, which refuses the placeholder secret key; the
suite asks for debug here, before the settings are read (pytest-django imports this module
first). It is set, not defaulted: a DEBUG=false exported in the shell (a developer's or CI's)
would otherwise make the suite fail at import. Processes the suite starts (manage.py in a
subprocess) inherit it, unless a test sets its own environment, as tests/test_settings.py
does."""

import os

os.environ["DEBUG"] = "true"

from portal.settings import *  # noqa: E402, F403
