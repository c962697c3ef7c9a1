"""The load of ``bench/capacity.py`` and its verdicts: stores uploading, tills, Odoo watched.

* :class:`StoreUploader`: one simulated store, sending its queue the way an agent's
  uploader does (token, batches of up to 200, one request in flight, ``Retry-After``
  honoured, the same batch resent after a transport error: uploads are idempotent by uuid);
* :class:`Tills`: hands sales to the stores at a rate paced against the clock;
* :class:`ArrivalPoller`: notes when each sale first shows up in Odoo as a ``pos.order``;
* :class:`Step` and :func:`judge`: what a step posted, what arrived when, and whether the
  rate was sustained (see ``bench/capacity.py`` for the definition).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from storelink.config.sections import AgentSettings
from storelink.edge.hub import HttpHubClient
from storelink.edge.loop import retry_delay
from storelink.edge.queue import QueuedTransaction
from storelink.errors import HubUnreachableError, OdooError, SyncError
from storelink.model import utcnow
from storelink.odoo import OdooConnector
from storelink.sandbox.baskets import BasketMaker
from storelink.sandbox.estate import Estate
from storelink.sync.backoff import Backoff
from storelink.sync.wire import StoreTransaction, TransactionKind

#: the share of a step's sales that must be in Odoo within ``--within-s``
SLO_SHARE = 0.99
#: the share of a step's sales that must be in Odoo for its pace to be measured
PACE_SHARE = 0.90
#: the pace is fitted on the sales posted after this share of the step: the latency moves to
#: the new rate's level in the first moments (bigger batches), which is no lasting growth
PACE_FROM = 1 / 3


# --- what was posted and what arrived ---------------------------------------------------


@dataclass
class Step:
    """One step of the burst: the sales posted during it and when each first showed in Odoo."""

    index: int
    rate: float
    #: this run's sales in Odoo when the step began
    odoo_orders: int = 0
    started: float = 0.0
    ended: float = 0.0
    posted: dict[str, float] = field(default_factory=dict)
    arrived: dict[str, float] = field(default_factory=dict)

    def in_time(self, within_s: float) -> int:
        return sum(1 for u, t in self.arrived.items() if t - self.posted[u] <= within_s)

    def decided(self, now: float, within_s: float) -> bool:
        """Whether more waiting can no longer change this step's verdict.

        Either 99 % are already in Odoo in time (enough to fit the pace on, too), or more
        than 1 % are late or still missing past ``within_s``.
        """
        need = math.ceil(SLO_SHARE * len(self.posted))
        on_time = self.in_time(within_s)
        if on_time >= need:
            return True
        overdue = sum(
            1 for u, t in self.posted.items() if u not in self.arrived and now - t > within_s
        )
        return (len(self.arrived) - on_time) + overdue > len(self.posted) - need


class Ledger:
    """Every judged sale by uuid; the poller reports arrivals here (unknown ones are load)."""

    def __init__(self) -> None:
        self._owner: dict[str, Step] = {}

    def post(self, step: Step, uuid: str, at: float) -> None:
        step.posted[uuid] = at
        self._owner[uuid] = step

    def seen(self, uuid: str, at: float) -> None:
        step = self._owner.get(uuid)
        if step is not None and uuid not in step.arrived:
            step.arrived[uuid] = at


@dataclass(frozen=True)
class StepFigures:
    step: int
    odoo_orders: int
    target_per_s: float
    achieved_per_s: float
    sales: int
    in_odoo: int
    in_time_share: float
    p50_s: float | None
    p99_s: float | None
    #: D/r from the latency's growth through the step (None: fewer than 90 % arrived)
    pace: float | None
    #: what Odoo took in meanwhile, ``achieved * min(pace, 1)``: the hub's intake D once a
    #: step overloads it
    intake_per_s: float | None
    sustained: bool
    why: str


def _quantile(ordered: list[float], q: float) -> float | None:
    value = ordered[max(0, math.ceil(q * len(ordered)) - 1)]
    return None if math.isinf(value) else round(value, 2)


def latency_pace(samples: list[tuple[float, float]]) -> float:
    """D/r estimated from how latency grows with posting time (least squares).

    A hub taking sales in at D while they are posted at r makes each sale wait
    ``r/D - 1`` seconds longer per second of posting than the one before, so the slope
    of latency against posting time gives ``D/r = 1 / (1 + slope)``; a hub keeping pace
    has a flat latency (pace about 1, above 1 while it catches up). The fit uses every
    sale, so the poll's one-second steps in the arrival times average out.
    """
    count = len(samples)
    if count < 2:
        return 1.0
    mean_t = sum(t for t, _ in samples) / count
    mean_l = sum(lat for _, lat in samples) / count
    spread = sum((t - mean_t) ** 2 for t, _ in samples)
    if spread == 0:
        return 1.0
    slope = sum((t - mean_t) * (lat - mean_l) for t, lat in samples) / spread
    return round(1 / (1 + slope), 2) if slope > -0.99 else 99.0


def judge(step: Step, within_s: float, pace_min: float) -> StepFigures:
    n = len(step.posted)
    last_post = max(step.posted.values())
    achieved = n / (max(step.ended, last_post) - step.started)
    latencies = sorted(
        step.arrived[u] - t if u in step.arrived else math.inf for u, t in step.posted.items()
    )
    share = step.in_time(within_s) / n
    pace = None
    if len(step.arrived) >= PACE_SHARE * n:
        settled = step.started + PACE_FROM * (step.ended - step.started)
        pace = latency_pace(
            [
                (t, step.arrived[u] - t)
                for u, t in step.posted.items()
                if u in step.arrived and t >= settled
            ]
        )
    slo_met = share >= SLO_SHARE
    kept_pace = pace is not None and pace >= pace_min
    why = "ok"
    if not slo_met:
        why = f"only {share:.1%} in Odoo within {within_s:g} s"
    elif not kept_pace:
        why = f"Odoo took the sales in at {pace} of the posting rate"
    return StepFigures(
        step=step.index,
        odoo_orders=step.odoo_orders,
        target_per_s=round(step.rate, 1),
        achieved_per_s=round(achieved, 1),
        sales=n,
        in_odoo=len(step.arrived),
        in_time_share=round(share, 4),
        p50_s=_quantile(latencies, 0.50),
        p99_s=_quantile(latencies, 0.99),
        pace=pace,
        intake_per_s=None if pace is None else round(achieved * min(pace, 1.0), 1),
        sustained=slo_met and kept_pace,
        why=why,
    )


# --- the stores -------------------------------------------------------------------------


class StoreUploader:
    """One store's upload queue, sent the way an agent's uploader sends it (see the module
    docstring); every answer is counted in ``statuses``."""

    def __init__(
        self, code: str, client: HttpHubClient, statuses: Counter[str], agent: AgentSettings
    ) -> None:
        self.code = code
        self.client = client
        self.statuses = statuses
        self.batch_size = agent.upload_batch_size
        self.backoff = Backoff(base_s=agent.backoff_base_s, cap_s=agent.backoff_cap_s)
        self.queue: deque[QueuedTransaction] = deque()
        self.duplicates = 0
        self._wake = asyncio.Event()

    def post(self, transaction: QueuedTransaction) -> None:
        self.queue.append(transaction)
        self._wake.set()

    async def run(self) -> None:
        while True:
            if not self.queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = list(itertools.islice(self.queue, self.batch_size))
            try:
                result = await self.client.upload(self.code, batch)
            except HubUnreachableError as exc:
                self.statuses[_status(exc.context.get("status"))] += 1
                await asyncio.sleep(retry_delay(exc, self.backoff))
                continue
            except SyncError as exc:
                if exc.context.get("status") != 409:
                    raise
                # a resent batch raced its own first copy (still running at the hub)
                self.statuses["409"] += 1
                await asyncio.sleep(retry_delay(exc, self.backoff))
                continue
            self.backoff.reset()
            self.statuses["2xx"] += 1
            # sales the hub already held: a batch resent after its answer was lost
            self.duplicates += len(result.duplicates)
            for _ in batch:
                self.queue.popleft()


def _status(status: object) -> str:
    if status is None:
        return "transport"
    if status in (429, 503):
        return str(status)
    return "5xx" if isinstance(status, int) and status >= 500 else str(status)


class Tills:
    """Hands sales to the stores at a rate, paced against the clock (a slow moment is caught
    up, never dropped); a sale is tagged with the judged step, or with none while held."""

    def __init__(self, estate: Estate, stores: dict[str, StoreUploader], seed: int) -> None:
        self._estate = estate
        self.stores = stores
        self._rng = random.Random(seed ^ 0xF1A5)
        self._maker = BasketMaker(estate, self._rng)
        self._codes = sorted(stores)
        # some stores are busier than others (a flagship does three times a kiosk)
        self._traffic = [self._rng.uniform(1.0, 3.0) for _ in self._codes]
        self._due = 0.0
        #: every sale handed to a store (judged or load), by uuid
        self.posted: set[str] = set()

    def start_clock(self) -> None:
        """Pace from now on (before the first step; the steps and holds then follow on
        without a gap, and a moment the loop was busy is caught up on)."""
        self._due = time.monotonic()

    def post_one(self, code: str) -> str:
        till = str(len(self.posted) % 3 + 1)
        sale = self._maker.sale(code, till, utcnow(), self._estate.price_of)
        transaction = StoreTransaction(
            uuid=sale.id, kind=TransactionKind.SALE, recorded_at=sale.occurred_at, sale=sale
        )
        self.stores[code].post(QueuedTransaction.of(transaction))
        self.posted.add(str(sale.id))
        return str(sale.id)

    async def run_until(
        self, deadline: float, rate: float, tag: Callable[[str, float], None] | None
    ) -> None:
        while self._due < deadline:
            now = time.monotonic()
            while self._due <= now and self._due < deadline:
                (code,) = self._rng.choices(self._codes, self._traffic)
                uuid = self.post_one(code)
                if tag is not None:
                    tag(uuid, time.monotonic())
                self._due += 1 / rate
            await asyncio.sleep(max(0.0, min(self._due, deadline) - time.monotonic()))


class ArrivalPoller:
    """Reads the new ``pos.order`` records about every ``every_s`` and reports each
    ``storelink/<store>/<uuid>`` reference to the ledger, stamped with the poll's answer time."""

    def __init__(self, connector: OdooConnector, ledger: Ledger, every_s: float) -> None:
        self.connector = connector
        self.ledger = ledger
        self.every_s = every_s
        self.last_id = 0
        self.errors = 0
        self.seen: set[str] = set()

    async def run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                rows = await self.connector.client.search_read(
                    "pos.order", [["id", ">", self.last_id]], ["pos_reference"], order="id"
                )
            except OdooError:
                self.errors += 1
                rows = []
            answered = time.monotonic()
            for row in rows:
                self.last_id = max(self.last_id, int(row["id"]))
                reference = row.get("pos_reference")
                if isinstance(reference, str) and reference.startswith("storelink/"):
                    uuid = reference.rsplit("/", 1)[-1]
                    self.seen.add(uuid)
                    self.ledger.seen(uuid, answered)
            await asyncio.sleep(max(0.0, self.every_s - (time.monotonic() - started)))
