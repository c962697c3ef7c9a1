"""Operational facts: things operators must hear about, carried as events like any other."""

from __future__ import annotations

from storelink.model.base import CanonicalModel
from storelink.model.types import UtcDateTime


class WebhookEndpointDisabled(CanonicalModel):
    """A webhook endpoint stopped receiving deliveries (410 Gone, or failing every attempt
    for ``webhooks.disable_after_s``)."""

    endpoint: str
    url: str
    reason: str
    disabled_at: UtcDateTime
