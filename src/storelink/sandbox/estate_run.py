"""A trading run of the whole estate: Odoo, hub, agents, tills, partners, faults, convergence.

The order of things:

1. Odoo (emulator or real) is snapshot for the creation ledger
   (:mod:`storelink.sandbox.ledger`), then seeded with the estate: warehouses,
   products, store prices, opening stock (:class:`OdooSide`).
2. The hub database is migrated; partner endpoints and store credentials are
   created; the hub starts (:class:`~storelink.sandbox.hub_process.HubProcess`).
3. The agents start and pull their catalog; trading starts once every store
   can price every SKU.
4. Tills post the transactions and the web channel posts its orders to the hub's
   API beside them; scheduled faults fire as progress passes them.
5. Every fault window is closed; the run waits (bounded) until the estate has
   converged, then reads everything back for :func:`~storelink.sandbox.verify.verify`.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from rich.console import Console
from rich.live import Live
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from storelink.api import Role
from storelink.api.state import HubState
from storelink.bus.tables import outbox
from storelink.config import Settings
from storelink.config.sections import (
    AgentSettings,
    ApiSettings,
    ObservabilitySettings,
    OdooSettings,
    WebhookSettings,
)
from storelink.db import create_engine, upgrade
from storelink.errors import StorelinkError, SyncError
from storelink.hub import bind, serve_app
from storelink.model import Price, StockPosition, utcnow
from storelink.ops import get_logger
from storelink.sandbox.agent_processes import AgentProcesses
from storelink.sandbox.agents import StoreAgents, StoreCredentials
from storelink.sandbox.bus_server import BusServer
from storelink.sandbox.channel import CHANNEL, ChannelSimulator
from storelink.sandbox.cleanup import CleanupResult
from storelink.sandbox.cluster import HubCluster
from storelink.sandbox.estate import Estate
from storelink.sandbox.faults import (
    WINDOWS,
    BusRestart,
    FaultCursor,
    FaultSchedule,
    HubRestart,
    KillAgent,
    KillWorker,
    LinkDown,
    OdooDown,
    OdooPartition,
    PartnerFailing,
    PriceChange,
    StockCount,
    Transition,
)
from storelink.sandbox.hub_process import HubProcess
from storelink.sandbox.ledger import RunMarks
from storelink.sandbox.links import DuplicateUpload
from storelink.sandbox.live import Snapshot, render
from storelink.sandbox.options import Defect, SandboxOptions
from storelink.sandbox.partners import (
    PartnerReceiver,
    default_partners,
    delivery_counts,
    observe_partners,
    receivers_app,
    register_partners,
)
from storelink.sandbox.scaleout import scale_out_services
from storelink.sandbox.statuses import combined
from storelink.sandbox.tills import Tills
from storelink.sandbox.verify import ChannelObservation, Observations, TxnKey, verify
from storelink.sync.tables import sync_transactions
from storelink.sync.uploads import RECORDED, WRITTEN
from storelink.webhooks import Endpoint, SecretBox

log = get_logger("storelink.sandbox")

#: webhook retries in the sandbox: minutes of real schedule squeezed into seconds
SANDBOX_RETRY_SCHEDULE_S = [0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
#: how often the live view and the convergence probe look
TICK_S = 0.5
#: how long the stores' first catalog download may make no progress before the run fails
STORES_STALL_S = 90.0
#: the fewest seconds between two full read-backs while converging (they are not cheap)
FULL_CHECK_EVERY_S = 3.0


class OdooSide(Protocol):
    """Odoo as the sandbox drives and reads it (emulator or a real database)."""

    #: how the hub reaches this Odoo
    settings: OdooSettings

    async def currency(self) -> str: ...

    async def prepare(self, estate: Estate) -> None:
        """Take the creation ledger's snapshot before anything is written."""
        ...

    async def clean_up(self, marks: RunMarks) -> CleanupResult:
        """Remove what the run created; never raises."""
        ...

    async def seed(self, estate: Estate) -> None: ...

    async def change_prices(self, prices: Sequence[Price]) -> None: ...

    async def count_stock(self, counts: Sequence[StockPosition]) -> None: ...

    async def channel_orders(self, channel: str) -> list[tuple[str, str]]:
        """``(external ref, state)`` per ``sale.order`` of ``channel``."""
        ...

    async def transactions(self) -> list[TxnKey]:
        """One key per till transaction record in Odoo (duplicates repeat; strangers included)."""
        ...

    async def stock(self, estate: Estate) -> dict[str, dict[str, Decimal]]:
        """On-hand per store and SKU."""
        ...

    async def prices(self, estate: Estate) -> dict[str, dict[str, Decimal]]:
        """The store price valid now per store and SKU."""
        ...


