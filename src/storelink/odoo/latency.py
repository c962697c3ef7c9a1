"""What an Odoo call costs in time: a model fitted from real timings, per Odoo series.

A real Odoo answers ``model.method`` in a fixed time plus a time per record it
is given (ids, values, POS orders) or, for reads, per record it returns:
``seconds = fixed_s + per_record_s * size``. ``storelink odoo measure-latency``
times the calls the connector makes against a real server at several batch
sizes (:mod:`storelink.odoo.conformance.latency`) and fits one such line per
call by least squares; the emulator applies it when asked
(``storelink odoo emulate --latency real``, ``[odoo] emulator_latency``), so
throughput measured on the emulator means something for a real server.

The models live in ``storelink/emulator/latency/<series>.json`` (installed
with the package: the emulator reads them at run time). A call never measured
costs the model's ``default`` (the median fixed cost of the calls that were).
A real ``--workers 0`` Odoo answers one call at a time: ``workers`` says how
many calls the server measured works on at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from storelink.errors import ConfigError

#: methods whose size is what they return, not what they are given
READS = frozenset(
    {
        "search_read",
        "read",
        "search",
        "read_group",
        "web_search_read",
        "web_read",
        "web_read_group",
        "formatted_read_group",
        "name_search",
    }
)


#: keyword arguments that carry the records a call is given
_RECORD_KEYWORDS = ("vals_list", "orders", "ids", "data")


def call_size(
    method: str, args: Sequence[Any], result: Any = None, kwargs: Mapping[str, Any] | None = None
) -> int:
    """How many records a call handles: its answer's for reads, else the list it is given."""
    if method in READS:
        return len(result) if isinstance(result, list) else 1
    if method == "load" and len(args) > 1 and isinstance(args[1], list):
        return max(1, len(args[1]))  # load(fields, rows)
    first = args[0] if args else None
    if isinstance(first, list):
        return max(1, len(first))
    for name in _RECORD_KEYWORDS:
        given = (kwargs or {}).get(name)
        if isinstance(given, list):
            return max(1, len(given))
    return 1


def sized_call(entry: Mapping[str, Any]) -> tuple[str, int]:
    """``(model.method, size)`` of one exchange decoded by
    :func:`storelink.odoo.conformance.transport.decode` (the recorder's and the emulator's)."""
    args = entry.get("args") or []
    if entry.get("service") == "object" and len(args) > 5:
        kwargs = args[6] if len(args) > 6 and isinstance(args[6], dict) else {}
        result = (entry.get("answer") or {}).get("result")
        return str(entry["call"]), call_size(str(args[4]), list(args[5] or []), result, kwargs)
    return str(entry.get("call")), 1


@dataclass(frozen=True)
class Sample:
    """One timed call: ``model.method``, the records it handled, the seconds it took."""

    call: str
    size: int
    seconds: float


@dataclass(frozen=True)
class Cost:
    fixed_s: float
    per_record_s: float = 0.0
    samples: int = 0

    def seconds(self, size: int) -> float:
        return self.fixed_s + self.per_record_s * max(0, size)


