"""Per-request tracing, correlation ids, access logs and HTTP metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from uuid import uuid4

from fastapi import Request, Response
from opentelemetry import trace
from prometheus_client import Counter, Histogram

from storelink.ops.logging import bind_correlation, clear_context, get_logger
from storelink.ops.metrics import REGISTRY
from storelink.ops.tracing import current_traceparent, extract, tracer

CORRELATION_HEADER = "x-correlation-id"

REQUESTS = Counter(
    "storelink_http_requests_total",
    "HTTP requests served by the hub",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "storelink_http_request_duration_seconds",
    "HTTP request latency at the hub",
    ["method", "route"],
    registry=REGISTRY,
)

_log = get_logger("storelink.http")
_tracer = tracer("storelink.api")


def _route_template(request: Request) -> str:
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


async def observe_request(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Continue the caller's trace, bind a correlation id, log and measure the request."""
    clear_context()
    incoming = request.headers.get("traceparent")
    correlation_id = request.headers.get(CORRELATION_HEADER) or str(uuid4())
    started = time.perf_counter()
    with _tracer.start_as_current_span(
        f"{request.method} {request.url.path}",
        context=extract(request.headers),
        kind=trace.SpanKind.SERVER,
    ):
        bind_correlation(correlation_id, traceparent=current_traceparent())
        try:
            response = await call_next(request)
        except Exception:
            _log.exception("request failed", method=request.method, path=request.url.path)
            raise
        route = _route_template(request)
        elapsed = time.perf_counter() - started
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        LATENCY.labels(request.method, route).observe(elapsed)
        _log.info(
            "request",
            method=request.method,
            path=request.url.path,
            status=response.status_code,
            duration_ms=round(elapsed * 1000, 2),
            incoming_traceparent=incoming,
        )
        response.headers[CORRELATION_HEADER] = correlation_id
        traceparent = current_traceparent()
        if traceparent:
            response.headers["traceparent"] = traceparent
    clear_context()
    return response
