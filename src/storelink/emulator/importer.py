"""``Model.load(fields, data)``: Odoo's import, matching and creating external ids.

Rows are lists of strings. ``id`` names the row's external id (created when
new, updated when known), ``<field>/id`` resolves relations by external id,
``.id`` by database id and a bare relational field by name. Any error rolls the
whole import back and comes back as ``messages`` with ``ids: False``, like Odoo.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storelink.emulator import xmlids
from storelink.emulator.exceptions import OdooServerError
from storelink.emulator.orm import Env
from storelink.emulator.schema import Field

_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}


class _RowError(Exception):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def load(
    env: Env, model: str, fields: Sequence[str], data: Sequence[Sequence[Any]]
) -> dict[str, Any]:
    env.check_access(model, "create")
    ids: list[int] = []
    messages: list[dict[str, Any]] = []
    with env.db.store.savepoint() as rollback:
        for index, row in enumerate(data):
            try:
                ids.append(_load_row(env, model, list(fields), list(row)))
            except _RowError as exc:
                messages.append(_message(index, exc.message, exc.field))
            except OdooServerError as exc:
                messages.append(_message(index, exc.message, ""))
        if messages:
            rollback()
    if messages:
        return {"ids": False, "messages": messages, "nextrow": 0}
    return {"ids": ids, "messages": [], "nextrow": 0}


def _message(index: int, message: str, field: str) -> dict[str, Any]:
    return {
        "type": "error",
        "message": message,
        "record": index,
        "rows": {"from": index, "to": index},
        "field": field,
    }


def _load_row(env: Env, model: str, fields: list[str], row: list[Any]) -> int:
    if len(row) != len(fields):
        raise _RowError(f"expected {len(fields)} values, got {len(row)}", "")
    vals: dict[str, Any] = {}
    xmlid: str | None = None
    db_id: int | None = None
    for path, raw in zip(fields, row, strict=True):
        text = "" if raw is None or raw is False else str(raw)
        if path == "id":
            xmlid = text or None
            continue
        if path == ".id":
            db_id = int(text) if text else None
            continue
        name, _, suffix = path.partition("/")
        field = env.field(model, name)
        vals[name] = _convert(env, model, name, field, text, suffix)
    target = db_id
    if xmlid:
        found = xmlids.lookup(env, xmlid)
        if found is not None:
            if found[0] != model:
                raise _RowError(f"external id {xmlid!r} belongs to {found[0]}", "id")
            target = found[1]
    if target is not None and target in env.table(model):
        env.write(model, [target], vals)
        return target
    new_id = env.create(model, [vals])[0]
    if xmlid:
        xmlids.bind(env, xmlid, model, new_id)
    return new_id


def _convert(env: Env, model: str, name: str, field: Field, text: str, suffix: str) -> Any:
    label = field.string or name
    if field.type == "boolean":
        lowered = text.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise _RowError(f"Unknown value '{text}' for boolean field '{label}'", name)
    if field.type in ("float", "monetary", "integer"):
        if not text.strip():
            return False
        try:
            return int(text) if field.type == "integer" else float(text)
        except ValueError as exc:
            raise _RowError(
                f"'{text}' does not seem to be a number for field '{label}'", name
            ) from exc
    if field.type == "selection":
        if not text:
            return False
        for key, shown in field.selection:
            if text in (key, shown):
                return key
        raise _RowError(f"Value '{text}' not found in selection field '{label}'", name)
    if field.type in ("many2one", "many2many", "one2many"):
        assert field.relation is not None
        if not text:
            return False if field.type == "many2one" else [(6, 0, [])]
        refs = [t.strip() for t in text.split(",")] if field.type != "many2one" else [text]
        ids = [_reference(env, field.relation, ref, suffix, label) for ref in refs]
        return ids[0] if field.type == "many2one" else [(6, 0, ids)]
    return text or False


def _reference(env: Env, relation: str, ref: str, suffix: str, label: str) -> int:
    if suffix == "id":
        found = xmlids.lookup(env, ref)
        if found is None or found[0] != relation:
            raise _RowError(
                f"No matching record found for external id '{ref}' in field '{label}'", label
            )
        return found[1]
    if suffix == ".id":
        return int(ref)
    spec = env.spec(relation)
    hits = [
        r["id"]
        for r in env.table(relation).values()
        if env.display_name(relation, r) == ref or (spec.rec_name and r.get(spec.rec_name) == ref)
    ]
    if not hits:
        raise _RowError(f"No matching record found for name '{ref}' in field '{label}'", label)
    return int(hits[0])