@dataclass(frozen=True)
class LatencyModel:
    """Per-call costs of one Odoo series, and how many calls it answers at once."""

    series: str
    server_version: str
    calls: Mapping[str, Cost]
    default: Cost
    workers: int = 1
    #: how the model was measured (the command, the batch sizes)
    measured: Mapping[str, Any] = field(default_factory=dict)

    def seconds(self, call: str, size: int) -> float:
        return self.calls.get(call, self.default).seconds(size)

    def describe(self) -> str:
        """``real latency of 17.0-20240709, 1 worker``: what reports name."""
        workers = "1 worker" if self.workers == 1 else f"{self.workers} workers"
        return f"real latency of {self.server_version or self.series}, {workers}"

    def document(self) -> dict[str, Any]:
        return {
            "series": self.series,
            "server_version": self.server_version,
            "workers": self.workers,
            "measured": dict(self.measured),
            "default": _cost_document(self.default),
            "calls": {name: _cost_document(c) for name, c in sorted(self.calls.items())},
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> LatencyModel:
        return cls(
            series=str(document["series"]),
            server_version=str(document.get("server_version", "")),
            calls={name: _cost(c) for name, c in dict(document["calls"]).items()},
            default=_cost(document["default"]),
            workers=int(document.get("workers", 1)),
            measured=dict(document.get("measured", {})),
        )

    def with_workers(self, workers: int) -> LatencyModel:
        if workers < 1:
            raise ConfigError(f"an Odoo has at least one worker, not {workers}", workers=workers)
        return LatencyModel(
            self.series, self.server_version, self.calls, self.default, workers, self.measured
        )


def _cost_document(cost: Cost) -> dict[str, Any]:
    return {
        "fixed_s": round(cost.fixed_s, 6),
        "per_record_s": round(cost.per_record_s, 7),
        "samples": cost.samples,
    }


def _cost(document: Mapping[str, Any]) -> Cost:
    return Cost(
        float(document["fixed_s"]),
        float(document.get("per_record_s", 0.0)),
        int(document.get("samples", 0)),
    )


def fit_cost(samples: Sequence[Sample]) -> Cost:
    """The least-squares line ``fixed + per_record * size`` through ``samples``, never negative."""
    sizes = np.array([s.size for s in samples], dtype=float)
    seconds = np.array([s.seconds for s in samples], dtype=float)
    if len(set(sizes.tolist())) < 2:
        return Cost(float(np.median(seconds)), 0.0, len(samples))
    design = np.column_stack([np.ones_like(sizes), sizes])
    (fixed, per_record), *_ = np.linalg.lstsq(design, seconds, rcond=None)
    if per_record < 0:
        return Cost(float(np.median(seconds)), 0.0, len(samples))
    if fixed < 0:
        return Cost(0.0, float(seconds.sum() / sizes.sum()), len(samples))
    return Cost(float(fixed), float(per_record), len(samples))


def fit(
    samples: Iterable[Sample],
    *,
    series: str,
    server_version: str,
    measured: Mapping[str, Any] | None = None,
) -> LatencyModel:
    """One :class:`Cost` per call seen in ``samples``; the default is their median fixed cost."""
    by_call: dict[str, list[Sample]] = {}
    for sample in samples:
        by_call.setdefault(sample.call, []).append(sample)
    if not by_call:
        raise ConfigError("no timed calls to fit a latency model from")
    calls = {name: fit_cost(group) for name, group in by_call.items()}
    default = Cost(float(np.median([c.fixed_s for c in calls.values()])))
    return LatencyModel(series, server_version, calls, default, 1, measured or {})


MODELS = "storelink.emulator.latency"


def model_path(series: str) -> Path:
    """Where the measured model of ``series`` is kept in the source tree."""
    return Path(str(resources.files(MODELS))) / f"{series}.json"


def measured_series() -> list[str]:
    names = [p.name for p in resources.files(MODELS).iterdir()]
    return sorted(n.removesuffix(".json") for n in names if n.endswith(".json"))


def load_model(series: str) -> LatencyModel:
    """The measured model of Odoo ``series``; a clear error when none was measured."""
    resource = resources.files(MODELS) / f"{series}.json"
    if not resource.is_file():
        have = ", ".join(measured_series()) or "none"
        raise ConfigError(
            f"no latency measured for Odoo {series} (measured: {have}); "
            "run storelink odoo measure-latency against a real one",
            series=series,
        )
    return LatencyModel.from_document(json.loads(resource.read_text(encoding="utf-8")))


def emulator_model(version: str, latency: str, workers: int = 1) -> LatencyModel | None:
    """What an emulator of ``version`` answers with: None for ``fast``, else the measured model."""
    return load_model(version).with_workers(workers) if latency == "real" else None


def emulator_label(version: str, model: LatencyModel | None) -> str:
    """How reports name that emulator: ``emulator 17 (fast)``, ``emulator 17 (real latency …)``."""
    return f"emulator {version} ({model.describe() if model is not None else 'fast'})"
