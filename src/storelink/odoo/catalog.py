"""Products and prices, canonical ⇄ Odoo.

* :class:`~storelink.model.Product` ⇄ ``product.product`` (its template follows):
  ``default_code`` is the SKU, ``barcode``, ``active``, storable per
  :class:`~storelink.odoo.versions.Dialect`, ``taxes_id`` from the tax class via
  ``odoo.tax_classes``; key: external id ``storelink.product_<sku>`` (an Odoo
  product with that ``default_code`` but no external id is adopted, not duplicated).
* A price whose scope is ``pricelist:list`` is the product's ``list_price``.
* Other prices ⇄ ``product.pricelist.item`` (``applied_on='0_product_variant'``,
  ``compute_price='fixed'``, ``fixed_price``, ``date_start``/``date_end``) in one
  ``product.pricelist`` per scope (external id ``storelink.pricelist_<kind>_<code>``);
  key: external id ``storelink.price_<kind>_<code>_<sku>_v<version>``.

Field names from ``addons/product/models/product_template.py``,
``product_product.py``, ``product_pricelist_item.py`` and
``addons/account/models/product.py`` (``taxes_id``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from storelink.model import Price, PriceScope, PriceScopeKind, Product
from storelink.odoo import bindings
from storelink.odoo.client import ODOO_DATETIME, OdooClient, from_odoo_datetime, from_odoo_number
from storelink.odoo.lookups import ALL_RECORDS, Lookups, many2one_id

#: the scope code of a ``pricelist`` price that means "the product's list price"
LIST_PRICE = PriceScope(kind=PriceScopeKind.PRICELIST, code="list")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PRODUCT_FIELDS = ["id", "default_code", "name", "barcode", "uom_id", "taxes_id", "categ_id"]
PRODUCT_FIELDS += ["active", "list_price", "write_date"]
ITEM_FIELDS = ["id", "pricelist_id", "product_id", "fixed_price", "date_start", "date_end"]
ITEM_FIELDS += ["write_date"]


def _odoo_time(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime(ODOO_DATETIME) if value else ""


class Catalog:
    """Product and price reads and writes over one client."""

    def __init__(
        self, client: OdooClient, lookups: Lookups, tax_classes: Mapping[str, str]
    ) -> None:
        self.client = client
        self.lookups = lookups
        self.tax_classes = dict(tax_classes)
        self._taxes: dict[str, int] | None = None

    async def _tax_ids(self) -> dict[str, int]:
        """``{tax name: account.tax id}`` for the configured tax classes (one call, cached)."""
        if self._taxes is None:
            self._taxes = {}
            if self.tax_classes:
                rows = await self.client.search_read(
                    "account.tax",
                    [
                        ["type_tax_use", "=", "sale"],
                        ["name", "in", sorted(self.tax_classes.values())],
                    ],
                    ["id", "name"],
                )
                self._taxes = {str(r["name"]): int(r["id"]) for r in rows}
        return self._taxes

    async def ensure_bound(self, skus: Sequence[str]) -> None:
        """Give existing Odoo products with these SKUs a storelink external id (adoption)."""
        names = {bindings.xmlid_name("product", sku): sku for sku in skus}
        bound = await bindings.resolve(self.client, "product.product", names)
        unbound = [sku for name, sku in names.items() if name not in bound]
        if not unbound:
            return
        found = await self.lookups.product_ids(unbound, required=False)
        await bindings.bind(
            self.client,
            "product.product",
            {bindings.xmlid_name("product", sku): pid for sku, pid in found.items()},
        )

    async def upsert_products(self, products: Sequence[Product]) -> list[int]:
        """Create or update ``products`` in a few round trips; their ``product.product`` ids."""
        if not products:
            return []
        await self.ensure_bound([p.sku for p in products])
        storable = self.client.dialect.storable_load_columns
        taxes = await self._tax_ids()
        columns = ["id", "name", "default_code", "barcode", "active", *storable]
        with_taxes = bool(taxes)
        if with_taxes:
            columns.append("taxes_id/.id")
        rows: list[list[Any]] = []
        for product in products:
            row: list[Any] = [
                bindings.xmlid("product", product.sku),
                product.name,
                product.sku,
                product.barcode,
                "1" if product.active else "0",
                *storable.values(),
            ]
            if with_taxes:
                tax = taxes.get(self.tax_classes.get(product.tax_class, ""))
                row.append(str(tax) if tax else "")
            rows.append(row)
        ids = await bindings.upsert(self.client, "product.product", columns, rows)
        for product, pid in zip(products, ids, strict=True):
            self.lookups.products[product.sku] = pid
            self.lookups.skus[pid] = product.sku
        return ids

    async def _tax_classes_by_id(self, rows: Sequence[Mapping[str, Any]]) -> dict[int, str]:
        tax_ids = sorted({int(t) for row in rows for t in row.get("taxes_id") or []})
        if not tax_ids or not self.tax_classes:
            return {}
        by_name = {name: cls for cls, name in self.tax_classes.items()}
        taxes = await self.client.search_read("account.tax", [["id", "in", tax_ids]], ["name"])
        return {int(t["id"]): by_name[str(t["name"])] for t in taxes if t["name"] in by_name}

    async def read_products(self, domain: list[Any] | None = None) -> list[Product]:
        """Every product with a SKU (archived ones too, as ``active=False``)."""
        rows = await self.client.search_read(
            "product.product",
            [["default_code", "!=", False], *(domain or [])],
            PRODUCT_FIELDS,
            order="id",
            context=ALL_RECORDS,
        )
        return await self.products_from_rows(rows)

    async def products_from_rows(self, rows: Sequence[Mapping[str, Any]]) -> list[Product]:
        classes = await self._tax_classes_by_id(rows)
        products = []
        for row in rows:
            if not row.get("default_code"):
                continue
            tax_class = next(
                (classes[int(t)] for t in row.get("taxes_id") or [] if int(t) in classes),
                "standard",
            )
            products.append(product_from_row(row, tax_class))
        return products

    async def upsert_prices(self, prices: Sequence[Price]) -> None:
        """Write list prices onto products and scoped prices as pricelist items."""
        list_prices = [p for p in prices if p.scope == LIST_PRICE]
        scoped = [p for p in prices if p.scope != LIST_PRICE]
        if list_prices:
            await self.ensure_bound([p.sku for p in list_prices])
            rows = [[bindings.xmlid("product", p.sku), str(p.amount)] for p in list_prices]
            await bindings.upsert(self.client, "product.product", ["id", "list_price"], rows)
        if scoped:
            await self._upsert_items(scoped)

    async def _upsert_items(self, prices: Sequence[Price]) -> None:
        scopes = sorted({(p.scope.kind.value, p.scope.code, p.currency) for p in prices})
        currencies = await self.lookups.currency_ids({c for _, _, c in scopes})
        pricelist_ids = await bindings.upsert(
            self.client,
            "product.pricelist",
            ["id", "name", "currency_id/.id"],
            [
                [
                    bindings.xmlid("pricelist", kind, code),
                    f"storelink {kind} {code}",
                    currencies[cur],
                ]
                for kind, code, cur in scopes
            ],
        )
        pricelist = {(k, c): pid for (k, c, _), pid in zip(scopes, pricelist_ids, strict=True)}
        products = await self.lookups.product_ids({p.sku for p in prices})
        columns = ["id", "pricelist_id/.id", "applied_on", "product_id/.id", "compute_price"]
        columns += ["fixed_price", "date_start", "date_end"]
        rows = [
            [
                bindings.xmlid("price", p.scope.kind.value, p.scope.code, p.sku, f"v{p.version}"),
                pricelist[(p.scope.kind.value, p.scope.code)],
                "0_product_variant",
                products[p.sku],
                "fixed",
                str(p.amount),
                _odoo_time(p.valid_from),
                _odoo_time(p.valid_to),
            ]
            for p in prices
        ]
        await bindings.upsert(self.client, "product.pricelist.item", columns, rows)

    async def read_prices(self, scope: PriceScope | None = None) -> list[Price]:
        """List prices (scope ``pricelist:list``) and the items of storelink's pricelists."""
        prices: list[Price] = []
        if scope is None or scope == LIST_PRICE:
            rows = await self.client.search_read(
                "product.product",
                [["default_code", "!=", False]],
                ["id", "default_code", "list_price", "write_date"],
                order="id",
            )
            currency = await self.lookups.company_currency()
            prices.extend(list_price_from_row(row, currency) for row in rows)
        if scope is not None and scope == LIST_PRICE:
            return prices
        pricelists = await self.client.search_read(
            "ir.model.data",
            [["module", "=", bindings.MODULE], ["model", "=", "product.pricelist"]],
            ["name", "res_id"],
        )
        wanted = {
            int(r["res_id"])
            for r in pricelists
            if scope is None
            or r["name"] == bindings.xmlid_name("pricelist", scope.kind.value, scope.code)
        }
        if not wanted:
            return prices
        items = await self.client.search_read(
            "product.pricelist.item",
            [["pricelist_id", "in", sorted(wanted)]],
            ITEM_FIELDS,
            order="id",
        )
        prices.extend(await self.prices_from_items(items))
        return prices

    async def prices_from_items(self, items: Sequence[Mapping[str, Any]]) -> list[Price]:
        """Pricelist items storelink wrote (known by their external id) as canonical prices."""
        return [price for _, price in await self.prices_with_items(items)]

    async def prices_with_items(
        self, items: Sequence[Mapping[str, Any]]
    ) -> list[tuple[Mapping[str, Any], Price]]:
        """Each item storelink wrote beside the canonical price it holds (others are skipped)."""
        if not items:
            return []
        names = await self.client.search_read(
            "ir.model.data",
            [
                ["module", "=", bindings.MODULE],
                ["model", "=", "product.pricelist.item"],
                ["res_id", "in", [int(i["id"]) for i in items]],
            ],
            ["name", "res_id"],
        )
        keys = {int(r["res_id"]): str(r["name"]) for r in names}
        pricelist_ids = sorted({many2one_id(i["pricelist_id"]) for i in items})
        pricelists = await self.client.search_read(
            "product.pricelist", [["id", "in", pricelist_ids]], ["id", "currency_id"]
        )
        currency = {int(p["id"]): _many2one_name(p["currency_id"]) for p in pricelists}
        skus = await self.lookups.skus_of(many2one_id(i["product_id"]) for i in items)
        prices = []
        for item in items:
            parsed = parse_price_key(keys.get(int(item["id"]), ""))
            sku = skus.get(many2one_id(item["product_id"]))
            if parsed is None or sku is None:
                continue
            kind, code, version = parsed
            prices.append(
                (
                    item,
                    Price(
                        sku=sku,
                        scope=PriceScope(kind=PriceScopeKind(kind), code=code),
                        amount=from_odoo_number(item["fixed_price"]),
                        currency=currency.get(many2one_id(item["pricelist_id"]), "EUR"),
                        version=version,
                        valid_from=from_odoo_datetime(item.get("date_start")) or EPOCH,
                        valid_to=from_odoo_datetime(item.get("date_end")),
                    ),
                )
            )
        return prices


