"""``read_group`` (16-19) and ``formatted_read_group`` (19): aggregates per group."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storelink.emulator.exceptions import ProgrammingError
from storelink.emulator.orm import Env

_NUMERIC = ("integer", "float", "monetary")


def _aggregate(values: list[Any], function: str) -> Any:
    numbers = [v for v in values if v is not False and v is not None]
    if function == "sum":
        return sum(numbers) if numbers else 0
    if function == "min":
        return min(numbers) if numbers else False
    if function == "max":
        return max(numbers) if numbers else False
    if function == "avg":
        return sum(numbers) / len(numbers) if numbers else False
    if function == "count":
        return len(numbers)
    if function == "count_distinct":
        return len(set(numbers))
    if function == "array_agg":
        return numbers
    raise ProgrammingError(f"Invalid aggregation function {function!r}")


def _group_key(env: Env, model: str, record: dict[str, Any], name: str) -> Any:
    value = env.value(model, record, name)
    if isinstance(value, list):
        return value[0] if value else False
    return value


def _label(env: Env, model: str, name: str, key: Any) -> Any:
    field = env.field(model, name)
    if field.type == "many2one" and key:
        assert field.relation is not None
        target = env.table(field.relation).get(key)
        return [key, env.display_name(field.relation, target) if target else ""]
    return key


def _groups(
    env: Env, model: str, domain: Sequence[Any], groupby: Sequence[str]
) -> tuple[dict[tuple[Any, ...], list[dict[str, Any]]], list[dict[str, Any]]]:
    ids = env.search(model, domain)
    records = env.browse(model, ids)
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for record in records:
        key = tuple(_group_key(env, model, record, g) for g in groupby)
        groups.setdefault(key, []).append(record)
    return groups, records


def _sorted_keys(keys: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(keys, key=lambda k: tuple((v is False, v if v is not False else 0) for v in k))


def read_group(
    env: Env,
    model: str,
    domain: Sequence[Any],
    fields: Sequence[str],
    groupby: str | Sequence[str],
    offset: int = 0,
    limit: int | None = None,
    orderby: str | bool = False,
    lazy: bool = True,
) -> list[dict[str, Any]]:
    """The 16-18 public ``read_group``: ``<groupby>_count`` when lazy, ``__count`` otherwise."""
    groupby_list = [groupby] if isinstance(groupby, str) else list(groupby)
    used = groupby_list[:1] if lazy else groupby_list
    for name in used:
        env.field(model, name.split(":")[0])
    used = [g.split(":")[0] for g in used]
    aggregates: list[tuple[str, str, str]] = []  # (alias, field, function)
    for spec in fields:
        alias, _, rest = spec.partition(":")
        if rest:
            function, _, source = rest.partition("(")
            source = source.rstrip(")") or alias
        else:
            function, source = "sum", alias
        if alias in used or source in used:
            continue
        field = env.field(model, source)
        if field.type in _NUMERIC:
            aggregates.append((alias, source, function))
    groups, _ = _groups(env, model, domain, used)
    keys = _sorted_keys(list(groups))
    if orderby and isinstance(orderby, str) and orderby.split()[-1].lower() == "desc":
        keys.reverse()
    keys = keys[offset : (offset + limit) if limit else None]
    rows = []
    count_key = f"{used[0]}_count" if lazy and used else "__count"
    for key in keys:
        members = groups[key]
        row: dict[str, Any] = {}
        for name, value in zip(used, key, strict=True):
            row[name] = _label(env, model, name, value)
        row[count_key] = len(members)
        for alias, source, function in aggregates:
            row[alias] = _aggregate([env.value(model, r, source) for r in members], function)
        row["__domain"] = [
            *[[name, "=", value] for name, value in zip(used, key, strict=True)],
            *list(domain),
        ]
        if lazy and len(groupby_list) > 1:
            row["__context"] = {"group_by": groupby_list[1:]}
        rows.append(row)
    return rows


def formatted_read_group(
    env: Env,
    model: str,
    domain: Sequence[Any] | None = None,
    groupby: Sequence[str] = (),
    aggregates: Sequence[str] = (),
    having: Sequence[Any] = (),
    offset: int = 0,
    limit: int | None = None,
    order: str | None = None,
) -> list[dict[str, Any]]:
    """Odoo 19's public grouping API: ``"<field>:<function>"`` keys and ``__count``."""
    domain = list(domain or [])
    names = [g.split(":")[0] for g in groupby]
    for name in names:
        env.field(model, name)
    groups, _ = _groups(env, model, domain, names)
    keys = _sorted_keys(list(groups))
    if order and order.split()[-1].lower() == "desc":
        keys.reverse()
    keys = keys[offset : (offset + limit) if limit else None]
    rows = []
    for key in keys:
        members = groups[key]
        row: dict[str, Any] = {}
        for name, value in zip(names, key, strict=True):
            row[name] = _label(env, model, name, value)
        for spec in aggregates:
            if spec == "__count":
                row["__count"] = len(members)
                continue
            source, _, function = spec.partition(":")
            env.field(model, source)
            row[spec] = _aggregate([env.value(model, r, source) for r in members], function)
        row["__extra_domain"] = [[name, "=", value] for name, value in zip(names, key, strict=True)]
        rows.append(row)
    return rows
