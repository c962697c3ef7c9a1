"""OpenTelemetry tracing, set up once, with W3C ``traceparent`` propagation.

No exporter runs unless ``observability.otlp_endpoint`` is configured (and the
``opentelemetry-exporter-otlp-proto-http`` package is installed), so tracing
costs little by default while trace ids still flow through logs and headers.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from storelink.config.sections import ObservabilitySettings
from storelink.errors import ConfigError

_PROPAGATOR = TraceContextTextMapPropagator()
_configured = False


def setup_tracing(settings: ObservabilitySettings | None = None) -> None:
    """Install the tracer provider once per process; later calls do nothing."""
    global _configured
    if _configured:
        return
    settings = settings or ObservabilitySettings()
    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
    if settings.otlp_endpoint is not None:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found]
                OTLPSpanExporter,
            )
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
        except ImportError as exc:
            raise ConfigError(
                "observability.otlp_endpoint: needs the opentelemetry-exporter-otlp-proto-http "
                "package"
            ) from exc
        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=str(settings.otlp_endpoint)))
        )
    trace.set_tracer_provider(provider)
    _configured = True


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def extract(headers: Mapping[str, str]) -> otel_context.Context:
    """The trace context carried by incoming ``traceparent``/``tracestate`` headers."""
    return _PROPAGATOR.extract(carrier=dict(headers))


def inject(headers: MutableMapping[str, str]) -> None:
    """Write the current span's ``traceparent`` into outgoing ``headers``."""
    _PROPAGATOR.inject(carrier=headers)


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier.get("traceparent")
