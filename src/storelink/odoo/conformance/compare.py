"""Comparing a replayed transcript with the recorded one, exchange by exchange.

Per step, entries are grouped into their actions (in order) and compared
pairwise:

* ``call`` — the same call and the same request (normalised args), the same
  answer shape (JSON types and keys; a list's shape is the merged shape of its
  items; a missing ``result`` differs from ``"result": null``), the same error
  class (``error.data.name``; for XML-RPC the fault code and the exception
  named on a traceback's last line);
* ``check`` — equal values;
* ``outcome`` — both ok, or the same storelink error type and Odoo exception.

A :class:`Difference` names the step, the entry index in the recorded step,
the action, ``model.method`` (or the check) and the JSON path that differs.
Differences matching an accepted entry (see :class:`Accepted`) are dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Protocol

from storelink.odoo.conformance.transcript import Transcript

Entry = dict[str, Any]


class Accepted(Protocol):
    """A known difference the comparison skips: each field an ``fnmatch`` pattern."""

    @property
    def versions(self) -> tuple[str, ...]: ...
    @property
    def step(self) -> str: ...
    @property
    def call(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def reason(self) -> str: ...


@dataclass(frozen=True)
class Difference:
    step: str
    index: int
    action: str
    call: str
    path: str
    real: str
    replayed: str

    def __str__(self) -> str:
        return (
            f"{self.step} #{self.index} [{self.action}] {self.call} {self.path}: "
            f"real {self.real} | emulator {self.replayed}"
        )


def _short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# shapes ---------------------------------------------------------------------------
@dataclass
class Shape:
    """The merged JSON shape of one or more values."""

    types: set[str] = field(default_factory=set)
    keys: dict[str, Shape] = field(default_factory=dict)
    items: Shape | None = None

    def add(self, value: Any) -> Shape:
        if value is None:
            self.types.add("null")
        elif isinstance(value, bool):
            self.types.add("bool")
        elif isinstance(value, int):
            self.types.add("int")
        elif isinstance(value, float):
            self.types.add("float")
        elif isinstance(value, str):
            self.types.add("str")
        elif isinstance(value, dict):
            self.types.add("object")
            for key, item in value.items():
                self.keys.setdefault(key, Shape()).add(item)
        elif isinstance(value, list):
            self.types.add("list")
            for item in value:
                self.items = (self.items or Shape()).add(item)
        return self

    def describe(self) -> str:
        names = sorted(self.types)
        if "list" in self.types and self.items is None:
            names = [("empty list" if n == "list" else n) for n in names]
        return "|".join(names) or "nothing"


def shape_differences(real: Shape, replayed: Shape, path: str) -> Iterable[tuple[str, str, str]]:
    """``(path, real, replayed)`` wherever two shapes differ."""
    if real.types != replayed.types:
        yield path, real.describe(), replayed.describe()
    if "object" in real.types and "object" in replayed.types:
        only_real = sorted(real.keys.keys() - replayed.keys.keys())
        only_replayed = sorted(replayed.keys.keys() - real.keys.keys())
        if len(only_real) == 1:
            yield f"{path}.{only_real[0]}", real.keys[only_real[0]].describe(), "missing"
        elif only_real:
            yield path, f"{len(only_real)} more keys: {', '.join(only_real)}", "without them"
        if len(only_replayed) == 1:
            yield (
                f"{path}.{only_replayed[0]}",
                "missing",
                replayed.keys[only_replayed[0]].describe(),
            )
        elif only_replayed:
            yield (
                path,
                "without them",
                f"{len(only_replayed)} more keys: {', '.join(only_replayed)}",
            )
        for key in sorted(real.keys.keys() & replayed.keys.keys()):
            yield from shape_differences(real.keys[key], replayed.keys[key], f"{path}.{key}")
    if "list" in real.types and "list" in replayed.types:
        if real.items is not None and replayed.items is not None:
            yield from shape_differences(real.items, replayed.items, f"{path}[*]")
        elif (real.items is None) != (replayed.items is None) and real.types == replayed.types:
            yield f"{path}[*]", _items(real), _items(replayed)


def _items(shape: Shape) -> str:
    return "no items" if shape.items is None else f"items {shape.items.describe()}"


def value_differences(real: Any, replayed: Any, path: str) -> Iterable[tuple[str, str, str]]:
    """``(path, real, replayed)`` wherever two JSON values differ (1 equals 1.0)."""
    if isinstance(real, dict) and isinstance(replayed, dict):
        for key in sorted(real.keys() | replayed.keys()):
            if key not in replayed:
                yield f"{path}.{key}", _short(real[key]), "missing"
            elif key not in real:
                yield f"{path}.{key}", "missing", _short(replayed[key])
            else:
                yield from value_differences(real[key], replayed[key], f"{path}.{key}")
    elif isinstance(real, list) and isinstance(replayed, list):
        if len(real) != len(replayed):
            yield (
                path,
                f"{len(real)} items {_short(real)}",
                f"{len(replayed)} items {_short(replayed)}",
            )
            return
        for n, (a, b) in enumerate(zip(real, replayed, strict=True)):
            yield from value_differences(a, b, f"{path}[{n}]")
    elif real != replayed or (
        type(real) is not type(replayed) and not _both_numbers(real, replayed)
    ):
        yield path, _short(real), _short(replayed)


def _both_numbers(a: Any, b: Any) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in (a, b))


# entries --------------------------------------------------------------------------
def error_class(answer: dict[str, Any]) -> str | None:
    """``error.data.name``, or for an XML-RPC fault its code and the exception it names."""
    error = answer.get("error")
    if isinstance(error, dict):
        data = error.get("data")
        return str(data.get("name")) if isinstance(data, dict) else str(error.get("message"))
    fault = answer.get("fault")
    if isinstance(fault, dict):
        text = str(fault.get("faultString", ""))
        last = text.strip().splitlines()[-1] if text.strip() else ""
        named = last.partition(":")[0] if "<traceback>" in text else ""
        return f"fault {fault.get('faultCode')} {named}".strip()
    return None


def entry_differences(real: Entry, replayed: Entry) -> Iterable[tuple[str, str, str]]:
    kind = real.get("kind")
    if kind != replayed.get("kind"):
        yield "kind", str(kind), str(replayed.get("kind"))
        return
    if kind == "call":
        if real.get("call") != replayed.get("call"):
            yield "call", str(real.get("call")), str(replayed.get("call"))
            return
        yield from value_differences(real.get("args"), replayed.get("args"), "args")
        a, b = dict(real.get("answer") or {}), dict(replayed.get("answer") or {})
        if error_class(a) != error_class(b):
            yield "answer.error", str(error_class(a)), str(error_class(b))
        else:
            yield from shape_differences(Shape().add(a), Shape().add(b), "answer")
    elif kind == "check":
        yield from value_differences(real.get("value"), replayed.get("value"), "value")
    elif kind == "outcome":
        if real.get("ok") != replayed.get("ok"):
            yield "ok", _short(real.get("error", True)), _short(replayed.get("error", True))
            return
        ra, rb = real.get("error") or {}, replayed.get("error") or {}
        for key in ("type", "odoo_exception"):
            if ra.get(key) != rb.get(key):
                yield f"error.{key}", _short(ra), _short(rb)


def _label(entry: Entry) -> str:
    if entry.get("kind") == "call":
        return str(entry.get("call"))
    if entry.get("kind") == "check":
        return f"check {entry.get('check')!r}"
    return "outcome"


def _actions(entries: Sequence[Entry]) -> list[tuple[str, list[tuple[int, Entry]]]]:
    """Entries cut into runs of one action, in order, with their index in the step."""
    runs: list[tuple[str, list[tuple[int, Entry]]]] = []
    for index, entry in enumerate(entries):
        action = str(entry.get("action"))
        if not runs or runs[-1][0] != action:
            runs.append((action, []))
        runs[-1][1].append((index, entry))
    return runs


def _action_differences(
    step: str, action: str, real: list[tuple[int, Entry]], replayed: list[tuple[int, Entry]]
) -> list[Difference]:
    """One action's entries compared pairwise; once it went another way, only that is said."""
    out: list[Difference] = []
    for (index, mine), (_, theirs) in zip(real, replayed, strict=False):
        found = list(entry_differences(mine, theirs))
        out.extend(Difference(step, index, action, _label(mine), *d) for d in found)
        if any(path in ("kind", "call") for path, _, _ in found):
            return out
    if len(real) != len(replayed):
        index, extra = real[len(replayed)] if len(real) > len(replayed) else replayed[len(real)]
        counts = f"{len(real)} entries", f"{len(replayed)} entries"
        out.append(Difference(step, index, action, _label(extra), "entries", *counts))
    return out


