"""Counters of what the emulator served, for tests and benchmarks counting round trips."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Stats:
    #: RPC HTTP requests received (every protocol, faults included)
    round_trips: int = 0
    #: ``"model.method"`` (or ``"common.version"``) -> calls executed
    calls: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        self.round_trips = 0
        self.calls.clear()
