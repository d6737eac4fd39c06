"""The security event log (SPEC section 11): one row per security-relevant action, written by
the service that acts, in its transaction. Every app records its events through here."""

from accounts.models import SecurityEvent
from portal.net import client_ip


def request_origin(request) -> dict:
    """Where a request came from, for the security event a task writes on its behalf."""
    if request is None:
        return {}
    return {
        "ip_address": client_ip(request),
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
    }


def security_event(kind, account, actor, request, detail, username="", origin=None):
    """An unsaved event (for bulk_create); ``record_security_event`` saves one."""
    ip_address = user_agent = None
    if request is not None:
        ip_address = client_ip(request)
        user_agent = request.META.get("HTTP_USER_AGENT", "")[:300]
        if actor is None and getattr(request, "user", None) is not None:
            actor = request.user if request.user.is_authenticated else None
    elif origin:
        ip_address, user_agent = origin.get("ip_address"), origin.get("user_agent")
    return SecurityEvent(
        kind=kind,
        account=account,
        username=username or (account.username if account else ""),
        actor=actor,
        ip_address=ip_address,
        user_agent=user_agent or "",
        detail=detail or {},
    )


def record_security_event(
    *, kind, account=None, username="", actor=None, request=None, detail=None, origin=None
):
    event = security_event(kind, account, actor, request, detail, username=username, origin=origin)
    event.save()
    return event
