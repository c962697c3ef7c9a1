"""A store's link to the hub, as an HTTP transport the sandbox can cut.

Agents run in-process; each one's hub client is given a :class:`LinkTransport`
so "the store's line drops" is a real connection error at the agent's seam,
and the agent's own backoff and queueing do the rest. The same seam carries
the test-only :class:`DuplicateUpload` defect.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import httpx2


@dataclass
class Link:
    """Whether one store can reach the hub right now."""

    store: str
    up: bool = True
    #: requests refused while the link was down
    dropped: int = 0


class DuplicateUpload:
    """Test-only defect: the first upload carrying a sale gets a copy under a fresh uuid.

    This is exactly what idempotency keys exist to prevent (a retry that
    re-mints its key), so the verification must report an Odoo record no
    till made and a stock mismatch.
    """

    def __init__(self) -> None:
        self.done = False

    def tamper(self, request: httpx2.Request) -> httpx2.Request:
        if self.done or request.method != "POST" or not request.url.path.endswith("/transactions"):
            return request
        body = json.loads(request.content)
        sales = [t for t in body.get("transactions", []) if t.get("kind") == "sale"]
        if not sales:
            return request
        copy = json.loads(json.dumps(sales[0]))
        fresh = str(uuid.uuid4())
        copy["uuid"] = fresh
        copy["sale"]["id"] = fresh
        body["transactions"].append(copy)
        self.done = True
        headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
        return httpx2.Request(request.method, request.url, headers=headers, json=body)


class LinkTransport(httpx2.AsyncBaseTransport):
    """Passes requests to ``inner`` while ``link.up``; a connection error otherwise."""

    def __init__(
        self,
        link: Link,
        inner: httpx2.AsyncBaseTransport | None = None,
        *,
        defect: DuplicateUpload | None = None,
        close_inner: bool = True,
    ) -> None:
        self._link = link
        self._inner = inner or httpx2.AsyncHTTPTransport()
        self._defect = defect
        # a transport shared by several clients (a probe, then the real one) outlives each
        self._close_inner = close_inner

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if not self._link.up:
            self._link.dropped += 1
            raise httpx2.ConnectError(
                f"sandbox: {self._link.store}'s link is down", request=request
            )
        if self._defect is not None:
            request = self._defect.tamper(request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        if self._close_inner:
            await self._inner.aclose()
