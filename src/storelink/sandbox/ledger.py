"""The creation ledger: what Odoo held before a sandbox run, and what the run created since.

:func:`take_snapshot` runs before the run writes anything: the highest id of
every model the run (or the hub's connector during it) may create records in,
every ``storelink`` external id, and which of the estate's records are
archived. Odoo ids only grow, so a record above its model's snapshot was
created during the run; :func:`created_by_run` counts it as the run's when it
also carries the run's mark — a new ``storelink`` external id, an estate
warehouse code, a session of one of the estate's POS configs, an order
reference with one of the run's transaction uuids or channel refs. Records
at or below the snapshot existed before and are never the run's, even when
the run wrote to them.

Archived estate records (a warehouse, a POS config a previous ``--cleanup``
archived) would stop the run — warehouse codes stay unique among archived
warehouses — so :func:`reactivate` brings them back before seeding and the
ledger remembers them: cleanup archives them again, restoring what was there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from storelink.odoo import bindings
from storelink.odoo.client import OdooClient
from storelink.odoo.lookups import ALL_RECORDS, many2one_id

#: every model a run may create records in, and so needs the highest id of
TRACKED = (
    "stock.warehouse",
    "stock.picking",
    "stock.move",
    "pos.config",
    "pos.session",
    "pos.order",
    "sale.order",
    "product.product",
    "product.pricelist",
    "product.pricelist.item",
    "res.partner",
    "ir.model.data",
)
#: models whose storelink-bound records can be archived (they have ``active``)
ARCHIVABLE = ("product.product", "product.pricelist", "res.partner", "pos.config")


@dataclass(frozen=True)
class RunMarks:
    """The references the run's own records carry."""

    #: ``storelink/<store>/<uuid>`` (POS) and ``pos:<store>:<uuid>`` (fallback) of each till txn
    transactions: frozenset[str] = frozenset()
    #: ``<channel>:<external ref>`` of each web order the channel generated
    channel_orders: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Snapshot:
    """Odoo before the run (see the module docstring)."""

    max_ids: Mapping[str, int]
    #: ``(model, name)`` of every ``storelink`` external id
    xmlids: frozenset[tuple[str, str]]
    #: the estate's store codes
    codes: tuple[str, ...]
    #: estate records archived before the run, reactivated for it: model -> ids
    archived: Mapping[str, frozenset[int]] = field(default_factory=dict)
    #: models this Odoo has (``pos.*`` only with ``point_of_sale``)
    models: frozenset[str] = frozenset()

    def existed(self, model: str, record_id: int) -> bool:
        return record_id <= self.max_ids.get(model, 0)

    def newer(self, model: str) -> list[Any]:
        """A domain leaf matching the records created since the snapshot."""
        return ["id", ">", self.max_ids.get(model, 0)]


@dataclass
class Created:
    """What the run created, read back after it: model -> ids (ascending)."""

    records: dict[str, list[int]] = field(default_factory=dict)
    #: ``ir.model.data`` ids of new storelink external ids on records that existed before
    bindings: list[int] = field(default_factory=list)
    #: records archived before the run and active now (reactivated, or rewritten active)
    restored: dict[str, list[int]] = field(default_factory=dict)

    def ids(self, model: str) -> list[int]:
        return self.records.get(model, [])


async def _max_id(client: OdooClient, model: str) -> int:
    rows = await client.search_read(
        model, [], ["id"], order="id desc", limit=1, context=ALL_RECORDS
    )
    return int(rows[0]["id"]) if rows else 0


async def _storelink_xmlids(client: OdooClient) -> list[dict[str, Any]]:
    return await client.search_read(
        "ir.model.data",
        [["module", "=", bindings.MODULE]],
        ["id", "model", "name", "res_id"],
        order="id",
    )


async def _archived(
    client: OdooClient,
    models: frozenset[str],
    codes: Sequence[str],
    xmlids: Sequence[Mapping[str, Any]],
) -> dict[str, frozenset[int]]:
    archived: dict[str, frozenset[int]] = {}
    inactive = [["active", "=", False]]
    rows = await client.search_read(
        "stock.warehouse", [["code", "in", list(codes)], *inactive], ["id"], context=ALL_RECORDS
    )
    archived["stock.warehouse"] = frozenset(int(r["id"]) for r in rows)
    bound: dict[str, set[int]] = {}
    for row in xmlids:
        bound.setdefault(str(row["model"]), set()).add(int(row["res_id"]))
    for model in ARCHIVABLE:
        if model not in models:
            continue
        domain: list[Any] = [["id", "in", sorted(bound.get(model, ()))]]
        if model == "pos.config":
            domain = ["|", ["name", "in", list(codes)], *domain]
        rows = await client.search_read(model, [*domain, *inactive], ["id"], context=ALL_RECORDS)
        archived[model] = frozenset(int(r["id"]) for r in rows)
    return archived


