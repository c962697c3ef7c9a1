"""The transport seam: how one signed attempt reaches a receiver.

:class:`HttpTransport` posts with an httpx2 client made by
:func:`storelink.ops.http.async_client` (``traceparent`` on every call, no
redirects followed) whose connections go only to addresses its
:class:`~storelink.webhooks.ssrf.URLPolicy` allows, checked as each is opened;
tests may hand it any ``httpx2`` transport (no connections, nothing to check),
or replace the whole :class:`Transport`.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import httpcore2
import httpx2

from storelink.errors import DeliveryError, UnsafeURLError
from storelink.ops.http import async_client
from storelink.webhooks.ssrf import CheckedBackend, URLPolicy

#: how much of a receiver's answer the attempt log keeps
EXCERPT_BYTES = 512
#: URLs remembered for their client lookup (the map is emptied when it holds more)
MAX_URLS = 10_000


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    url: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class WebhookResponse:
    status_code: int
    headers: Mapping[str, str]
    excerpt: str


class Transport(Protocol):
    async def post(self, request: WebhookRequest, *, timeout_s: float) -> WebhookResponse:
        """Send one attempt; raise :class:`DeliveryError` if no HTTP answer came back,
        :class:`UnsafeURLError` if the SSRF rules refused the connection."""
        ...

    async def aclose(self) -> None: ...


class HttpTransport:
    """Posts over HTTP(S) with one small pooled httpx2 client per receiver origin.

    A pool per origin keeps endpoints apart (a dead receiver's connections never
    crowd out a healthy one's) and keeps each pool small: httpcore scans its
    whole pool on every request, so one big shared pool gets slower as it grows.

    Each new connection resolves the host with ``policy``'s resolver and goes to an
    address it allows (:class:`~storelink.webhooks.ssrf.CheckedBackend`); the default
    policy allows public addresses only. Proxy settings from the environment
    (``HTTPS_PROXY`` …) are not used: a proxy would resolve the host itself.
    """

    def __init__(
        self,
        *,
        policy: URLPolicy | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        connections_per_origin: int = 20,
    ) -> None:
        self._backend = CheckedBackend(policy or URLPolicy())
        self._transport = transport
        self._limits = httpx2.Limits(
            max_connections=connections_per_origin,
            max_keepalive_connections=connections_per_origin,
        )
        self._clients: dict[tuple[str, str, int | None], httpx2.AsyncClient] = {}
        #: each URL seen, parsed once, with its origin's client (parsing costs more
        #: CPU than anything else storelink does per attempt)
        self._by_url: dict[str, tuple[httpx2.AsyncClient, httpx2.URL]] = {}
        # building a TLS context reads the CA bundle (~0.1 s): do it once, not per origin
        self._tls: ssl.SSLContext | None = None

    def _target(self, url: str) -> tuple[httpx2.AsyncClient, httpx2.URL]:
        target = self._by_url.get(url)
        if target is None:
            if len(self._by_url) >= MAX_URLS:
                self._by_url.clear()
            parsed = httpx2.URL(url)
            target = self._by_url[url] = (self._origin_client(parsed), parsed)
        return target

    def _origin_client(self, parsed: httpx2.URL) -> httpx2.AsyncClient:
        origin = (parsed.scheme, parsed.host, parsed.port)
        client = self._clients.get(origin)
        if client is None:
            transport = self._transport or self._checked_transport()
            client = self._clients[origin] = async_client(
                transport=transport, follow_redirects=False
            )
        return client

    def _checked_transport(self) -> httpx2.AsyncHTTPTransport:
        """httpx2's transport over a pool that opens connections through the policy's check.

        httpx2's transport takes no network backend, so its pool (the private ``_pool``,
        pinned by ``tests/webhooks/test_ssrf_connect.py``) is swapped for one that does; the rest
        (request conversion, error mapping, streaming) stays httpx2's own.
        """
        if self._tls is None:
            self._tls = httpx2.create_ssl_context()
        tls = self._tls
        transport = httpx2.AsyncHTTPTransport(verify=tls, limits=self._limits)
        if not isinstance(getattr(transport, "_pool", None), httpcore2.AsyncConnectionPool):
            # never fall back to httpx2's own pool: it would connect unchecked
            raise RuntimeError("httpx2.AsyncHTTPTransport no longer keeps its pool in _pool")
        transport._pool = httpcore2.AsyncConnectionPool(
            ssl_context=tls,
            max_connections=self._limits.max_connections,
            max_keepalive_connections=self._limits.max_keepalive_connections,
            keepalive_expiry=self._limits.keepalive_expiry,
            network_backend=self._backend,
        )
        return transport

    async def post(self, request: WebhookRequest, *, timeout_s: float) -> WebhookResponse:
        headers = {"content-type": "application/json", **request.headers}
        client, url = self._target(request.url)
        try:
            async with client.stream(
                "POST", url, content=request.body, headers=headers, timeout=timeout_s
            ) as response:
                excerpt = bytearray()
                async for chunk in response.aiter_bytes():
                    excerpt += chunk
                    if len(excerpt) >= EXCERPT_BYTES:
                        break
        except UnsafeURLError as exc:  # refused at connect time: name the URL, as a check does
            context = {**exc.context, "url": request.url}
            raise UnsafeURLError(f"{request.url}: {exc.message}", **context) from exc
        except httpx2.TimeoutException as exc:
            raise DeliveryError(
                f"no answer within {timeout_s:g} s", url=request.url, kind="timeout"
            ) from exc
        except httpx2.HTTPError as exc:
            raise DeliveryError(
                f"{type(exc).__name__}: {exc}", url=request.url, kind="network"
            ) from exc
        return WebhookResponse(
            status_code=response.status_code,
            headers=response.headers,
            excerpt=bytes(excerpt[:EXCERPT_BYTES]).decode("utf-8", "replace"),
        )

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        self._by_url = {}
        for client in clients:
            await client.aclose()
