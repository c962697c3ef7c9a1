"""The running hub: database, event log, Odoo connector, workers and the HTTP API in one object.

``Hub`` composes the parts; each long-running piece is a :class:`Worker`
(``run_once`` / ``run(stop)``): the outbox relay, the webhook fan-out consumer,
dispatcher and retention pruner, and — through :class:`OdooLink`, once Odoo answers — change
capture, channel order sync and the store-sync drain. The API is served by
uvicorn on ``settings.api.host:port``::

    async with Hub(settings) as hub:
        stop = asyncio.Event()
        await hub.run(stop)          # until stop is set

Leaving the ``async with`` stops the workers, closes the server, the Odoo
connection and the engine, so a fresh ``Hub`` on the same database is a real
restart (what the sandbox does mid-run).

Several hub processes on one PostgreSQL share the background work by leases
(:mod:`storelink.db.leases`, named after ``hub.worker_id``): the drain writes only
the stores it holds (:mod:`storelink.sync.store_leases`); change capture, the
outbox relay and the webhook pruner run only in the elected leader of each
(:mod:`storelink.ops.leadership`) — capture and the pruner would only repeat one
another's work, and two relays publishing different outbox rows at once could
reorder a key's events in the stream. Channel order sync and the webhook feed and
dispatcher run in every process: orders are placed once whoever races
(:mod:`storelink.odoo.orders`), and the bus and the dispatcher share their own work.
One embedded hub simply wins every lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx2
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.bus import EventLog, Relay, open_event_log
from storelink.config import Settings
from storelink.config.sections import BusSettings, HubSettings, OdooSettings
from storelink.db import create_engine, upgrade
from storelink.db.leases import LeaseStore
from storelink.errors import OdooError
from storelink.odoo import ChangeCapture, OdooConnector, OrderSync, open_connector
from storelink.ops import get_logger
from storelink.ops.identity import worker_id
from storelink.ops.leadership import Leadership
from storelink.ops.serving import bind, serve_app
from storelink.ops.workers import Worker, run_all, supervise
from storelink.sync import Drain
from storelink.sync.connector_writer import ConnectorWriter
from storelink.sync.store_leases import StoreLeases
from storelink.webhooks import Dispatcher, Pruner, SecretBox
from storelink.webhooks.feed import WebhookFeed

log = get_logger("storelink.hub")

__all__ = ["Hub", "OdooLink", "Worker", "bind", "serve_app", "supervise"]


@dataclass(frozen=True)
class Sharing:
    """How this hub process shares work with the others on its database: its leases and its
    name in them (one embedded hub is alone and takes every lease)."""

    leases: LeaseStore
    holder: str
    settings: HubSettings = field(default_factory=HubSettings)

    @classmethod
    def of(cls, engine: AsyncEngine, settings: HubSettings) -> Sharing:
        return cls(LeaseStore(engine), worker_id(settings.worker_id), settings)

    def leader(self, name: str, worker: Worker) -> Leadership:
        """``worker``, run only while this process leads ``name``."""
        return Leadership(
            worker,
            self.leases,
            name,
            self.holder,
            ttl_s=self.settings.lease_ttl_s,
            renew_s=self.settings.renew_s,
        )

    def store_leases(self) -> StoreLeases:
        return StoreLeases(
            self.leases,
            self.holder,
            ttl_s=self.settings.lease_ttl_s,
            renew_s=self.settings.renew_s,
        )


class OdooLink:
    """Connects to Odoo, retrying while it is unreachable, then runs the workers that need it.

    The hub starts (API, uploads, webhooks) whether or not Odoo answers: what
    needs Odoo waits here and catches up once it does (promise 8).
    ``transport`` builds the HTTP transport of each connection attempt (the
    sandbox cuts the hub's line to Odoo through it).
    """

    def __init__(
        self,
        settings: OdooSettings,
        engine: AsyncEngine,
        event_log: EventLog,
        *,
        transport: Callable[[], httpx2.AsyncBaseTransport] | None = None,
        retry_s: float = 1.0,
        bus: BusSettings | None = None,
        sharing: Sharing | None = None,
    ) -> None:
        self.settings = settings
        self.bus = bus or BusSettings()
        self.engine = engine
        self.sharing = sharing or Sharing.of(engine, HubSettings())
        self.log = event_log
        self.transport = transport
        self.retry_s = retry_s
        self.connector: OdooConnector | None = None
        self.capture: ChangeCapture | None = None
        self.workers: list[Worker] = []
        self._stack = AsyncExitStack()

    async def connect(self) -> bool:
        """Open the connector and build the workers; False while Odoo cannot be reached."""
        if self.connector is not None:
            return True
        overrides: dict[str, Any] = {}
        if self.transport is not None:
            overrides["transport"] = self.transport()
        try:
            connector = await self._stack.enter_async_context(
                open_connector(self.settings, **overrides)
            )
        except OdooError as exc:
            log.warning("hub.odoo_unreachable", error=str(exc), retry_in_s=self.retry_s)
            return False
        self.connector = connector
        self.capture = ChangeCapture(
            self.engine, connector, interval_s=self.settings.poll_interval_s
        )
        self.workers = [
            self.sharing.leader("change-capture", self.capture),
            OrderSync(self.log, self.engine, connector, bus=self.bus),
            Drain(
                self.engine,
                ConnectorWriter(connector),
                leases=self.sharing.store_leases(),
            ),
        ]
        log.info("hub.odoo_connected", version=connector.version, protocol=connector.protocol)
        return True

    @property
    def capture_failing(self) -> dict[str, str]:
        """Feeds change capture could not capture on its last pass, with why."""
        return dict(self.capture.failing) if self.capture is not None else {}

    async def run_once(self) -> int:
        if not await self.connect():
            return 0
        done = 0
        for worker in self.workers:
            done += await worker.run_once()
        return done

    async def run(self, stop: asyncio.Event) -> None:
        while not await self.connect():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.retry_s)
            if stop.is_set():
                return
        await run_all(self.workers, stop)

    async def aclose(self) -> None:
        await self._stack.aclose()


@dataclass
class Hub:
    """The hub component. Use as ``async with Hub(settings) as hub``.

    ``extra_workers`` run beside the hub's own (the sandbox adds none; tests
    may add probes). ``engine`` may be shared with the caller, who then owns it.
    """

    settings: Settings
    engine: AsyncEngine | None = None
    extra_workers: list[Worker] = field(default_factory=list)
    #: builds the HTTP transport to Odoo (tests and the sandbox cut the line through it)
    odoo_transport: Callable[[], httpx2.AsyncBaseTransport] | None = None
    #: a listening socket to serve on instead of binding ``api.host:port`` (kept open by the
    #: caller across restarts, see :func:`~storelink.ops.serving.serve_app`)
    listen_socket: socket.socket | None = None
    #: the base URL the API is served on, once entered
    url: str = ""
    workers: list[Worker] = field(default_factory=list)
    log: EventLog | None = None
    dispatcher: Dispatcher | None = None
    odoo: OdooLink | None = None
    _stack: AsyncExitStack = field(default_factory=AsyncExitStack)
    _own_engine: bool = False

    async def __aenter__(self) -> Hub:
        from storelink.api import create_app

        if self.engine is None:
            # every store agent, partner and worker shares this pool; the default (5 + 10)
            # starves a few dozen agents syncing at once into 30 s pool timeouts
            self.engine = create_engine(
                self.settings.effective_database_url, pool_size=20, max_overflow=40
            )
            self._own_engine = True
        try:
            await self._start(self.engine)
            app = create_app(self.settings, engine=self.engine, migrate=False)
            self.url = await self._stack.enter_async_context(
                serve_app(
                    app,
                    host=self.settings.api.host,
                    port=self.settings.api.port,
                    sock=self.listen_socket,
                )
            )
        except BaseException:
            await self._close()
            raise
        log.info("hub.started", url=self.url, workers=len(self.workers))
        return self

    async def _start(self, engine: AsyncEngine) -> None:
        await upgrade(engine)
        event_log = await open_event_log(self.settings, engine)
        self._stack.push_async_callback(event_log.close)
        self.log = event_log
        dispatcher = Dispatcher(
            engine,
            settings=self.settings.webhooks,
            secret_box=SecretBox.from_settings(self.settings),
        )
        self._stack.push_async_callback(dispatcher.aclose)
        self.dispatcher = dispatcher
        fanout_worker = WebhookFeed(
            event_log, engine, dispatcher, ack_wait_s=self.settings.bus.ack_wait_s
        )
        pruner = Pruner.from_settings(engine, self.settings.webhooks)
        sharing = Sharing.of(engine, self.settings.hub)
        self.workers = [
            sharing.leader("relay", Relay(engine, event_log)),
            fanout_worker,
            dispatcher,
            sharing.leader("webhook-pruner", pruner),
        ]
        if self.settings.odoo.url is not None:
            odoo = OdooLink(
                self.settings.odoo,
                engine,
                event_log,
                transport=self.odoo_transport,
                bus=self.settings.bus,
                sharing=sharing,
            )
            self._stack.push_async_callback(odoo.aclose)
            self.odoo = odoo
            self.workers.append(odoo)
        self.workers += self.extra_workers

    async def __aexit__(self, *exc: object) -> None:
        await self._close()
        log.info("hub.stopped", url=self.url)

    async def _close(self) -> None:
        try:
            await self._stack.aclose()
        finally:
            if self._own_engine and self.engine is not None:
                await self.engine.dispose()

    async def run_once(self) -> int:
        """One pass of every worker, in order; the total work done."""
        done = 0
        for worker in self.workers:
            done += await worker.run_once()
        return done

    async def run(self, stop: asyncio.Event) -> None:
        """Run every worker concurrently until ``stop`` is set; a worker that fails restarts."""
        await run_all(self.workers, stop)