class EstateRun:
    """One run; :meth:`run` returns what verification needs."""

    def __init__(
        self,
        options: SandboxOptions,
        estate: Estate,
        schedule: FaultSchedule,
        odoo: OdooSide,
        *,
        console: Console,
    ) -> None:
        self.options = options
        self.estate = estate
        self.schedule = schedule
        self.odoo = odoo
        self.console = console
        self.odoo_round_trips: int | None = None
        #: the deepest any one store's upload queue got during the run
        self.peak_queue_depth = 0
        #: seconds the tills took to post every transaction
        self.trading_s = 0.0
        self.hub_restarts = 0
        self.partners: list[PartnerReceiver] = default_partners()
        self._rng = random.Random(options.seed ^ 0xFA17)
        self._prices = {(p.scope.code, p.sku): p for p in estate.prices}
        self._active: dict[int, str] = {}
        self._phase = "starting"
        self._phase_started = time.monotonic()
        #: seconds spent in each phase, in order
        self.phases: dict[str, float] = {}
        #: feeds the hub's change capture was failing at the end (feed -> why)
        self.capture_failing: dict[str, str] = {}
        self._started = time.monotonic()
        self._odoo_up = True
        self._hub: HubProcess | HubCluster | None = None
        self._agents: StoreAgents | AgentProcesses | None = None
        self._bus_server: BusServer | None = None
        #: the worker each open ``odoo_partition`` window cut
        self._partitioned: dict[int, int] = {}
        #: SIGKILLs of the run (hub workers, agents, the bus server)
        self.kills = 0
        self._tills: Tills | None = None
        self._channel: ChannelSimulator | None = None
        self._webhooks = {"ok": 0, "retrying": 0, "dead": 0}
        self._events_seen = (0.0, 0)
        self._events_per_s = 0.0
        #: whether trading is over (the HTTP answers are judged from then on)
        self._traded = False

    @property
    def refused(self) -> int:
        return self._tills.ledger.refused if self._tills is not None else 0

    # -- set-up ---------------------------------------------------------------------------

    def _settings(self, data_dir: Path, port: int) -> Settings:
        return Settings(
            data_dir=data_dir,
            # poll Odoo often and probe a tripped breaker soon: the run lasts minutes, not days
            # and read changes in big pages: a whole estate arrives through capture at the start
            odoo=self.odoo.settings.model_copy(
                update={"poll_interval_s": 1.0, "breaker_reset_s": 2.0, "batch_size": 1000}
            ),
            # the live view owns the terminal; only errors are worth interrupting it
            observability=ObservabilitySettings(log_level="error"),
            api=ApiSettings(port=port),
            webhooks=WebhookSettings(
                allow_http=True,
                allowed_hosts=["127.0.0.1"],
                timeout_s=5.0,
                retry_schedule_s=SANDBOX_RETRY_SCHEDULE_S,
            ),
            agent=AgentSettings(),
        )

    async def _prepare_hub(
        self, settings: Settings, receivers_url: str
    ) -> tuple[dict[str, Endpoint], dict[str, StoreCredentials]]:
        engine = create_engine(settings.effective_database_url)
        try:
            await upgrade(engine)
            endpoints = await register_partners(
                engine,
                settings.webhooks,
                SecretBox.from_settings(settings),
                receivers_url,
                self.partners,
            )
            tokens = HubState(settings=settings, engine=engine).tokens
            credentials = {}
            for store in self.estate.stores:
                client = await tokens.add_client(
                    Role.STORE, store=store.code, rate_per_s=10_000, burst=10_000
                )
                credentials[store.code] = StoreCredentials(client.client_id, client.secret)
            web = await tokens.add_client(
                Role.CHANNEL, channel=CHANNEL, rate_per_s=10_000, burst=10_000
            )
            credentials[CHANNEL] = StoreCredentials(web.client_id, web.secret)
        finally:
            await engine.dispose()
        return endpoints, credentials

    # -- the run --------------------------------------------------------------------------

    async def run(self) -> Observations:
        async with AsyncExitStack() as stack:
            if self.options.data_dir is not None:
                data_dir = self.options.data_dir
                data_dir.mkdir(parents=True, exist_ok=True)
            else:
                temporary = tempfile.TemporaryDirectory(prefix="storelink-sandbox-")
                stack.callback(temporary.cleanup)
                data_dir = Path(temporary.name)
            live = Live(
                render(self._snapshot()),
                console=self.console,
                refresh_per_second=4,
                transient=False,
                auto_refresh=False,
            )
            if self.options.live:
                stack.enter_context(live)
            ticker = asyncio.create_task(self._tick(live))
            stack.callback(ticker.cancel)

            self._enter("seeding Odoo")
            await self.odoo.prepare(self.estate)
            await self.odoo.seed(self.estate)
            receivers_url = await stack.enter_async_context(serve_app(receivers_app(self.partners)))
            # the hub's port is held from here to the end, across its restart
            listener = bind("127.0.0.1", 0)
            stack.callback(listener.close)
            port = int(listener.getsockname()[1])
            settings = self._settings(data_dir, port)
            if self.options.scale_out:
                services = await stack.enter_async_context(
                    scale_out_services(self.options, self.schedule, data_dir)
                )
                self._bus_server = services.bus_server
                settings = settings.model_copy(
                    update={
                        "database_url": services.database_url,
                        "bus_url": services.bus_url,
                        "bus": services.bus,
                    }
                )
            endpoints, credentials = await self._prepare_hub(settings, receivers_url)
            web = credentials.pop(CHANNEL)
            self._enter("starting hub")
            hub: HubProcess | HubCluster
            if self.options.scale_out:
                hub = HubCluster(
                    settings,
                    workers=self.options.hub_workers,
                    listen_socket=listener,
                    data_dir=data_dir,
                    seed=self.options.seed,
                )
            else:
                hub = HubProcess(settings, listen_socket=listener)
            self._hub = hub
            stack.push_async_callback(hub.aclose)
            await hub.start()
            self._enter("starting stores")
            codes = [s.code for s in self.estate.stores]
            # each pull writes the store's last contact at the hub: keep the
            # estate's pulls to a few dozen a second, however many stores
            download_interval_s = max(2.0, len(self.estate.stores) / 10)
            agents: StoreAgents | AgentProcesses
            if self.options.scale_out:
                agents = await stack.enter_async_context(
                    AgentProcesses.open(
                        codes,
                        hub_port=port,
                        credentials=credentials,
                        data_dir=data_dir,
                        download_interval_s=download_interval_s,
                        seed=self.options.seed,
                    )
                )
            else:
                defect = (
                    DuplicateUpload() if self.options.defect is Defect.DUPLICATE_UPLOAD else None
                )
                agents = await stack.enter_async_context(
                    StoreAgents.open(
                        codes,
                        hub_url=hub.url,
                        credentials=credentials,
                        data_dir=data_dir,
                        defect=defect,
                        download_interval_s=download_interval_s,
                    )
                )
            self._agents = agents
            await self._wait_stores_ready()

            self._enter("trading")
            tills = self._tills = Tills(
                self.estate,
                agents.pos,
                total=self.options.sales,
                rate=self.options.rate,
                seed=self.options.seed,
            )
            channel = self._channel = ChannelSimulator(
                self.estate,
                hub_url=hub.url,
                client_id=web.client_id,
                client_secret=web.client_secret,
                count=round(self.options.sales * self.options.channel_share),
                total=self.options.sales,
                seed=self.options.seed,
            )
            stack.push_async_callback(channel.aclose)
            cursor = FaultCursor(self.schedule)
            faults: asyncio.Task[None] | None = None

            async def fire_due(posted: int) -> None:
                # faults apply in order, beside the tills: a till never waits for a hub restart
                nonlocal faults
                channel.fire(posted)
                due = cursor.due(posted / self.options.sales)
                if due:
                    faults = asyncio.create_task(self._apply_in_order(due, after=faults))

            trading_started = time.monotonic()
            await tills.run(before_each=fire_due)
            await channel.finish()
            self.trading_s = time.monotonic() - trading_started
            await self._apply_in_order(cursor.closing(), after=faults)
            # every killed process back before the estate is judged
            await hub.settle()
            await agents.settle()
            if self._bus_server is not None:
                await self._bus_server.settle()
            self.kills = hub.kills + agents.kills + self._bus_kills()
            self._traded = True

            self._enter("converging")
            observations = await self._converge(endpoints)
            if observations is None:
                self._enter("verifying (not converged)")
                observations = await self._observe(endpoints)
            self.odoo_round_trips = hub.odoo_round_trips
            self.capture_failing = hub.capture_failing
            self._enter("done")
            ticker.cancel()
            if self.options.live:
                live.update(render(self._snapshot()), refresh=True)
            return observations

    async def clean_up(self) -> CleanupResult:
        """Remove from Odoo what this run created (``--cleanup``); never raises."""
        self._enter("cleaning up")
        transactions: set[str] = set()
        if self._tills is not None:
            for _, store, uuid in [*self._tills.ledger.sales, *self._tills.ledger.returns]:
                transactions |= {f"storelink/{store}/{uuid}", f"pos:{store}:{uuid}"}
        channel = (
            {f"{CHANNEL}:{order.external_ref}" for order in self._channel.orders}
            if self._channel is not None
            else set()
        )
        result = await self.odoo.clean_up(RunMarks(frozenset(transactions), frozenset(channel)))
        self._enter("done")
        return result

    def _enter(self, phase: str) -> None:
        now = time.monotonic()
        self.phases[self._phase] = round(now - self._phase_started, 2)
        self._phase, self._phase_started = phase, now

    # -- faults ---------------------------------------------------------------------------

    async def _apply_in_order(
        self, transitions: Sequence[Transition], *, after: asyncio.Task[None] | None
    ) -> None:
        if after is not None:
            await after
        for transition in transitions:
            await self._apply(transition)

    async def _apply(self, transition: Transition) -> None:
        fault, begins = transition.fault, transition.begins
        key = id(fault)
        if begins and isinstance(fault, WINDOWS):
            self._active[key] = _label(fault)
        elif not begins:
            self._active.pop(key, None)
        log.info("sandbox.fault", fault=_label(fault), begins=begins, at=transition.at)
        if isinstance(fault, LinkDown):
            assert self._agents is not None
            self._agents.set_link(fault.store, not begins)
        elif isinstance(fault, OdooDown):
            assert self._hub is not None
            self._hub.set_odoo(not begins)
            self._odoo_up = not begins
        elif isinstance(fault, KillWorker | OdooPartition):
            assert isinstance(self._hub, HubCluster), "checked: process faults need --scale-out"
            if isinstance(fault, KillWorker):
                await self._hub.kill_worker(fault.worker, fault.pause)
            elif begins:
                self._partitioned[key] = self._hub.partition(fault.worker, False)
            else:
                self._hub.partition(self._partitioned.pop(key, fault.worker), True)
        elif isinstance(fault, KillAgent):
            assert isinstance(self._agents, AgentProcesses), "checked: needs --scale-out"
            await self._agents.kill(fault.store, fault.pause)
        elif isinstance(fault, BusRestart):
            assert self._bus_server is not None, "checked: bus_restart needs the run's own bus"
            await self._bus_server.restart(fault.pause)
        elif isinstance(fault, PartnerFailing):
            for partner in self.partners:
                if partner.name == fault.partner:
                    partner.failing = begins
        elif isinstance(fault, HubRestart):
            assert self._hub is not None
            await self._hub.restart()
            self.hub_restarts = self._hub.restarts
        elif isinstance(fault, PriceChange):
            await self.odoo.change_prices(self._changed_prices(fault))
        elif isinstance(fault, StockCount):
            await self.odoo.count_stock(self._counts(fault))

    def _bus_kills(self) -> int:
        return self._bus_server.child.kills if self._bus_server is not None else 0

    def _changed_prices(self, fault: PriceChange) -> list[Price]:
        skus = self._rng.sample([p.sku for p in self.estate.products], fault.skus)
        factor = Decimal(1) + Decimal(str(fault.percent)) / 100
        now = utcnow()
        changed = []
        for store in self.estate.stores:
            for sku in skus:
                old = self._prices[(store.code, sku)]
                new = replace_price(old, (old.amount * factor).quantize(Decimal("0.01")), now)
                self._prices[(store.code, sku)] = new
                changed.append(new)
        return changed

    def _counts(self, fault: StockCount) -> list[StockPosition]:
        skus = self._rng.sample([p.sku for p in self.estate.products], fault.skus)
        location = self.estate.store(fault.store).location
        now = utcnow()
        return [
            StockPosition(
                sku=sku, location=location, on_hand=Decimal(self._rng.randint(5, 150)), as_of=now
            )
            for sku in skus
        ]

    # -- waiting --------------------------------------------------------------------------

    async def _wait_stores_ready(self) -> None:
        """Wait while the stores' catalogs fill up; fail once nothing moved for a while.

        A big estate takes minutes to flow from Odoo through change capture to every
        store, so the bound is on stalling, not on the total time.
        """
        assert self._agents is not None
        skus = [p.sku for p in self.estate.products]
        wanted = len(skus) * len(self.estate.stores)
        best, last_progress = -1, time.monotonic()
        while True:
            _, prices = self._agents.catalog(skus)
            priced = sum(len(found) for found in prices.values())
            if priced >= wanted:
                return
            if priced > best:
                best, last_progress = priced, time.monotonic()
            elif time.monotonic() - last_progress > STORES_STALL_S:
                raise SyncError(
                    f"the stores' catalogs stopped filling at {priced} of {wanted} prices",
                    stores=len(self.estate.stores),
                )
            await asyncio.sleep(1.0)

    async def _wait_until(
        self, condition: Callable[[], object], timeout_s: float, what: str, every_s: float = TICK_S
    ) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            result = condition()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return True
            await asyncio.sleep(every_s)
        log.warning("sandbox.timeout", waiting_for=what, timeout_s=timeout_s)
        return False

    async def _backlog(self) -> int:
        """Work in flight anywhere: store queues, outbox, consumer lag, drain, webhooks;
        -1 while it cannot be told (the hub or the bus restarting)."""
        try:
            return await self._in_flight()
        except (StorelinkError, SQLAlchemyError, OSError) as exc:
            log.info("sandbox.backlog_unknown", error=str(exc))
            return -1

    async def _in_flight(self) -> int:
        assert self._agents is not None and self._hub is not None
        if not self._hub.up:
            return -1
        hub = self._hub
        waiting = sum(view.queue_depth for view in self._agents.views())
        stats = await hub.event_log.stats()
        waiting += sum(group.lag for group in stats.groups)
        async with hub.engine.connect() as connection:
            waiting += int(
                await connection.scalar(select(func.count()).where(outbox.c.published_at.is_(None)))
                or 0
            )
            t = sync_transactions.c
            undrained = (t.status == RECORDED) | (
                (t.status == WRITTEN) & t.applied_revision.is_(None)
            )
            waiting += int(await connection.scalar(select(func.count()).where(undrained)) or 0)
        counts = await delivery_counts(hub.engine)
        return waiting + counts["waiting"] + counts["retrying"]

    async def _converge(self, endpoints: dict[str, Endpoint]) -> Observations | None:
        """Wait (bounded) until nothing is in flight and every check passes.

        Returns the observations that passed, or None when the time ran out.
        """
        last_full = 0.0
        passed: list[Observations] = []

        async def settled() -> bool:
            nonlocal last_full
            # cheap signals first; reading Odoo and the whole event log back is for the end
            if await self._backlog() != 0 or time.monotonic() - last_full < FULL_CHECK_EVERY_S:
                return False
            last_full = time.monotonic()
            observations = await self._observe(endpoints)
            if verify(observations).passed:
                passed.append(observations)
                return True
            return False

        converged = await self._wait_until(
            settled, self.options.converge_timeout_s, "the estate to converge", every_s=0.5
        )
        return passed[-1] if converged else None

    async def _observe(self, endpoints: dict[str, Endpoint]) -> Observations:
        assert self._agents is not None and self._hub is not None and self._tills is not None
        skus = [p.sku for p in self.estate.products]
        store_stock, store_prices = self._agents.catalog(skus)
        hub = self._hub
        return Observations(
            recorded=self._tills.ledger.recorded(),
            in_odoo=await self.odoo.transactions(),
            store_stock=store_stock,
            odoo_stock=await self.odoo.stock(self.estate),
            store_prices=store_prices,
            odoo_prices=await self.odoo.prices(self.estate),
            partners=await observe_partners(hub.engine, hub.event_log, self.partners, endpoints),
            channel=await self._observe_channel(),
            http=self._answers(),
        )

    def _answers(self) -> dict[str, int] | None:
        """Every HTTP answer the tills, the channel and the agents got so far, by status."""
        if not self._traded or self._agents is None or self._channel is None:
            return None
        return combined(
            [self._agents.statuses, self._channel.statuses, *self._agents.hub_answers()]
        )

    async def _observe_channel(self) -> ChannelObservation | None:
        if self._channel is None or not self._channel.orders:
            return None
        return ChannelObservation(
            placed=frozenset(self._channel.placed),
            in_odoo=await self.odoo.channel_orders(CHANNEL),
            abandoned=frozenset(self._channel.abandoned),
        )

    # -- live view ------------------------------------------------------------------------

    async def _tick(self, live: Live) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            try:
                await self._sample()
            except Exception:  # a restarting hub or a closing database: try next tick
                continue
            snapshot = self._snapshot()
            if self.options.live:
                live.update(render(snapshot), refresh=True)

    async def _sample(self) -> None:
        hub = self._hub if self._hub is not None and self._hub.up else None
        if hub is None:
            return
        self._webhooks = await delivery_counts(hub.engine)
        stats = await hub.event_log.stats()
        now = time.monotonic()
        then, before = self._events_seen
        if then:
            self._events_per_s = max(0.0, (stats.last_position - before) / (now - then))
        self._events_seen = (now, stats.last_position)

    def _breaker(self) -> str:
        if self._hub is None or not self._hub.up:
            return "n/a"
        return self._hub.breaker

    def _snapshot(self) -> Snapshot:
        tills = self._tills
        stores = tuple(self._agents.views()) if self._agents else ()
        self.peak_queue_depth = max([self.peak_queue_depth, *(s.queue_depth for s in stores)])
        return Snapshot(
            phase=self._phase,
            elapsed_s=time.monotonic() - self._started,
            posted=tills.posted if tills else 0,
            total=self.options.sales,
            stores=stores,
            odoo_breaker=self._breaker(),
            odoo_up=self._odoo_up,
            hub_up=self._hub is not None and self._hub.up,
            events_per_s=self._events_per_s,
            webhooks_ok=self._webhooks["ok"],
            webhooks_retrying=self._webhooks["retrying"],
            webhooks_dead=self._webhooks["dead"],
            active_faults=tuple(self._active.values()),
        )


def replace_price(old: Price, amount: Decimal, now: datetime) -> Price:
    """The next version of ``old`` at ``amount``, valid from ``now``."""
    return old.model_copy(update={"amount": amount, "version": old.version + 1, "valid_from": now})


def _label(fault: object) -> str:
    if isinstance(fault, LinkDown):
        return f"{fault.store} link down"
    if isinstance(fault, OdooDown):
        return "Odoo down"
    if isinstance(fault, PartnerFailing):
        return f"partner {fault.partner} failing"
    if isinstance(fault, HubRestart):
        return "hub restart"
    if isinstance(fault, PriceChange):
        return f"price change {fault.percent:+g}% on {fault.skus} SKUs"
    if isinstance(fault, StockCount):
        return f"stock count at {fault.store}"
    if isinstance(fault, OdooPartition):
        return "a worker cut off from Odoo"
    return str(getattr(fault, "kind", type(fault).__name__))
