from django.conf import settings


def client_ip(request) -> str | None:
    """The visitor's address. Behind PROXY_COUNT trusted reverse proxies, the address the
    nearest trusted proxy saw (X-Forwarded-For read from the right, never the left, which
    the visitor controls)."""
    if settings.PROXY_COUNT:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        ]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= settings.PROXY_COUNT:
            return forwarded[-settings.PROXY_COUNT]
    return request.META.get("REMOTE_ADDR") or None
