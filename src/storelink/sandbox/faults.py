"""The fault schedule: what goes wrong during a sandbox run, and when.

Times are **fractions of the run's sales** (``0.0`` = the first sale posted,
``1.0`` = the last), so a schedule means the same thing at any rate or size.
A schedule is a TOML or JSON file with a list named ``fault``::

    # faults.toml
    [[fault]]
    kind = "link_down"        # a store's link to the hub drops (its till keeps selling)
    store = "S002"
    start = 0.10
    end = 0.35

    [[fault]]
    kind = "odoo_down"        # Odoo unreachable (connection refused / 503)
    start = 0.40
    end = 0.55

    [[fault]]
    kind = "partner_failing"  # a partner webhook receiver answers 500
    partner = "flaky"
    start = 0.20
    end = 0.60

    [[fault]]
    kind = "hub_restart"      # the hub component is stopped and a fresh one started
    at = 0.50

    [[fault]]
    kind = "price_change"     # prices changed in Odoo (SKUs drawn from the seed)
    at = 0.20
    skus = 5
    percent = 10              # signed change, e.g. -15 for a markdown

    [[fault]]
    kind = "stock_count"      # a stock count applied in Odoo for one store
    store = "S002"
    at = 0.25
    skus = 5

Process-level chaos, for ``--scale-out`` runs only (real processes, real signals)::

    [[fault]]
    kind = "kill_worker"      # SIGKILL one hub worker process, restart it after a pause
    at = 0.30
    worker = 1                # optional: which (0-based); drawn from the seed when absent
    pause = 1.0               # seconds before the restart

    [[fault]]
    kind = "kill_agent"       # SIGKILL a store agent process while its tills post, restart it
    at = 0.45
    store = "S003"            # optional: drawn from the seed when absent

    [[fault]]
    kind = "odoo_partition"   # one hub worker's line to Odoo cut (the others still reach it)
    start = 0.50
    end = 0.70
    worker = 0                # optional

    [[fault]]
    kind = "bus_restart"      # the run's own nats-server SIGKILLed and started again
    at = 0.60
    pause = 1.0

JSON is the same shape: ``{"fault": [{"kind": "odoo_down", "start": 0.4, "end": 0.55}]}``.
Windows still open when the last sale is posted are closed then, so every
run converges. ``--faults none`` is the empty schedule; ``--faults default``
is :func:`default_schedule`.
"""

from __future__ import annotations

import json
import random
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator
from pydantic import ValidationError as PydanticValidationError

