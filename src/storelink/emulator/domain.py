"""Odoo domains: prefix-notation ``&``/``|``/``!`` over ``(path, operator, value)`` leaves."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from storelink.emulator.exceptions import ProgrammingError
from storelink.emulator.schema import Field, Record

OPERATORS = frozenset(
    {
        "=",
        "!=",
        "<>",
        ">",
        ">=",
        "<",
        "<=",
        "in",
        "not in",
        "like",
        "ilike",
        "not like",
        "not ilike",
        "=like",
        "=ilike",
        "child_of",
        "parent_of",
    }
)
NEGATIVE = frozenset({"!=", "<>", "not in", "not like", "not ilike"})


class Resolver(Protocol):
    """What the domain evaluator needs from the ORM."""

    def field(self, model: str, name: str) -> Field: ...

    def value(self, model: str, record: Record, name: str) -> Any: ...

    def browse(self, model: str, ids: Sequence[int]) -> list[Record]: ...

    def display_name(self, model: str, record: Record) -> str: ...

    def descendants(self, model: str, ids: Sequence[int]) -> set[int]: ...

    def ancestors(self, model: str, ids: Sequence[int]) -> set[int]: ...


@dataclass(frozen=True)
class Leaf:
    path: str
    operator: str
    value: Any


@dataclass(frozen=True)
class Node:
    operator: str  # "&", "|", "!"
    children: tuple[Node | Leaf | bool, ...]


Term = Node | Leaf | bool


def parse(domain: Sequence[Any]) -> Term:
    """Parse a domain into a tree; top-level terms are implicitly joined with ``&``."""
    items = list(domain or [])
    terms: list[Term] = []
    position = 0
    while position < len(items):
        term, position = _parse_one(items, position)
        terms.append(term)
    if not terms:
        return True
    if len(terms) == 1:
        return terms[0]
    return Node("&", tuple(terms))


def _parse_one(items: list[Any], position: int) -> tuple[Term, int]:
    if position >= len(items):
        raise ProgrammingError(f"Invalid domain {items!r}: missing operand")
    item = items[position]
    if item in ("&", "|"):
        left, position = _parse_one(items, position + 1)
        right, position = _parse_one(items, position)
        return Node(str(item), (left, right)), position
    if item == "!":
        inner, position = _parse_one(items, position + 1)
        return Node("!", (inner,)), position
    if isinstance(item, (list, tuple)) and len(item) == 3:
        path, operator, value = item
        if path in (0, 1) and operator == "=" and value == 1:
            return path == 1, position + 1
        if not isinstance(path, str) or not isinstance(operator, str):
            raise ProgrammingError(f"Invalid leaf {list(item)!r}")
        operator = operator.lower()
        if operator not in OPERATORS:
            raise ProgrammingError(f"Invalid leaf {list(item)!r}: unknown operator {operator!r}")
        return Leaf(path, operator, value), position + 1
    raise ProgrammingError(f"Invalid leaf {item!r}")


def matches(term: Term, model: str, record: Record, orm: Resolver) -> bool:
    if isinstance(term, bool):
        return term
    if isinstance(term, Node):
        if term.operator == "!":
            return not matches(term.children[0], model, record, orm)
        if term.operator == "&":
            return all(matches(child, model, record, orm) for child in term.children)
        return any(matches(child, model, record, orm) for child in term.children)
    return _leaf(term, model, record, orm)


def _leaf(leaf: Leaf, model: str, record: Record, orm: Resolver) -> bool:
    head, _, rest = leaf.path.partition(".")
    if head == "id":
        return _compare_ids(model, [record["id"]], leaf, orm, single=True)
    field = orm.field(model, head)
    stored = orm.value(model, record, head)
    if rest:
        if field.relation is None:
            raise ProgrammingError(f"Invalid path {leaf.path!r} on model {model!r}")
        ids = _as_ids(stored)
        related = orm.browse(field.relation, ids)
        sub = Leaf(rest, leaf.operator, leaf.value)
        hits = [_leaf(sub, field.relation, other, orm) for other in related]
        if leaf.operator in NEGATIVE:
            return all(hits)
        return any(hits)
    if field.relation is not None:
        return _compare_relational(field, stored, leaf, orm)
    return compare(stored, leaf.operator, leaf.value, field.type)


def _as_ids(stored: Any) -> list[int]:
    if isinstance(stored, list):
        return [int(i) for i in stored]
    if stored:
        return [int(stored)]
    return []


def _compare_relational(field: Field, stored: Any, leaf: Leaf, orm: Resolver) -> bool:
    assert field.relation is not None
    ids = _as_ids(stored)
    single = field.type == "many2one"
    value = leaf.value
    textual = isinstance(value, str) or (
        isinstance(value, (list, tuple)) and any(isinstance(v, str) for v in value)
    )
    if textual and leaf.operator not in ("child_of", "parent_of"):
        # Odoo resolves a name given for a relational field through name_search
        names = [orm.display_name(field.relation, r) for r in orm.browse(field.relation, ids)]
        if leaf.operator in NEGATIVE:
            return all(compare(n, leaf.operator, value, "char") for n in names) or not names
        return any(compare(n, leaf.operator, value, "char") for n in names)
    return _compare_ids(field.relation, ids, leaf, orm, single=single)


def _compare_ids(model: str, ids: list[int], leaf: Leaf, orm: Resolver, *, single: bool) -> bool:
    operator, value = leaf.operator, leaf.value
    if operator in ("child_of", "parent_of"):
        roots = [int(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
        family = (
            orm.descendants(model, roots) if operator == "child_of" else orm.ancestors(model, roots)
        )
        return any(i in family for i in ids)
    if operator in ("=", "!=", "<>"):
        if value is False or value is None:
            hit = not ids
        elif isinstance(value, (list, tuple)):
            hit = any(i in value for i in ids)
        else:
            hit = int(value) in ids
        return hit if operator == "=" else not hit
    if operator in ("in", "not in"):
        wanted = list(value) if isinstance(value, (list, tuple, set)) else [value]
        hit = any(i in wanted for i in ids) or (not ids and False in wanted)
        return hit if operator == "in" else not hit
    if single and ids:
        return compare(ids[0], operator, value, "integer")
    return False


def compare(stored: Any, operator: str, value: Any, kind: str) -> bool:
    """Compare one stored scalar the way the SQL Odoo generates would (NULL semantics)."""
    if operator in ("=", "!=", "<>"):
        hit = _equal(stored, value, kind)
        return hit if operator == "=" else not hit
    if operator in ("in", "not in"):
        wanted = list(value) if isinstance(value, (list, tuple, set)) else [value]
        hit = any(_equal(stored, w, kind) for w in wanted)
        return hit if operator == "in" else not hit
    if operator in (">", ">=", "<", "<="):
        if _is_null(stored, kind) or value is False or value is None:
            return False
        left, right = _comparable(stored, kind), _comparable(value, kind)
        try:
            if operator == ">":
                return bool(left > right)
            if operator == ">=":
                return bool(left >= right)
            if operator == "<":
                return bool(left < right)
            return bool(left <= right)
        except TypeError as exc:
            raise ProgrammingError(f"cannot compare {stored!r} {operator} {value!r}") from exc
    if operator in ("like", "ilike", "not like", "not ilike", "=like", "=ilike"):
        return _like(stored, operator, value)
    raise ProgrammingError(f"operator {operator!r} is not supported on a {kind} field")


def _is_null(stored: Any, kind: str) -> bool:
    return stored is None or (stored is False and kind != "boolean")


def _equal(stored: Any, value: Any, kind: str) -> bool:
    if value is False or value is None:
        if kind == "boolean":
            return not stored
        return _is_null(stored, kind) or (kind in ("char", "text", "html") and stored == "")
    if _is_null(stored, kind):
        return False
    if kind == "boolean":
        return bool(stored) == bool(value)
    if kind in ("float", "monetary", "integer"):
        try:
            return float(stored) == float(value)
        except (TypeError, ValueError):
            return False
    return bool(_comparable(stored, kind) == _comparable(value, kind))


def _comparable(value: Any, kind: str) -> Any:
    if kind == "datetime" and isinstance(value, str):
        # as PostgreSQL compares timestamps: "2026-01-02 03:04:05" is ".000000"
        text = value.replace("T", " ")
        if len(text) == 10:
            text += " 00:00:00"
        return text + ".000000" if len(text) == 19 else text
    if kind == "date" and isinstance(value, str):
        return value[:10]
    if kind in ("float", "monetary", "integer") and not isinstance(value, bool):
        return float(value)
    return value


def _like(stored: Any, operator: str, value: Any) -> bool:
    negative = operator.startswith("not ")
    if _is_null(stored, "char"):
        return negative
    text = str(stored)
    pattern = str(value)
    insensitive = "ilike" in operator
    if operator.startswith("="):
        regex = "".join(
            ".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern
        )
        flags = re.IGNORECASE | re.DOTALL if insensitive else re.DOTALL
        return re.fullmatch(regex, text, flags) is not None
    found = pattern.lower() in text.lower() if insensitive else pattern in text
    return not found if negative else found
