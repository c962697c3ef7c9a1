"""Per-request tracing, correlation ids, access logs and HTTP metrics.

A plain ASGI middleware (not ``BaseHTTPMiddleware``, whose task group and
streams cost about as much as a whole read-model lookup).
"""

from __future__ import annotations

import time
from uuid import uuid4

from opentelemetry import trace
from prometheus_client import Counter, Histogram
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from storelink.api.problems import busy_response, is_saturation
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


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class ObserveRequests:
    """Continue the caller's trace, bind a correlation id, log and measure each request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        clear_context()
        headers = Headers(scope=scope)
        incoming = headers.get("traceparent")
        correlation_id = headers.get(CORRELATION_HEADER) or str(uuid4())
        method, path = scope["method"], scope["path"]
        started = time.perf_counter()
        status = 500
        with _tracer.start_as_current_span(
            f"{method} {path}", context=extract(headers), kind=trace.SpanKind.SERVER
        ):
            # the server span stays current for the whole request: render its id once
            traceparent = current_traceparent()
            bind_correlation(correlation_id, traceparent=traceparent)

            responded = False

            async def send_with_ids(message: Message) -> None:
                nonlocal status, responded
                if message["type"] == "http.response.start":
                    responded = True
                    status = int(message["status"])
                    out = MutableHeaders(scope=message)
                    out[CORRELATION_HEADER] = correlation_id
                    if traceparent:
                        out["traceparent"] = traceparent
                await send(message)

            try:
                await self.app(scope, receive, send_with_ids)
            except Exception as exc:
                # saturation met in a middleware (idempotency, rate limits) is backpressure too
                if not is_saturation(exc) or responded:
                    _log.exception("request failed", method=method, path=path)
                    raise
                await busy_response(path, exc)(scope, receive, send_with_ids)
            finally:
                route = _route_template(scope)
                elapsed = time.perf_counter() - started
                REQUESTS.labels(method, route, str(status)).inc()
                LATENCY.labels(method, route).observe(elapsed)
                _log.info(
                    "request",
                    method=method,
                    path=path,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                    incoming_traceparent=incoming,
                )
        clear_context()
