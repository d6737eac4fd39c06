import ipaddress

from django.conf import settings


def client_ip(request) -> str | None:
    """The visitor's address. Behind PROXY_COUNT trusted reverse proxies, the address the
    nearest trusted proxy saw (X-Forwarded-For read from the right, never the left, which
    the visitor controls).

    Only a real address is taken: a forwarded entry that is not one (junk from a client that
    reached the port directly, or a proxy that appends ``ip:port``) falls back to the
    connection's own address, so nothing a visitor types can break the writes of the sign-in
    (the security log and the lockout count are written in one transaction)."""
    if settings.PROXY_COUNT:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        ]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= settings.PROXY_COUNT:
            address = _address(forwarded[-settings.PROXY_COUNT])
            if address:
                return address
    return _address(request.META.get("REMOTE_ADDR") or "")


def _address(text: str) -> str | None:
    """``text`` as an IP address (``1.2.3.4``, ``1.2.3.4:80``, ``2001:db8::1`` or
    ``[2001:db8::1]:443``), or None when it is none."""
    candidate = text.strip()
    if candidate.startswith("["):
        candidate = candidate[1:].partition("]")[0]
    elif candidate.count(":") == 1:  # IPv4 with a port; IPv6 has two colons or more
        candidate = candidate.partition(":")[0]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None
