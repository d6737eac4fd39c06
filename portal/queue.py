"""Handing work to Celery: one place that publishes a task, by its registered name.

Services publish tasks by name, as Zulip's actions publish to named queues, so a service
never imports the tasks module that imports it (tasks.py → services, one way). A task is
registered when its module is imported: at worker start, and here, the first time its name
is not yet known in this process (the module its name starts with, e.g. mail.tasks).

With the broker down or hung, publishing fails quickly (REDIS_CONNECT_TIMEOUT): the broker's
circuit breaker opens and the next publications within CIRCUIT_BREAKER_OPEN_SECONDS are not
tried at all. The caller decides what waits instead (the outbox row for the sweep, a public
form's request kept encrypted). On the embedded default (Celery eager) the task runs here.
"""

import importlib
import logging

from kombu.exceptions import KombuError

from portal import breaker
from portal.celery import app

logger = logging.getLogger(__name__)

CIRCUIT_OPEN = "CircuitOpen"


def task(name: str):
    """The registered task called ``name`` (e.g. ``mail.tasks.send_outbound_email``). Its
    module is imported the first time, not every app's (Celery's own import of the default
    modules would set Django up again: seconds of system checks, and the logging reset)."""
    if name not in app.tasks:
        importlib.import_module(name.rpartition(".")[0])
    return app.tasks[name]


def runs_eagerly() -> bool:
    return bool(app.conf.task_always_eager)


def publish(name: str, *, args=(), kwargs=None, hide_arguments=False) -> str | None:
    """Hand the task to Celery; None when it was handed over (or ran, eagerly), otherwise
    why not: ``"CircuitOpen"`` when the broker failed moments ago and was not tried, or the
    error's type. ``hide_arguments``: Celery logs a fixed text in place of the arguments
    (they hold what a visitor typed)."""
    through_broker = not runs_eagerly()
    if through_broker and not breaker.broker.allow():
        return CIRCUIT_OPEN
    options = {"argsrepr": "()", "kwargsrepr": "{…}"} if hide_arguments else {}
    try:
        task(name).apply_async(args=args, kwargs=kwargs or {}, **options)
    except (KombuError, OSError) as error:
        if through_broker:
            breaker.broker.failed(error)
        return f"{type(error).__name__}: {error}"
    if through_broker:
        breaker.broker.succeeded()
    return None
