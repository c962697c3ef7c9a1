"""Batched, cached look-ups of Odoo ids by storelink keys (SKU, store code, currency …).

Every lookup asks Odoo once for all keys it has not seen yet, never once per key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from storelink.errors import NotFoundError
from storelink.odoo.client import OdooClient
from storelink.odoo.results import StoreBinding

ALL_RECORDS = {"active_test": False}


@dataclass
class Lookups:
    """Caches keyed by storelink keys; :meth:`forget` after writes that change them."""

    client: OdooClient
    products: dict[str, int] = field(default_factory=dict)
    skus: dict[int, str] = field(default_factory=dict)
    stores: dict[str, StoreBinding] = field(default_factory=dict)
    currencies: dict[str, int] = field(default_factory=dict)
    modules: dict[str, bool] = field(default_factory=dict)
    company_currency_code: str | None = None

    def forget(self) -> None:
        self.products.clear()
        self.skus.clear()
        self.stores.clear()

    async def product_ids(self, skus: Iterable[str], *, required: bool = True) -> dict[str, int]:
        """``{sku: product.product id}`` by ``default_code`` (archived products included)."""
        wanted = set(skus)
        missing = sorted(wanted - self.products.keys())
        if missing:
            rows = await self.client.search_read(
                "product.product",
                [["default_code", "in", missing]],
                ["id", "default_code"],
                context=ALL_RECORDS,
            )
            for row in rows:
                self.products[str(row["default_code"])] = int(row["id"])
                self.skus[int(row["id"])] = str(row["default_code"])
        unknown = sorted(wanted - self.products.keys())
        if unknown and required:
            raise NotFoundError(
                f"no Odoo product with default_code {', '.join(unknown)}", skus=unknown
            )
        return {sku: self.products[sku] for sku in wanted if sku in self.products}

    async def skus_of(self, product_ids: Iterable[int]) -> dict[int, str]:
        """``{product.product id: sku}``; products without a ``default_code`` are left out."""
        wanted = set(product_ids)
        missing = sorted(wanted - self.skus.keys())
        if missing:
            rows = await self.client.search_read(
                "product.product",
                [["id", "in", missing]],
                ["id", "default_code"],
                context=ALL_RECORDS,
            )
            for row in rows:
                if row.get("default_code"):
                    self.skus[int(row["id"])] = str(row["default_code"])
                    self.products[str(row["default_code"])] = int(row["id"])
        return {pid: self.skus[pid] for pid in wanted if pid in self.skus}

    async def warehouses(self, codes: Iterable[str] | None = None) -> dict[str, StoreBinding]:
        """Stores matched to ``stock.warehouse`` by code (all warehouses when ``codes`` is None)."""
        wanted = None if codes is None else set(codes)
        if wanted is None or wanted - self.stores.keys():
            domain: list[object] = [] if wanted is None else [["code", "in", sorted(wanted)]]
            rows = await self.client.search_read(
                "stock.warehouse", domain, ["id", "code", "lot_stock_id"]
            )
            configs = await self._pos_configs([str(r["code"]) for r in rows])
            for row in rows:
                code = str(row["code"])
                self.stores[code] = StoreBinding(
                    code=code,
                    warehouse_id=int(row["id"]),
                    location_id=many2one_id(row["lot_stock_id"]),
                    pos_config_id=configs.get(code),
                )
        if wanted is None:
            return dict(self.stores)
        return {code: self.stores[code] for code in wanted if code in self.stores}

    async def store(self, code: str) -> StoreBinding:
        found = await self.warehouses([code])
        if code not in found:
            raise NotFoundError(f"no Odoo warehouse with code {code!r}", store=code)
        return found[code]

    async def _pos_configs(self, codes: list[str]) -> dict[str, int]:
        """POS configs named after store codes (created by ``upsert_stores``)."""
        if not codes or not await self.has_pos():
            return {}
        rows = await self.client.search_read("pos.config", [["name", "in", codes]], ["id", "name"])
        return {str(row["name"]): int(row["id"]) for row in rows}

    async def has_pos(self) -> bool:
        return await self.module_installed("point_of_sale")

    async def module_installed(self, name: str) -> bool:
        if name not in self.modules:
            rows = await self.client.search_read(
                "ir.module.module", [["name", "=", name]], ["name", "state"]
            )
            self.modules[name] = any(row.get("state") == "installed" for row in rows)
        return self.modules[name]

    async def company_currency(self) -> str:
        """The currency of the user's company (list prices are in it)."""
        if self.company_currency_code is None:
            rows = await self.client.search_read(
                "res.company", [], ["currency_id"], order="id", limit=1
            )
            value = rows[0]["currency_id"] if rows else False
            code = str(value[1]) if isinstance(value, list) and len(value) > 1 else "EUR"
            self.company_currency_code = code
        return self.company_currency_code

    async def currency_ids(self, codes: Iterable[str]) -> dict[str, int]:
        wanted = set(codes)
        missing = sorted(wanted - self.currencies.keys())
        if missing:
            rows = await self.client.search_read(
                "res.currency", [["name", "in", missing]], ["id", "name"], context=ALL_RECORDS
            )
            self.currencies.update({str(r["name"]): int(r["id"]) for r in rows})
        unknown = sorted(wanted - self.currencies.keys())
        if unknown:
            raise NotFoundError(f"no Odoo currency {', '.join(unknown)}", currencies=unknown)
        return {code: self.currencies[code] for code in wanted}


def many2one_id(value: object) -> int:
    """The id of a many2one as read (``[id, "name"]``); 0 when empty."""
    if isinstance(value, list | tuple) and value:
        return int(value[0])
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return 0
