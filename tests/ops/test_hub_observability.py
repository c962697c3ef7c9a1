"""The hub serves /healthz and /metrics, and continues the caller's trace in its logs."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families

from storelink.api import create_app
from storelink.config import Settings
from storelink.ops import configure_logging

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[httpx2.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://hub") as client:
            yield client


async def test_healthz_reports_live_and_ready(hub: httpx2.AsyncClient) -> None:
    response = await hub.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "live": True, "ready": True, "reasons": {}}


async def test_healthz_names_the_reason_when_not_ready(settings: Settings) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await app.state.hub.engine.dispose()
        app.state.hub.health.register("odoo", _odoo_down)
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://hub") as client:
            response = await client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False and body["live"] is True
    assert body["reasons"] == {"odoo": "circuit open since 12:00"}


async def _odoo_down() -> str | None:
    return "circuit open since 12:00"


async def test_metrics_parse_as_prometheus_text(hub: httpx2.AsyncClient) -> None:
    await hub.get("/healthz")
    response = await hub.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    requests = families["storelink_http_requests"]
    assert any(
        s.labels == {"method": "GET", "route": "/healthz", "status": "200"} and s.value >= 1
        for s in requests.samples
    )
    assert "storelink_http_request_duration_seconds" in families


async def test_traceparent_sent_to_the_hub_comes_back_in_its_logs(settings: Settings) -> None:
    app = create_app(settings)
    stream = io.StringIO()
    configure_logging(settings.observability, stream=stream)
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://hub") as client:
            response = await client.get(
                "/healthz", headers={"traceparent": TRACEPARENT, "x-correlation-id": "till-7-42"}
            )
    assert response.headers["x-correlation-id"] == "till-7-42"
    assert response.headers["traceparent"].split("-")[1] == TRACE_ID
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    request_lines = [line for line in lines if line.get("event") == "request"]
    assert request_lines, stream.getvalue()
    line = request_lines[-1]
    assert line["trace_id"] == TRACE_ID
    assert line["correlation_id"] == "till-7-42"
    assert line["incoming_traceparent"] == TRACEPARENT
    assert line["traceparent"].split("-")[1] == TRACE_ID


async def test_outgoing_http_calls_carry_the_current_trace() -> None:
    from storelink.ops import async_client, tracer

    seen: list[str | None] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.headers.get("traceparent"))
        return httpx2.Response(204)

    with tracer("test").start_as_current_span("outer") as span:
        async with async_client(transport=httpx2.MockTransport(handler)) as client:
            await client.get("http://127.0.0.1/ping")
        trace_id = format(span.get_span_context().trace_id, "032x")
    assert seen and seen[0] is not None and seen[0].split("-")[1] == trace_id
