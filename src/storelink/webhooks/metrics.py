"""Prometheus metrics of outbound delivery (on the shared :data:`storelink.ops.REGISTRY`)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from storelink.ops.metrics import REGISTRY

ATTEMPTS = Counter(
    "storelink_webhook_attempts_total",
    "Webhook delivery attempts by endpoint and outcome (delivered, failed, gone)",
    ["endpoint", "outcome"],
    registry=REGISTRY,
)
DELIVERY_LATENCY = Histogram(
    "storelink_webhook_delivery_latency_seconds",
    "Time from an event's time to its successful delivery",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400),
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "storelink_webhook_queue_depth",
    "Deliveries pending or in flight, per endpoint",
    ["endpoint"],
    registry=REGISTRY,
)
DISABLED_ENDPOINTS = Gauge(
    "storelink_webhook_endpoints_disabled",
    "Webhook endpoints currently disabled",
    registry=REGISTRY,
)
PRUNED_ROWS = Counter(
    "storelink_webhook_pruned_rows_total",
    "Rows removed by webhook retention (deliveries, attempts, inbound_ids)",
    ["kind"],
    registry=REGISTRY,
)
