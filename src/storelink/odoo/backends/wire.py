"""The HTTP round trip every backend makes, with transport failures mapped once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx2

from storelink.errors import OdooTransportError
from storelink.odoo.backend import Endpoint
from storelink.ops import async_client


def make_client(endpoint: Endpoint) -> httpx2.AsyncClient:
    """The one pooled client a backend uses (``traceparent`` on every request)."""
    return async_client(
        base_url=endpoint.url.rstrip("/"),
        timeout=endpoint.timeout_s,
        transport=endpoint.transport,
        limits=httpx2.Limits(max_connections=32, max_keepalive_connections=32),
    )


async def post(
    client: httpx2.AsyncClient,
    path: str,
    *,
    json: Any = None,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx2.Response:
    """POST ``path``; connection errors and timeouts become :class:`OdooTransportError`."""
    try:
        return await client.post(path, json=json, content=content, headers=headers)
    except httpx2.TimeoutException as exc:
        raise OdooTransportError(f"Odoo did not answer in time: {path}", path=path) from exc
    except httpx2.TransportError as exc:
        raise OdooTransportError(
            f"cannot reach Odoo at {client.base_url}: {exc}", path=path
        ) from exc
