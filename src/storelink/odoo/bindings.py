"""External ids binding storelink keys to Odoo records (``ir.model.data``, module ``storelink``).

An external id is Odoo's own idempotency key: ``load`` with an ``id`` column
creates a record the first time and updates the same record on every replay,
and ``ir.model.data`` is unique on ``(module, name)``
(``odoo/addons/base/models/ir_model.py``), so two writers cannot both bind a name.

Names are ``<kind>__<part>__<part>…`` where each part keeps letters and digits
and escapes anything else as ``_xx`` (hex). An escape never contains ``__``, so
names split back into their parts and distinct keys never share a name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from storelink.errors import OdooProtocolError, OdooValidationError
from storelink.odoo.client import OdooClient

MODULE = "storelink"


def _escape(part: str) -> str:
    return "".join(ch if ch.isascii() and ch.isalnum() else f"_{ord(ch):02x}" for ch in part)


def xmlid_name(kind: str, *key: object) -> str:
    """The ``ir.model.data`` name of a storelink key, e.g. ``product__SKU_2d1``."""
    return "__".join([kind, *(_escape(str(part)) for part in key)])


def _unescape(part: str) -> str:
    out, i = [], 0
    while i < len(part):
        if part[i] == "_" and i + 3 <= len(part):
            out.append(chr(int(part[i + 1 : i + 3], 16)))
            i += 3
        else:
            out.append(part[i])
            i += 1
    return "".join(out)


def parse_name(name: str) -> tuple[str, ...]:
    """The kind and key parts of a name made by :func:`xmlid_name`."""
    kind, *parts = name.split("__")
    return (kind, *(_unescape(p) for p in parts))


def xmlid(kind: str, *key: object) -> str:
    """The full external id (``storelink.<name>``) used in ``load`` id columns."""
    return f"{MODULE}.{xmlid_name(kind, *key)}"


async def resolve(client: OdooClient, model: str, names: Iterable[str]) -> dict[str, int]:
    """``{name: res_id}`` for the names already bound on ``model`` (one round trip)."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    rows = await client.search_read(
        "ir.model.data",
        [["module", "=", MODULE], ["model", "=", model], ["name", "in", wanted]],
        ["name", "res_id"],
    )
    return {str(row["name"]): int(row["res_id"]) for row in rows}


async def bind(client: OdooClient, model: str, targets: Mapping[str, int]) -> None:
    """Bind each name to its record id in one call. Fails if any name is already bound."""
    if not targets:
        return
    values: list[dict[str, Any]] = [
        {"module": MODULE, "name": name, "model": model, "res_id": res_id, "noupdate": True}
        for name, res_id in sorted(targets.items())
    ]
    await client.create("ir.model.data", values)


def _cell(value: Any) -> str:
    """One ``load`` cell: the import machinery takes strings (``odoo/models.py`` ``load``)."""
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    return str(value)


async def upsert(
    client: OdooClient,
    model: str,
    columns: list[str],
    rows: list[list[Any]],
    *,
    context: Mapping[str, Any] | None = None,
) -> list[int]:
    """Create-or-update records keyed by the external id in column ``id``, via ``load``.

    One round trip per ``batch_size`` rows. Odoo's ``load`` rolls the whole
    batch back when any row fails; its messages become an ``OdooValidationError``.
    Safe to retry: a replayed row finds its external id and updates in place.
    """
    ids: list[int] = []
    for start in range(0, len(rows), client.batch_size):
        chunk = [[_cell(v) for v in row] for row in rows[start : start + client.batch_size]]
        result = await client.call(model, "load", context=context, fields=columns, data=chunk)
        if not isinstance(result, dict):
            raise OdooProtocolError(f"{model}.load did not return a dict", model=model)
        errors = [m for m in result.get("messages") or [] if m.get("type") == "error"]
        if errors or not result.get("ids"):
            text = "; ".join(str(m.get("message")) for m in errors) or "load created nothing"
            raise OdooValidationError(
                f"Odoo refused {model} rows: {text}", model=model, messages=errors
            )
        ids.extend(int(i) for i in result["ids"])
    return ids
