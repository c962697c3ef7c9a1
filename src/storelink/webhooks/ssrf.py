"""SSRF rules for endpoint URLs.

An endpoint URL must be ``https`` (``http`` only when ``webhooks.allow_http``),
carry no credentials, and every address its host resolves to must be public,
unless the host is on ``webhooks.allowed_hosts`` (loopback receivers in tests, a
partner on a private link). Redirects are never followed (see
:mod:`storelink.webhooks.delivery`).

:meth:`URLPolicy.check` applies every rule when an endpoint is saved. Before
each attempt only the URL's form is checked again (:meth:`URLPolicy.check_form`,
no DNS); the addresses are checked where each connection is made
(:class:`CheckedBackend`): the host is resolved once per new connection and the
connection goes to an address just checked. A DNS record changed to a private
address later, or answering one address to a check and another to the
connection (DNS rebinding), is refused; kept-alive connections need no lookup.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpcore2

from storelink.config.sections import WebhookSettings
from storelink.errors import UnsafeURLError

#: resolves a host name to its IP address strings
Resolver = Callable[[str], Awaitable[Sequence[str]]]


async def resolve(host: str) -> Sequence[str]:
    """Every address ``host`` resolves to (the system resolver), in its order of preference."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UnsafeURLError(f"host {host!r} does not resolve", host=host) from exc
    # getaddrinfo sorts by preference (RFC 6724): connections try the addresses in that order
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


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
        host = self.check_form(url)
        if host not in self.allowed_hosts:
            try:
                await self.addresses(host)
            except UnsafeURLError as exc:
                context = {**exc.context, "url": url}
                raise UnsafeURLError(f"{url}: {exc.message}", **context) from exc
        return url

    def check_form(self, url: str) -> str:
        """Return the host of ``url`` if its scheme and form are allowed (no DNS lookup);
        raise :class:`UnsafeURLError` otherwise."""
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
        return host

    async def addresses(self, host: str) -> Sequence[str]:
        """The addresses a connection to ``host`` may use: what the resolver answers (an IP
        literal is its own answer), each public unless ``host`` is allowed; raise
        :class:`UnsafeURLError` otherwise."""
        host = host.lower()
        found = [host] if _is_address(host) else list(await self.resolver(host))
        if not found:
            raise UnsafeURLError(f"host {host!r} does not resolve", host=host)
        if host not in self.allowed_hosts:
            for address in found:
                if not is_public(address):
                    raise UnsafeURLError(
                        f"{host} resolves to non-public address {address}"
                        " (add the host to webhooks.allowed_hosts to allow it)",
                        host=host,
                        address=address,
                    )
        return found


class CheckedBackend(httpcore2.AsyncNetworkBackend):
    """An httpcore network backend that connects only to addresses the policy allows.

    httpcore calls :meth:`connect_tcp` with the URL's host for each new connection
    (a kept-alive one needs none) and starts TLS on the stream afterwards with
    ``server_hostname`` set to that host, so resolving here and connecting to the
    checked IP address keeps certificate verification on the name. A refusal
    raises :class:`UnsafeURLError` (:class:`~storelink.webhooks.delivery.HttpTransport`
    names the URL in it).
    """

    def __init__(
        self, policy: URLPolicy, backend: httpcore2.AsyncNetworkBackend | None = None
    ) -> None:
        self._policy = policy
        # what httpcore's own default picks on asyncio (the resolver is asyncio's too)
        self._backend = backend or httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        # the lookup counts against the connect timeout, as it does in httpcore's backends
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            async with asyncio.timeout(timeout):
                addresses = await self._policy.addresses(host)
        except TimeoutError as exc:
            raise httpcore2.ConnectTimeout(f"resolving {host} took over {timeout:g} s") from exc

        async def connect(address: str) -> httpcore2.AsyncNetworkStream:
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            return await self._backend.connect_tcp(
                address,
                port,
                timeout=remaining,
                local_address=local_address,
                socket_options=socket_options,
            )

        *others, last = addresses
        for address in others:
            # refused or unreachable: try the next address (a timeout has spent the budget)
            with contextlib.suppress(httpcore2.ConnectError):
                return await connect(address)
        return await connect(last)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)
