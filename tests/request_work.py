"""What a public form does inside the request, to compare a match with a miss (issue 13:
a match must not take longer). The request runs with a plain client, its on-commit callbacks
held back, and every query captured; running the callbacks afterwards does what the commit
would (the hand-off to the task, eager on the embedded default)."""

import re
import threading
from dataclasses import dataclass, field

from celery.signals import before_task_publish
from django.db import connection
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext


@dataclass
class RequestWork:
    status: int
    location: str
    queries: list[str]
    callbacks: list = field(repr=False)

    def commit(self) -> None:
        """Run the held-back callbacks, and those they add, as the real commit would."""
        with TestCase.captureOnCommitCallbacks(execute=True):
            for callback in self.callbacks:
                callback()


def query_shape(sql: str) -> str:
    """A query without its values: quoted strings, numbers, NULL and savepoint names
    become ?."""
    sql = re.sub(r'"s\d+_x\d+"', "?", sql)
    sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
    sql = re.sub(r"\bNULL\b", "?", sql)
    return re.sub(r"\b\d+(\.\d+)?\b", "?", sql)


def work_in_request(path: str, data: dict, client: Client | None = None) -> RequestWork:
    client = client or Client()
    with (
        TestCase.captureOnCommitCallbacks(execute=False) as callbacks,
        CaptureQueriesContext(connection) as queries,
    ):
        response = client.post(path, data)
    return RequestWork(
        status=response.status_code,
        location=response.get("Location", ""),
        queries=[query_shape(query["sql"]) for query in queries.captured_queries],
        callbacks=list(callbacks),
    )


class Publications:
    """The tasks published to the broker from this thread (the request's), by name."""

    def __init__(self):
        self.names: list[str] = []
        self.thread = threading.get_ident()

    def __enter__(self):
        before_task_publish.connect(self._published, weak=False)
        return self

    def __exit__(self, *exc):
        before_task_publish.disconnect(self._published)

    def _published(self, sender=None, **kwargs):
        if threading.get_ident() == self.thread:
            self.names.append(sender)
