"""What one sandbox run is asked to do (the ``storelink sandbox`` options)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from storelink.config.sections import OdooSettings


class Defect(StrEnum):
    """Deliberate defects, for tests proving the verification can fail. Never use in earnest."""

    #: one store uploads a copy of a sale under a fresh uuid, bypassing idempotency
    DUPLICATE_UPLOAD = "duplicate_upload"


@dataclass(frozen=True)
class SandboxOptions:
    stores: int = 10
    sales: int = 2000
    seed: int = 1
    #: transactions per second across all tills; 0 posts as fast as the stores answer
    rate: float = 100.0
    #: ``default``, ``none`` or a TOML/JSON schedule file (see :mod:`storelink.sandbox.faults`)
    faults: str = "default"
    products: int = 120
    #: a real Odoo; ``url`` None runs the built-in emulator
    odoo: OdooSettings = field(default_factory=OdooSettings)
    report: Path | None = None
    #: where the hub's and the agents' databases live (a fresh temporary one by default)
    data_dir: Path | None = None
    live: bool = True
    #: remove what the run created in Odoo when done (see :mod:`storelink.sandbox.cleanup`)
    cleanup: bool = False
    #: the longest the estate may take to converge after the last sale
    converge_timeout_s: float = 120.0
    defect: Defect | None = None
    #: web orders the simulated eCommerce channel posts, as a share of ``sales``
    channel_share: float = 0.05
    #: the scale-out path: hub workers, agents and emulator as OS processes on PostgreSQL + NATS
    scale_out: bool = False
    hub_workers: int = 3
    #: PostgreSQL for a scale-out hub (None: a throw-away database on 127.0.0.1:5432, dropped)
    database_url: str | None = None
    #: NATS for a scale-out hub (None: 127.0.0.1:4222, or a server of the run's own when the
    #: schedule restarts the bus); stream names are unique to the run and removed afterwards
    bus_url: str | None = None
