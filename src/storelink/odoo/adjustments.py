"""Store stock adjustments as delta transfers, each applied exactly once.

An adjustment (shrink, damage, found stock …) is a signed quantity of one SKU at
one store. It becomes one ``stock.picking`` moving that quantity between the
product's inventory-loss location (``property_stock_inventory``, usage
``inventory``: Odoo creates one per company, without an external id,
``addons/stock/models/res_company.py``) and the store's stock location: inwards
on the warehouse's receipt type for a positive quantity, outwards on its
delivery type for a negative one (both always active, unlike the internal type
that a one-step warehouse without multi-locations keeps archived). A move adds
to whatever Odoo has at that moment, so a POS sale validated meanwhile is kept,
and taking out more than is on hand leaves a negative quant, as Odoo allows
(``stock.move.line._action_done``).

Idempotency key: the picking's ``origin``, ``storelink/adjustment/<location>/<uuid>``
(store location + movement uuid). Each attempt first searches pickings by these
origins: done ones were applied already and are skipped, not-done ones (left
by an attempt that died before validating) are completed, and only missing ones
are created — all in one ``create``, each move carrying its done quantity
(``quantity_done`` in 16, ``quantity`` from 17, see the dialect). Then one
``action_confirm`` and one ``button_validate`` without the wizards
(``addons/stock/models/stock_picking.py``). One RPC is one Odoo transaction, so
a batch's validation applies all of its pickings or none of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from storelink.errors import NotFoundError
from storelink.model import StockMovement
from storelink.odoo.client import OdooClient
from storelink.odoo.lookups import Lookups, many2one_id
from storelink.odoo.orders import VALIDATE_CONTEXT

OPEN = ("draft", "waiting", "confirmed", "assigned")


def adjustment_origin(movement: StockMovement) -> str:
    """The ``origin`` of the picking applying ``movement`` (its idempotency key)."""
    return f"storelink/adjustment/{movement.location}/{movement.id}"


@dataclass(frozen=True)
class AdjustmentResult:
    """The picking of one adjustment; ``applied`` is False when it was found already done."""

    uuid: UUID
    picking_id: int
    applied: bool


@dataclass(frozen=True)
class _Product:
    uom_id: int
    inventory_location_id: int


@dataclass(frozen=True)
class _Store:
    stock_location_id: int
    receipt_type_id: int
    delivery_type_id: int


class Adjustments:
    def __init__(self, client: OdooClient, lookups: Lookups) -> None:
        self.client = client
        self.lookups = lookups
        self._products: dict[int, _Product] = {}
        self._stores: dict[str, _Store] = {}

    async def apply(self, movements: Sequence[StockMovement]) -> list[AdjustmentResult]:
        """Apply each movement's signed quantity to Odoo's stock once, however often called."""
        if not movements:
            return []
        products = await self.lookups.product_ids({m.sku for m in movements})
        await self._cache_products(products.values())
        await self._cache_stores({m.location for m in movements})
        return await self.client.retrying(lambda: self._attempt(movements, products))

    async def _attempt(
        self, movements: Sequence[StockMovement], products: dict[str, int]
    ) -> list[AdjustmentResult]:
        # the writes below are sent once each: the whole attempt is what gets retried, and
        # it starts by finding what an earlier attempt already wrote
        origins = {adjustment_origin(m): m for m in movements}
        rows = await self.client.search_read(
            "stock.picking",
            [["origin", "in", sorted(origins)], ["state", "!=", "cancel"]],
            ["id", "origin", "state"],
            order="id",
        )
        found, duplicates = _pick_one_per_origin(rows)
        missing = [m for origin, m in origins.items() if origin not in found]
        ids = await self.client.create(
            "stock.picking", [self._picking_values(m, products[m.sku]) for m in missing]
        )
        for movement, picking_id in zip(missing, ids, strict=True):
            found[adjustment_origin(movement)] = (picking_id, "draft")
        if duplicates:
            # two writers raced on one key: keep the first picking, drop the others unapplied
            await self.client.call("stock.picking", "action_cancel", duplicates, retry=False)
        to_validate = sorted({pid for pid, state in found.values() if state in OPEN})
        if to_validate:
            await self.client.call("stock.picking", "action_confirm", to_validate, retry=False)
            await self.client.call(
                "stock.picking",
                "button_validate",
                to_validate,
                context=VALIDATE_CONTEXT,
                retry=False,
            )
        return [AdjustmentResult(m.id, *_applied(found[adjustment_origin(m)])) for m in movements]

    def _picking_values(self, movement: StockMovement, product_id: int) -> dict[str, Any]:
        product, store = self._products[product_id], self._stores[movement.location]
        inventory, stock = product.inventory_location_id, store.stock_location_id
        inwards = movement.quantity > 0
        source, dest = (inventory, stock) if inwards else (stock, inventory)
        picking_type = store.receipt_type_id if inwards else store.delivery_type_id
        quantity = abs(movement.quantity)
        origin = adjustment_origin(movement)
        dialect = self.client.dialect
        move: dict[str, Any] = {
            "product_id": product_id,
            "product_uom": product.uom_id,
            "product_uom_qty": quantity,
            dialect.move_done_field: quantity,
            "location_id": source,
            "location_dest_id": dest,
            "picking_type_id": picking_type,
            "origin": origin,
        }
        if dialect.move_has_name:
            move["name"] = f"{movement.reason}: {movement.sku}"
        return {
            "picking_type_id": picking_type,
            "location_id": source,
            "location_dest_id": dest,
            "origin": origin,
            "move_ids": [[0, 0, move]],
        }

    async def _cache_products(self, product_ids: Iterable[int]) -> None:
        missing = sorted(set(product_ids) - self._products.keys())
        if not missing:
            return
        rows = await self.client.search_read(
            "product.product",
            [["id", "in", missing]],
            ["id", "uom_id", "property_stock_inventory"],
            context={"active_test": False},
        )
        for row in rows:
            location = many2one_id(row.get("property_stock_inventory"))
            if not location:
                raise NotFoundError(
                    f"product {row['id']} has no inventory adjustment location in Odoo",
                    product_id=row["id"],
                )
            self._products[int(row["id"])] = _Product(many2one_id(row["uom_id"]), location)

    async def _cache_stores(self, codes: set[str]) -> None:
        missing = sorted(codes - self._stores.keys())
        if not missing:
            return
        stores = await self.lookups.warehouses(missing)
        unknown = sorted(set(missing) - stores.keys())
        if unknown:
            raise NotFoundError(
                f"no Odoo warehouse for location {', '.join(unknown)}", locations=unknown
            )
        rows = await self.client.search_read(
            "stock.warehouse",
            [["id", "in", sorted(b.warehouse_id for b in stores.values())]],
            ["id", "in_type_id", "out_type_id"],
        )
        types = {
            int(r["id"]): (many2one_id(r["in_type_id"]), many2one_id(r["out_type_id"]))
            for r in rows
        }
        for code, binding in stores.items():
            self._stores[code] = _Store(binding.location_id, *types[binding.warehouse_id])


def _applied(picking: tuple[int, str]) -> tuple[int, bool]:
    return picking[0], picking[1] in OPEN


def _pick_one_per_origin(
    rows: Iterable[dict[str, Any]],
) -> tuple[dict[str, tuple[int, str]], list[int]]:
    """One picking per origin (a done one first, else the oldest) and the open extras."""
    by_origin: dict[str, list[tuple[int, str]]] = {}
    for row in rows:
        by_origin.setdefault(str(row["origin"]), []).append((int(row["id"]), str(row["state"])))
    kept: dict[str, tuple[int, str]] = {}
    extras: list[int] = []
    for origin, pickings in by_origin.items():
        done = [p for p in pickings if p[1] == "done"]
        keep = done[0] if done else pickings[0]
        kept[origin] = keep
        extras.extend(pid for pid, state in pickings if pid != keep[0] and state in OPEN)
    return kept, sorted(extras)
