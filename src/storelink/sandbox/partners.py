"""Partner webhook receivers: some healthy, one slow, one failing for a while.

One small ASGI app serves every partner at ``POST /partners/{name}``. A
receiver verifies the Standard Webhooks signature with the official
``standardwebhooks`` package (so storelink's own signing code is not checking
itself), answers 500 while it is failing, and logs every delivery it accepted
in arrival order, which is what the order and delivery checks read.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from fastapi import FastAPI, Request, Response
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from storelink.bus import EventLog
from storelink.config.sections import WebhookSettings
from storelink.model import Event
from storelink.sandbox.verify import Delivery, PartnerObservation
from storelink.webhooks import (
    Endpoint,
    EndpointSpec,
    EndpointStore,
    SecretBox,
    URLPolicy,
    dead_letters,
)
from storelink.webhooks.tables import webhook_deliveries


@dataclass
class PartnerReceiver:
    """One partner's receiving endpoint and what it saw."""

    name: str
    #: seconds each answer takes (a slow partner)
    delay_s: float = 0.0
    #: answer 500 to everything while set (a partner having a bad hour)
    failing: bool = False
    #: the endpoint's ``whsec_…`` secret; unsigned or badly signed deliveries are refused
    secret: str | None = None
    received: list[Delivery] = field(default_factory=list)
    attempts: int = 0
    refused: int = 0
    _arrived: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def accept(self, delivery: Delivery) -> None:
        self.received.append(delivery)
        self._arrived.set()

    async def wait_received(self, count: int) -> None:
        """Return once ``count`` deliveries were accepted (bound it with ``asyncio.timeout``)."""
        while len(self.received) < count:
            self._arrived.clear()
            await self._arrived.wait()


def default_partners() -> list[PartnerReceiver]:
    """Two healthy partners, a slow one and a flaky one (the one faults name ``flaky``)."""
    return [
        PartnerReceiver("ecommerce"),
        PartnerReceiver("loyalty"),
        PartnerReceiver("marketplace", delay_s=0.05),
        PartnerReceiver("flaky"),
    ]


def receivers_app(partners: list[PartnerReceiver]) -> FastAPI:
    """The ASGI app answering for every partner in ``partners``."""
    by_name = {p.name: p for p in partners}
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.post("/partners/{name}")
    async def deliver(name: str, request: Request) -> Response:
        partner = by_name.get(name)
        if partner is None:
            return Response(status_code=404)
        partner.attempts += 1
        body = await request.body()
        if partner.delay_s:
            await asyncio.sleep(partner.delay_s)
        if partner.failing:
            return Response(status_code=500)
        if partner.secret is not None:
            try:
                Webhook(partner.secret).verify(body, dict(request.headers))
            except WebhookVerificationError:
                partner.refused += 1
                return Response(status_code=401)
        try:
            envelope = json.loads(body)
            delivery = Delivery(str(envelope["id"]), str(envelope["partitionkey"]))
        except (ValueError, KeyError, TypeError):
            partner.refused += 1
            return Response(status_code=400)
        partner.accept(delivery)
        return Response(status_code=204)

    return app


#: what each sandbox partner subscribes to (all ordered per key); the flaky one takes
#: returns, a trickle that still spans its failing window
SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "ecommerce": ("storelink.price.*", "storelink.order.*"),
    "loyalty": ("storelink.sale.*", "storelink.return.*"),
    "marketplace": ("storelink.product.*", "storelink.order.*"),
    "flaky": ("storelink.return.*",),
}


async def register_partners(
    engine: AsyncEngine,
    settings: WebhookSettings,
    secret_box: SecretBox,
    base_url: str,
    partners: list[PartnerReceiver],
) -> dict[str, Endpoint]:
    """One ordered endpoint per partner at ``base_url``; each receiver learns its secret."""
    store = EndpointStore(engine, secret_box, policy=URLPolicy.from_settings(settings))
    endpoints: dict[str, Endpoint] = {}
    for partner in partners:
        endpoint, partner.secret = await store.add(
            EndpointSpec(
                url=f"{base_url}/partners/{partner.name}",
                event_types=SUBSCRIPTIONS.get(partner.name, ("*",)),
                ordered=True,
                description=f"sandbox partner {partner.name}",
                owner=partner.name,
            )
        )
        endpoints[partner.name] = endpoint
    return endpoints


async def delivery_counts(engine: AsyncEngine) -> dict[str, int]:
    """Deliveries by state: ``ok``, ``retrying`` (failed at least once, still trying), ``dead``,
    ``waiting`` (not attempted yet)."""
    d = webhook_deliveries
    retrying = case((d.c.attempts > 0, "retrying"), else_="waiting")
    state = case((d.c.status == "delivered", "ok"), (d.c.status == "dead", "dead"), else_=retrying)
    async with engine.connect() as connection:
        rows = await connection.execute(select(state, func.count()).group_by(state))
        counts = {"ok": 0, "retrying": 0, "dead": 0, "waiting": 0}
        counts.update({str(name): int(n) for name, n in rows})
    return counts


async def observe_partners(
    engine: AsyncEngine,
    log: EventLog,
    partners: list[PartnerReceiver],
    endpoints: dict[str, Endpoint],
) -> dict[str, PartnerObservation]:
    """What each partner should have had (the event log through its filters) and what it got."""
    events: list[Event] = []
    position = 0
    while True:
        page = await log.read(from_position=position, limit=5000)
        if not page:
            break
        events += [logged.event for logged in page]
        position = page[-1].position + 1
    observed: dict[str, PartnerObservation] = {}
    for partner in partners:
        endpoint = endpoints[partner.name]
        dead = await dead_letters(engine, endpoint_id=endpoint.id, limit=1_000_000)
        observed[partner.name] = PartnerObservation(
            expected=[Delivery(e.id, e.partitionkey) for e in events if endpoint.matches(e)],
            received=list(partner.received),
            dead_lettered={r.event_id: r.last_error or "" for r in dead},
            ordered=endpoint.ordered,
        )
    return observed
