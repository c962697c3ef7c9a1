"""SSRF rules for endpoint URLs.

An endpoint URL must be ``https`` (``http`` only when ``webhooks.allow_http``)
and every address its host resolves to must be public, unless the host is on
``webhooks.allowed_hosts`` (loopback receivers in tests, a partner on a private
link). Redirects are never followed (see :mod:`storelink.webhooks.delivery`).
Checked when an endpoint is saved and again before each attempt, so a DNS
record changed to a private address later is refused too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from storelink.config.sections import WebhookSettings
from storelink.errors import UnsafeURLError

#: resolves a host name to its IP address strings
Resolver = Callable[[str], Awaitable[Sequence[str]]]


async def resolve(host: str) -> Sequence[str]:
    """Every address ``host`` resolves to (the system resolver)."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UnsafeURLError(f"host {host!r} does not resolve", host=host) from exc
    return sorted({str(info[4][0]) for info in infos})


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class URLPolicy:
    """The SSRF rules in force (built from :class:`WebhookSettings`)."""

    allow_http: bool = False
    allowed_hosts: frozenset[str] = frozenset()
    resolver: Resolver = field(default=resolve, compare=False)

    @classmethod
    def from_settings(cls, settings: WebhookSettings, resolver: Resolver = resolve) -> URLPolicy:
        return cls(
            allow_http=settings.allow_http,
            allowed_hosts=frozenset(host.lower() for host in settings.allowed_hosts),
            resolver=resolver,
        )

    async def check(self, url: str) -> str:
        """Return ``url`` if it may be called; raise :class:`UnsafeURLError` otherwise."""
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http"):
            raise UnsafeURLError(f"{url}: only https URLs are allowed", url=url)
        if parts.scheme == "http" and not self.allow_http:
            raise UnsafeURLError(
                f"{url}: http is refused (https only unless webhooks.allow_http)", url=url
            )
        if parts.username or parts.password:
            raise UnsafeURLError(f"{url}: credentials in the URL are refused", url=url)
        host = (parts.hostname or "").lower()
        if not host:
            raise UnsafeURLError(f"{url}: no host", url=url)
        if host in self.allowed_hosts:
            return url
        for address in await self.resolver(host):
            if not is_public(address):
                raise UnsafeURLError(
                    f"{url}: {host} resolves to non-public address {address}"
                    " (add the host to webhooks.allowed_hosts to allow it)",
                    url=url,
                    address=address,
                )
        return url
