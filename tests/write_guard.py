"""A check that runs under every test: no view, form or admin class writes a model itself.

State that matters changes only in services (STYLE), which write the security event, queue
the mail and check the rights. Every INSERT, UPDATE and DELETE the suite sends is traced back
through the Python stack, from the query outwards: the first frame that belongs to a
service-layer module of ours allows it; the first that belongs to a view, form or admin
module (by the frame's module, or by the class of the ``self`` it runs for: Django's generic
views, ModelForm.save and ModelAdmin methods run for classes of ours) fails the test. Model
methods, managers and middleware are passed through: an overridden ``save`` called from a
view is the view's write. Allowed, as the house style says: the admin's own changeform save
of plain fields (Django's save_model, save_related, save_formset), and two writes that are
no state of ours (the admin's history, a captcha drawn with a page). The guard watches the
test's own database connection (browser and live-server tests run their server in another
thread, unwatched)."""

import sys

from django.db import connection

OURS = ("accounts.", "schools.", "stations.", "announcements.", "mail.", "portal.")
INTERFACE = (".views", ".forms", ".fields", ".admin")
# Modules that change state on the services' behalf, besides <app>.services.*
SERVICE_LAYER = (
    "mail.outbox",
    "mail.messages",
    "mail.resend",
    "mail.tasks",
    "accounts.sessions",
    "accounts.security_log",
    "accounts.captcha",
    "accounts.lockout",
    "accounts.backends",
    "accounts.tasks",
    "stations.oidc",  # the OpenID Connect provider's validator writes codes and tokens
    "stations.single_logout",  # a session's end at the stations (session_ended's listener)
    "stations.backchannel",  # the logout tokens' delivery, as mail.outbox
    "stations.tasks",
)
# View modules whose names do not say so: the OpenID Connect endpoints.
VIEW_MODULES = ("stations.authorization", "stations.end_session")
ADMIN_SAVES = {"save_model", "save_related", "save_formset"}
NOT_OUR_STATE = ("django_admin_log", "captcha_captchastore")
WRITES = ("INSERT", "UPDATE", "DELETE")


class WriteOutsideServices(AssertionError):
    pass


def _kind(module: str) -> str | None:
    if not module.startswith(OURS):
        return None
    if ".services." in module or module.endswith(".services") or ".management.commands." in module:
        return "service"
    if module in SERVICE_LAYER or module.startswith(SERVICE_LAYER):
        return "service"
    if module in VIEW_MODULES or any(
        module.endswith(kind) or f"{kind}." in module for kind in INTERFACE
    ):
        return "interface"
    return None  # models, managers, middleware, helpers: look further out


def writer(frame) -> str | None:
    """The interface module (views, forms, admin) that wrote without a service between it and
    the database, or None."""
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module == "django.contrib.admin.options" and frame.f_code.co_name in ADMIN_SAVES:
            return None
        kind = _kind(module)
        name = f"{module}.{frame.f_code.co_name}"
        if kind is None and "self" in frame.f_code.co_varnames:
            owner = type(frame.f_locals.get("self"))
            kind = _kind(owner.__module__)
            name = f"{owner.__module__}.{owner.__qualname__}.{frame.f_code.co_name}"
        if kind == "service":
            return None
        if kind == "interface":
            return name
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
