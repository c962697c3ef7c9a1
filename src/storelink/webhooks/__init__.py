"""Webhooks: signed outbound delivery (retries, throttling, dead letters, replay) and
verified inbound intake.

Events reach partners through :func:`fanout` (one durable delivery row per
subscribed endpoint) and a :class:`Dispatcher` that claims due rows per
endpoint, signs them with Standard Webhooks and records every attempt.
"""

from storelink.webhooks.clock import Clock, ManualClock, SystemClock
from storelink.webhooks.delivery import (
    HttpTransport,
    Transport,
    WebhookRequest,
    WebhookResponse,
)
from storelink.webhooks.dispatcher import Claim, Dispatcher, Outcome
from storelink.webhooks.endpoints import Endpoint, EndpointSpec, EndpointStore
from storelink.webhooks.fanout import fanout
from storelink.webhooks.intake import Accepted, InboundSource, Intake
from storelink.webhooks.recovery import (
    AttemptRecord,
    DeliveryRecord,
    attempts,
    dead_letters,
    deliveries,
    get_delivery,
    prune,
    replay_delivery,
    replay_endpoint,
    replay_failed,
)
from storelink.webhooks.retention import Pruned, Pruner
from storelink.webhooks.retry import RetryPolicy, parse_retry_after
from storelink.webhooks.secrets import SecretBox, SecretSet
from storelink.webhooks.signing import Signer, generate_secret, verify
from storelink.webhooks.ssrf import URLPolicy

__all__ = [
    "Accepted",
    "AttemptRecord",
    "Claim",
    "Clock",
    "DeliveryRecord",
    "Dispatcher",
    "Endpoint",
    "EndpointSpec",
    "EndpointStore",
    "HttpTransport",
    "InboundSource",
    "Intake",
    "ManualClock",
    "Outcome",
    "Pruned",
    "Pruner",
    "RetryPolicy",
    "SecretBox",
    "SecretSet",
    "Signer",
    "SystemClock",
    "Transport",
    "URLPolicy",
    "WebhookRequest",
    "WebhookResponse",
    "attempts",
    "dead_letters",
    "deliveries",
    "fanout",
    "generate_secret",
    "get_delivery",
    "parse_retry_after",
    "prune",
    "replay_delivery",
    "replay_endpoint",
    "replay_failed",
    "verify",
]