async def take_snapshot(client: OdooClient, codes: Sequence[str], *, pos: bool) -> Snapshot:
    """Odoo as it is before the run writes: a few reads, nothing written.

    ``pos``: whether ``point_of_sale`` is installed (without it no ``pos.*`` model exists).
    """
    models = frozenset(m for m in TRACKED if pos or not m.startswith("pos."))
    max_ids = {model: await _max_id(client, model) for model in TRACKED if model in models}
    xmlids = await _storelink_xmlids(client)
    return Snapshot(
        max_ids=max_ids,
        xmlids=frozenset((str(r["model"]), str(r["name"])) for r in xmlids),
        codes=tuple(codes),
        archived=await _archived(client, models, codes, xmlids),
        models=models,
    )


async def reactivate(client: OdooClient, snapshot: Snapshot) -> int:
    """Bring back archived estate warehouses and POS configs; how many records.

    Odoo's ``stock.warehouse`` ``write`` reactivates the warehouse's operation
    types and locations with it (``addons/stock/models/stock_warehouse.py``).
    """
    count = 0
    for model in ("stock.warehouse", "pos.config"):
        ids = sorted(snapshot.archived.get(model, ()))
        if ids:
            await client.call(model, "write", ids, vals={"active": True})
            count += len(ids)
    return count


async def _new(
    client: OdooClient, snapshot: Snapshot, model: str, domain: list[Any], fields: list[str]
) -> list[dict[str, Any]]:
    if model not in snapshot.models:
        return []
    return await client.search_read(
        model, [snapshot.newer(model), *domain], ["id", *fields], order="id", context=ALL_RECORDS
    )


def _ids(rows: Sequence[Mapping[str, Any]]) -> set[int]:
    return {int(r["id"]) for r in rows}


async def created_by_run(client: OdooClient, snapshot: Snapshot, marks: RunMarks) -> Created:
    """Read back what the run created (see the module docstring); nothing is written."""
    created = Created()
    found: dict[str, set[int]] = {}
    for row in await _storelink_xmlids(client):
        model, res_id = str(row["model"]), int(row["res_id"])
        if (model, str(row["name"])) in snapshot.xmlids:
            continue
        if snapshot.existed(model, res_id):
            created.bindings.append(int(row["id"]))
        else:
            found.setdefault(model, set()).add(res_id)
    codes = list(snapshot.codes)
    warehouses = await _new(client, snapshot, "stock.warehouse", [["code", "in", codes]], [])
    found.setdefault("stock.warehouse", set()).update(_ids(warehouses))
    if "pos.config" in snapshot.models:
        configs = await client.search_read(
            "pos.config", [["name", "in", codes]], ["id"], context=ALL_RECORDS
        )
        new_configs = {i for i in _ids(configs) if not snapshot.existed("pos.config", i)}
        found.setdefault("pos.config", set()).update(new_configs)
        estate_configs = sorted(_ids(configs) | found["pos.config"])
        sessions = _ids(
            await _new(client, snapshot, "pos.session", [["config_id", "in", estate_configs]], [])
        )
        found["pos.session"] = sessions
        # the run's orders: in a session it opened, or carrying one of its transaction uuids
        orders = await _new(client, snapshot, "pos.order", [], ["pos_reference", "session_id"])
        found["pos.order"] = {
            int(o["id"])
            for o in orders
            if many2one_id(o["session_id"]) in sessions or o["pos_reference"] in marks.transactions
        }
    references = marks.transactions | marks.channel_orders
    orders = await _new(
        client, snapshot, "sale.order", [["client_order_ref", "!=", False]], ["client_order_ref"]
    )
    found.setdefault("sale.order", set()).update(
        int(o["id"]) for o in orders if o["client_order_ref"] in references
    )
    created.records = {model: sorted(ids) for model, ids in found.items() if ids}
    for model, ids in snapshot.archived.items():
        if not ids:
            continue
        rows = await client.search_read(
            model, [["id", "in", sorted(ids)], ["active", "=", True]], ["id"], context=ALL_RECORDS
        )
        if rows:
            created.restored[model] = sorted(int(r["id"]) for r in rows)
    return created


async def stock_locations(client: OdooClient, warehouse_ids: Sequence[int]) -> list[int]:
    """The stock locations (``lot_stock_id``) of ``warehouse_ids``."""
    if not warehouse_ids:
        return []
    rows = await client.search_read(
        "stock.warehouse",
        [["id", "in", list(warehouse_ids)]],
        ["lot_stock_id"],
        context=ALL_RECORDS,
    )
    return sorted({many2one_id(r["lot_stock_id"]) for r in rows} - {0})


__all__ = [
    "Created",
    "RunMarks",
    "Snapshot",
    "created_by_run",
    "reactivate",
    "stock_locations",
    "take_snapshot",
]
