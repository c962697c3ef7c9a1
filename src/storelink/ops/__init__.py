"""Operations: logs, traces, metrics, health (and later audit, dashboard, alerts)."""

from storelink.ops.health import Health, HealthReport
from storelink.ops.http import async_client
from storelink.ops.logging import bind_correlation, configure_logging, get_logger
from storelink.ops.metrics import REGISTRY
from storelink.ops.signals import stop_on_signals
from storelink.ops.tracing import current_traceparent, setup_tracing, tracer

__all__ = [
    "REGISTRY",
    "Health",
    "HealthReport",
    "async_client",
    "bind_correlation",
    "configure_logging",
    "current_traceparent",
    "get_logger",
    "setup_tracing",
    "stop_on_signals",
    "tracer",
]