def _many2one_name(value: object) -> str:
    if isinstance(value, list | tuple) and len(value) > 1:
        return str(value[1])
    return ""


def parse_price_key(name: str) -> tuple[str, str, int] | None:
    """``(kind, code, version)`` from the name ``price__<kind>__<code>__<sku>__v<version>``."""
    parts = bindings.parse_name(name)
    if len(parts) != 5 or parts[0] != "price":
        return None
    _, kind, code, _sku, version = parts
    if kind not in {k.value for k in PriceScopeKind} or not version[1:].isdigit():
        return None
    return kind, code, int(version[1:])


def product_from_row(row: Mapping[str, Any], tax_class: str = "standard") -> Product:
    """A canonical product from a ``product.product`` row read with :data:`PRODUCT_FIELDS`."""
    return Product(
        sku=str(row["default_code"]),
        name=str(row["name"]),
        barcode=str(row["barcode"]) if row.get("barcode") else None,
        uom=_many2one_name(row.get("uom_id")) or "Units",
        tax_class=tax_class,
        category=_many2one_name(row.get("categ_id")) or None,
        active=bool(row.get("active", True)),
    )


def list_price_from_row(row: Mapping[str, Any], currency: str) -> Price:
    """The list price of a product row as a ``pricelist:list`` price."""
    changed = from_odoo_datetime(row.get("write_date")) or EPOCH
    return Price(
        sku=str(row["default_code"]),
        scope=LIST_PRICE,
        amount=from_odoo_number(row.get("list_price") or 0),
        currency=currency,
        version=max(1, int(changed.timestamp())),
        valid_from=changed,
    )
