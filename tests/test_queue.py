"""Publishing a task by name (portal/queue.py): the first publication in a web process finds
its task without setting Django up again."""

import subprocess
import sys

from tests.layout import ROOT

FIRST_PUBLICATION = """
import logging, os
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
import django
django.setup()
from django.core import checks
checked = []
checks.run_checks = lambda *args, **kwargs: checked.append(1) or []
ours = logging.NullHandler()
logging.getLogger().addHandler(ours)
from portal import queue
task = queue.task("mail.tasks.sweep_outbox")
print(task.name, ours in logging.getLogger().handlers, len(checked))
"""


def test_the_first_task_published_in_a_process_keeps_its_logging_and_runs_no_checks():
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", FIRST_PUBLICATION],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.split() == ["mail.tasks.sweep_outbox", "True", "0"]
