"""Stock positions from ``stock.quant`` and stock counts applied to it.

Positions are summed per product and store location with one grouped read
(``read_group`` / ``formatted_read_group``, see the dialect); ``quantity`` is on
hand and ``reserved_quantity`` reserved (``addons/stock/models/stock_quant.py``).

A count sets ``inventory_quantity`` through ``stock.quant.create`` under
``inventory_mode`` — which updates the existing quant of that product and
location instead of adding one — and then ``action_apply_inventory`` on all of
them in one call. Counts are absolute, so applying one twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from storelink.errors import NotFoundError
from storelink.model import StockPosition, utcnow
from storelink.odoo.client import OdooClient, from_odoo_number
from storelink.odoo.lookups import Lookups, many2one_id

INVENTORY_MODE = {"inventory_mode": True}


class Stock:
    def __init__(self, client: OdooClient, lookups: Lookups) -> None:
        self.client = client
        self.lookups = lookups

    async def _location_ids(self, codes: Sequence[str] | None) -> dict[int, str]:
        stores = await self.lookups.warehouses(codes)
        if codes is not None:
            unknown = sorted(set(codes) - stores.keys())
            if unknown:
                raise NotFoundError(
                    f"no Odoo warehouse for location {', '.join(unknown)}", locations=unknown
                )
        return {binding.location_id: code for code, binding in stores.items()}

    async def apply_counts(self, positions: Sequence[StockPosition]) -> list[int]:
        """Set counted ``on_hand`` for each (SKU, location); the ``stock.quant`` ids touched."""
        if not positions:
            return []
        locations = {
            code: lid
            for lid, code in (
                await self._location_ids(sorted({p.location for p in positions}))
            ).items()
        }
        products = await self.lookups.product_ids({p.sku for p in positions})
        quant_ids = await self.client.create(
            "stock.quant",
            [
                {
                    "product_id": products[p.sku],
                    "location_id": locations[p.location],
                    "inventory_quantity": p.on_hand,
                }
                for p in positions
            ],
            context=INVENTORY_MODE,
            retry=True,
        )
        unique = sorted(set(quant_ids))
        await self.client.call(
            "stock.quant", "action_apply_inventory", unique, context=INVENTORY_MODE
        )
        return unique

    async def read_positions(self, locations: Sequence[str] | None = None) -> list[StockPosition]:
        """On hand and reserved per SKU at each store location, summed over quants."""
        by_id = await self._location_ids(locations)
        if not by_id:
            return []
        dialect = self.client.dialect
        method, params = dialect.group_call(
            [["location_id", "in", sorted(by_id)]],
            ["product_id", "location_id"],
            ["quantity", "reserved_quantity"],
        )
        rows = await self.client.call("stock.quant", method, **params)
        skus = await self.lookups.skus_of(many2one_id(r["product_id"]) for r in rows)
        now = utcnow()
        positions = []
        for row in rows:
            sku = skus.get(many2one_id(row["product_id"]))
            location = by_id.get(many2one_id(row["location_id"]))
            if sku is None or location is None:
                continue
            positions.append(
                StockPosition(
                    sku=sku,
                    location=location,
                    on_hand=from_odoo_number(dialect.group_sum(row, "quantity") or 0),
                    reserved=max(
                        Decimal(0),
                        from_odoo_number(dialect.group_sum(row, "reserved_quantity") or 0),
                    ),
                    as_of=now,
                )
            )
        return sorted(positions, key=lambda p: (p.location, p.sku))
