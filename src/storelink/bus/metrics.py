"""Prometheus metrics of the event log, on :data:`storelink.ops.metrics.REGISTRY`."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable

from prometheus_client import Counter, Gauge, Histogram

from storelink.ops.metrics import REGISTRY

APPENDED = Counter(
    "storelink_bus_appended", "Events appended to the log.", ["type"], registry=REGISTRY
)
DELIVERED = Counter(
    "storelink_bus_delivered",
    "Deliveries to consumer groups.",
    ["group", "type"],
    registry=REGISTRY,
)
ACKED = Counter("storelink_bus_acked", "Deliveries acked.", ["group", "type"], registry=REGISTRY)
REDELIVERED = Counter(
    "storelink_bus_redelivered",
    "Deliveries beyond the first (nack, ack timeout, crash).",
    ["group", "type"],
    registry=REGISTRY,
)
DEAD_LETTERED = Counter(
    "storelink_bus_dead_lettered",
    "Events moved to the dead letters.",
    ["group", "type"],
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "storelink_bus_consumer_lag", "Events a group has not acked yet.", ["group"], registry=REGISTRY
)
PUBLISH_SECONDS = Histogram(
    "storelink_bus_publish_seconds", "Latency of one append batch.", registry=REGISTRY
)
HANDLE_SECONDS = Histogram(
    "storelink_bus_handle_seconds", "Latency of one handler call.", ["group"], registry=REGISTRY
)


def count_types(counter: Counter, types: Iterable[str], *labels: str) -> None:
    """Increment ``counter`` once per distinct type (cheaper than once per event)."""
    for event_type, n in Tally(types).items():
        counter.labels(*labels, event_type).inc(n)
