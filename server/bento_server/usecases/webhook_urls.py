"""Where webhooks may go.

Only ``https://`` URLs to public addresses: a webhook URL is chosen by a
tenant, and Bento must not become its way into Bento's own network
(server-side request forgery). ``--webhooks-allow-private`` also lets
``http://`` and private, loopback and link-local addresses through, for
development and tests. The address is checked when the URL is set, and
after DNS resolution again at every attempt, since a name may come to
point somewhere else.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from bento_server.errors import InvalidArgument

MAX_URL = 2000


def refuse_bad_url(url: str, allow_private: bool, field: str = "url") -> None:
    """INVALID_ARGUMENT naming ``field`` unless ``url`` may receive webhooks."""
    if not url:
        raise InvalidArgument.field(field, "is required")
    if len(url) > MAX_URL:
        raise InvalidArgument.field(field, f"must be at most {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 (a port that is not a number raises here)
    except ValueError:
        raise InvalidArgument.field(field, "is not a URL") from None
    allowed = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed:
        raise InvalidArgument.field(field, f"must be an {' or '.join(allowed)}:// URL")
    if not host:
        raise InvalidArgument.field(field, "names no host")
    if parts.username or parts.password:
        raise InvalidArgument.field(field, "must not hold a user name or password")
    if parts.fragment:
        raise InvalidArgument.field(field, "must not have a #fragment")
    literal = _ip(host)
    if literal is not None and not allow_private and not is_public(literal):
        raise InvalidArgument.field(
            field, f"is a {_kind(literal)} address; webhooks go to public ones"
        )
    if literal is None and not allow_private and host.lower().rstrip(".") == "localhost":
        raise InvalidArgument.field(field, "is a loopback address; webhooks go to public ones")


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


async def unsafe_destination(url: str, allow_private: bool) -> str | None:
    """Why the host of ``url`` may not be sent to now, after resolving it;
    None when every address it resolves to is public (or private ones are
    allowed)."""
    if allow_private:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        return f"cannot resolve {host}: {error}"
    for *_, sockaddr in found:
        address = ipaddress.ip_address(sockaddr[0])
        if not is_public(address):
            return f"{host} resolves to {_kind(address)} address {address}"
    return None


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_private:
        return "private"
    return "non-public"
