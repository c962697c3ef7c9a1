"""The one way storelink makes outgoing HTTP clients: W3C ``traceparent`` on every call."""

from __future__ import annotations

from typing import Any

import httpx2

from storelink.ops.tracing import inject


async def _inject_traceparent(request: httpx2.Request) -> None:
    carrier: dict[str, str] = {}
    inject(carrier)
    for name, value in carrier.items():
        request.headers.setdefault(name, value)


def async_client(**kwargs: Any) -> httpx2.AsyncClient:
    """An :class:`httpx2.AsyncClient` that propagates the current trace on every request.

    Accepts the same keyword arguments (``base_url``, ``timeout``, ``transport`` …).
    Redirects are never followed unless asked for.
    """
    hooks = kwargs.pop("event_hooks", {})
    request_hooks = [_inject_traceparent, *hooks.get("request", [])]
    kwargs.setdefault("follow_redirects", False)
    return httpx2.AsyncClient(
        event_hooks={"request": request_hooks, "response": list(hooks.get("response", []))},
        **kwargs,
    )
