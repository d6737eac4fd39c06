"""A check that runs under every test: no view, form or admin class writes a model itself.

State that matters changes only in services (STYLE), which write the security event, queue
the mail and check the rights. Every INSERT, UPDATE and DELETE the suite sends is traced back
through the Python stack to the innermost module of ours: a views, forms or admin module
there means the write skipped the service layer, and the test fails. Allowed, as the house
style says: the admin's own changeform save of plain fields (Django's save_model and
save_related), and two writes that are no state of ours (the admin's history, a captcha
drawn with a page)."""

import sys

from django.db import connection

OURS = ("accounts.", "schools.", "stations.", "announcements.", "mail.", "portal.")
INTERFACE = (".views", ".forms", ".fields", ".admin")
ADMIN_SAVES = {"save_model", "save_related", "save_formset"}
NOT_OUR_STATE = ("django_admin_log", "captcha_captchastore")
WRITES = ("INSERT", "UPDATE", "DELETE")


class WriteOutsideServices(AssertionError):
    pass


def writer(frame) -> str | None:
    """The interface module (views, forms, admin) that wrote without a service between it and
    the database, or None."""
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module == "django.contrib.admin.options" and frame.f_code.co_name in ADMIN_SAVES:
            return None
        if module.startswith(OURS):
            is_interface = any(module.endswith(kind) or f"{kind}." in module for kind in INTERFACE)
            return f"{module}.{frame.f_code.co_name}" if is_interface else None
        frame = frame.f_back
    return None


class Guard:
    def __init__(self):
        self.violations = []

    def __call__(self, execute, sql, params, many, context):
        statement = sql.lstrip()[:6].upper()
        if statement in WRITES and not any(table in sql for table in NOT_OUR_STATE):
            culprit = writer(sys._getframe(1))
            if culprit:
                message = f"{culprit} writes the database itself, not through a service: {sql}"
                self.violations.append(message)
                raise WriteOutsideServices(message)
        return execute(sql, params, many, context)


def guarded():
    """The context manager the suite wraps every test in; its ``violations`` say what broke."""
    guard = Guard()
    return guard, connection.execute_wrapper(guard)