from storelink.errors import UsageError

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class _Fault(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Window(_Fault):
    start: Fraction
    end: Fraction

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise ValueError("end must be later than start")
        return self


class LinkDown(_Window):
    kind: Literal["link_down"] = "link_down"
    store: str


class OdooDown(_Window):
    kind: Literal["odoo_down"] = "odoo_down"


class PartnerFailing(_Window):
    kind: Literal["partner_failing"] = "partner_failing"
    partner: str


class HubRestart(_Fault):
    kind: Literal["hub_restart"] = "hub_restart"
    at: Fraction


class PriceChange(_Fault):
    kind: Literal["price_change"] = "price_change"
    at: Fraction
    skus: int = Field(default=5, ge=1, le=1000)
    percent: float = Field(default=10.0, gt=-90.0, le=500.0)


class StockCount(_Fault):
    kind: Literal["stock_count"] = "stock_count"
    at: Fraction
    store: str
    skus: int = Field(default=5, ge=1, le=1000)


class KillWorker(_Fault):
    kind: Literal["kill_worker"] = "kill_worker"
    at: Fraction
    worker: int | None = Field(default=None, ge=0)
    pause: float = Field(default=1.0, ge=0, le=60)


class KillAgent(_Fault):
    kind: Literal["kill_agent"] = "kill_agent"
    at: Fraction
    store: str | None = None
    pause: float = Field(default=0.5, ge=0, le=60)


class OdooPartition(_Window):
    kind: Literal["odoo_partition"] = "odoo_partition"
    worker: int | None = Field(default=None, ge=0)


class BusRestart(_Fault):
    kind: Literal["bus_restart"] = "bus_restart"
    at: Fraction
    pause: float = Field(default=1.0, ge=0, le=60)


#: faults that need the hub and the agents as OS processes (``--scale-out``)
PROCESS_FAULTS = (KillWorker, KillAgent, OdooPartition, BusRestart)
#: faults that open and close a window (the others fire once)
WINDOWS = (LinkDown, OdooDown, PartnerFailing, OdooPartition)

Fault = Annotated[
    LinkDown
    | OdooDown
    | PartnerFailing
    | HubRestart
    | PriceChange
    | StockCount
    | KillWorker
    | KillAgent
    | OdooPartition
    | BusRestart,
    Field(discriminator="kind"),
]
_FAULTS: TypeAdapter[list[Fault]] = TypeAdapter(list[Fault])


@dataclass(frozen=True)
class Transition:
    """One thing the runner must do now: a window opening or closing, or a one-off fault."""

    at: float
    fault: Fault
    #: True when a window opens (or a one-off fires), False when a window closes
    begins: bool


@dataclass(frozen=True)
class FaultSchedule:
    faults: tuple[Fault, ...]

    def transitions(self) -> list[Transition]:
        """Every opening, closing and one-off, in the order they happen."""
        found: list[Transition] = []
        for fault in self.faults:
            if isinstance(fault, WINDOWS):
                found.append(Transition(fault.start, fault, True))
                found.append(Transition(fault.end, fault, False))
            else:
                found.append(Transition(fault.at, fault, True))
        # closings before openings at the same instant keep windows from overlapping themselves
        return sorted(found, key=lambda t: (t.at, t.begins))

    @property
    def kills(self) -> int:
        """SIGKILLs the schedule asks for (workers, agents and the bus server)."""
        return sum(isinstance(f, KillWorker | KillAgent | BusRestart) for f in self.faults)

    def check_against(
        self,
        stores: Sequence[str],
        partners: Sequence[str],
        *,
        hub_workers: int | None = None,
    ) -> None:
        """Fail with one line per fault that names a store, partner or worker the estate lacks.

        ``hub_workers`` is None for the embedded (single-process) run, where the
        process-level faults cannot happen.
        """
        problems = []
        for n, fault in enumerate(self.faults):
            if isinstance(fault, PROCESS_FAULTS) and hub_workers is None:
                problems.append(f"fault[{n}]: {fault.kind} needs --scale-out (processes to kill)")
            worker = getattr(fault, "worker", None)
            if worker is not None and hub_workers is not None and worker >= hub_workers:
                problems.append(f"fault[{n}]: no hub worker {worker} (have {hub_workers})")
            store = getattr(fault, "store", None)
            if store is not None and store not in stores:
                problems.append(f"fault[{n}]: no store {store!r} in this estate")
            partner = getattr(fault, "partner", None)
            if partner is not None and partner not in partners:
                problems.append(f"fault[{n}]: no partner {partner!r} (have {', '.join(partners)})")
        if problems:
            raise UsageError("the fault schedule does not fit the estate", problems=problems)


class FaultCursor:
    """Hands out each transition once, as the run's progress passes it."""

    def __init__(self, schedule: FaultSchedule) -> None:
        self._pending = schedule.transitions()

    def due(self, progress: float) -> list[Transition]:
        """Transitions at or before ``progress`` not handed out yet."""
        ready = [t for t in self._pending if t.at <= progress]
        self._pending = self._pending[len(ready) :]
        return ready

    def closing(self) -> list[Transition]:
        """Every transition still pending that closes a window (for the end of a run)."""
        closing = [t for t in self._pending if not t.begins]
        self._pending = []
        return closing


_KINDS = {
    "link_down",
    "odoo_down",
    "partner_failing",
    "hub_restart",
    "price_change",
    "stock_count",
    "kill_worker",
    "kill_agent",
    "odoo_partition",
    "bus_restart",
}


def _where(loc: tuple[int | str, ...]) -> str:
    # pydantic puts the tag in the path ("0.odoo_down.end"); people wrote "fault[0].end"
    parts = [p for n, p in enumerate(loc) if not (n == 1 and p in _KINDS)]
    return "fault" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def parse_schedule(text: str, *, format: Literal["toml", "json"]) -> FaultSchedule:
    try:
        document = tomllib.loads(text) if format == "toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"fault schedule is not valid {format.upper()}: {exc}") from exc
    if not isinstance(document, dict) or set(document) - {"fault"}:
        raise UsageError('a fault schedule has one top-level key, "fault" (a list)')
    try:
        faults = _FAULTS.validate_python(document.get("fault", []))
    except PydanticValidationError as exc:
        problems = [f"{_where(e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise UsageError("invalid fault schedule", problems=problems) from exc
    return FaultSchedule(tuple(faults))


def default_schedule(stores: Sequence[str], seed: int) -> FaultSchedule:
    """The schedule ``--faults default`` runs: every kind of fault at least once.

    About a third of the stores (at least one) lose their link for a random
    window; prices change and a stock count happens while a store is offline.
    """
    rng = random.Random(seed ^ 0x5EED)
    dropped = rng.sample(list(stores), max(1, len(stores) // 3))
    faults: list[Fault] = []
    for store in dropped:
        start = round(rng.uniform(0.05, 0.55), 3)
        faults.append(
            LinkDown(store=store, start=start, end=round(start + rng.uniform(0.1, 0.3), 3))
        )
    first = faults[0]
    assert isinstance(first, LinkDown)
    middle = round((first.start + first.end) / 2, 3)
    faults += [
        OdooDown(start=0.40, end=0.55),
        PartnerFailing(partner="flaky", start=0.20, end=0.60),
        HubRestart(at=0.65),
        PriceChange(at=middle, skus=5, percent=round(rng.uniform(-20, 20), 1) or 5.0),
        StockCount(at=middle, store=first.store, skus=5),
    ]
    return FaultSchedule(tuple(faults))


#: SIGKILLs ``--faults chaos`` schedules at the least
CHAOS_KILLS = 32


def chaos_schedule(stores: Sequence[str], seed: int) -> FaultSchedule:
    """``--faults chaos``: the default schedule plus process-level chaos (``--scale-out``).

    :data:`CHAOS_KILLS` kills spread over the trading, about two thirds of them hub
    workers and a third store agents (each at a random moment, the victim drawn when
    it fires unless named), two restarts of the bus server, and two windows in which
    one worker's line to Odoo is cut. The default schedule's ``hub_restart`` becomes
    a restart of every worker at once.
    """
    rng = random.Random(seed ^ 0xC4A05)
    faults: list[Fault] = list(default_schedule(stores, seed).faults)
    kills = CHAOS_KILLS - 2
    for n in range(kills):
        # one kill per slot of the run, at a random moment inside it: never two at once
        at = round((n + rng.uniform(0.1, 0.9)) / kills * 0.95, 4)
        if n % 3 == 2:
            faults.append(KillAgent(at=at, store=rng.choice(list(stores))))
        else:
            faults.append(KillWorker(at=at, pause=round(rng.uniform(0.5, 2.0), 2)))
    faults += [
        BusRestart(at=0.33),
        BusRestart(at=0.77),
        OdooPartition(start=0.15, end=0.30),
        OdooPartition(start=0.70, end=0.85),
    ]
    return FaultSchedule(tuple(faults))


def load_schedule(spec: str, stores: Sequence[str], seed: int) -> FaultSchedule:
    """``default``, ``chaos``, ``none``, or a ``.toml``/``.json`` file path."""
    if spec == "default":
        return default_schedule(stores, seed)
    if spec == "chaos":
        return chaos_schedule(stores, seed)
    if spec == "none":
        return FaultSchedule(())
    path = Path(spec)
    if not path.is_file():
        raise UsageError(f"--faults: {spec!r} is neither default, chaos, none, nor a readable file")
    format: Literal["toml", "json"] = "json" if path.suffix.lower() == ".json" else "toml"
    return parse_schedule(path.read_text(encoding="utf-8"), format=format)