def step_differences(
    step: str, real: Sequence[Entry], replayed: Sequence[Entry]
) -> list[Difference]:
    """The differences of one step, action by action, up to the first action that differs."""
    out: list[Difference] = []
    real_runs, replayed_runs = _actions(real), _actions(replayed)
    for n, (action, entries) in enumerate(real_runs):
        if n >= len(replayed_runs) or replayed_runs[n][0] != action:
            other = replayed_runs[n][0] if n < len(replayed_runs) else "nothing"
            out.append(Difference(step, entries[0][0], action, "", "action", action, other))
            return out
        out.extend(_action_differences(step, action, entries, replayed_runs[n][1]))
    if len(replayed_runs) > len(real_runs):
        extra_action = replayed_runs[len(real_runs)][0]
        out.append(Difference(step, len(real), extra_action, "", "action", "nothing", extra_action))
    return out


def is_accepted(difference: Difference, series: str, accepted: Iterable[Accepted]) -> bool:
    return any(
        any(fnmatchcase(series, v) for v in rule.versions)
        and fnmatchcase(difference.step, rule.step)
        and fnmatchcase(difference.call, rule.call)
        and fnmatchcase(difference.path, rule.path)
        for rule in accepted
    )


def compare(
    real: Transcript,
    replayed: Transcript,
    accepted: Iterable[Accepted] = (),
    *,
    steps: Sequence[str] | None = None,
) -> list[Difference]:
    """Every difference of ``replayed`` from ``real`` that is not ``accepted``."""
    rules = list(accepted)
    out: list[Difference] = []
    for step, entries in real.steps.items():
        if steps is not None and step not in steps:
            continue
        if step not in replayed.steps:
            out.append(Difference(step, 0, "", "", "step", "recorded", "not played"))
            continue
        out.extend(step_differences(step, entries, replayed.steps[step]))
    return [d for d in out if not is_accepted(d, real.series, rules)]


def report(differences: Sequence[Difference], limit: int = 200) -> str:
    """The differences, one per line (at most ``limit``)."""
    lines = [str(d) for d in differences[:limit]]
    if len(differences) > limit:
        lines.append(f"… and {len(differences) - limit} more")
    return "\n".join(lines)
