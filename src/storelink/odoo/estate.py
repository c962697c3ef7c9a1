"""Stores ⇄ ``stock.warehouse`` (key: the warehouse ``code``) and their POS configs.

A store's sellable stock is its warehouse's ``lot_stock_id``; in storelink that
location has the store's code. With ``point_of_sale`` installed each store gets a
``pos.config`` named after its code, using the warehouse's ``pos_type_id``
(``addons/point_of_sale/models/stock_warehouse.py``) as picking type, and two
payment methods: its own cash method on its own cash journal — Odoo refuses a
cash method shared between configs or journals ("This cash payment method is
already used in another Point of Sale", ``pos.config._check_payment_method_ids_journal``,
seen on real 17.0 and 18.0) — and storelink's card method on the company's bank
journal, which every store shares. A fresh 18.0 database has no payment method
at all, a fresh 17.0 one only the first shop's, so storelink brings its own.
Warehouse codes are unique per company in Odoo (``warehouse_code_uniq``), so a
concurrent writer creating the same store fails and the retry finds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zlib import crc32

from storelink.errors import NotFoundError, OdooValidationError, ValidationError
from storelink.model import Location, LocationKind, Store
from storelink.odoo import bindings
from storelink.odoo.client import OdooClient
from storelink.odoo.lookups import Lookups, many2one_id
from storelink.odoo.results import StoreBinding


class Estate:
    def __init__(self, client: OdooClient, lookups: Lookups) -> None:
        self.client = client
        self.lookups = lookups

    async def upsert_stores(self, stores: Sequence[Store]) -> list[StoreBinding]:
        """Create missing warehouses (and POS configs), rename changed ones; their bindings."""
        return await self.client.retrying(lambda: self._upsert(stores))

    async def _upsert(self, stores: Sequence[Store], again: bool = True) -> list[StoreBinding]:
        _check_codes(stores)
        codes = [s.code for s in stores]
        rows = await self.client.search_read(
            "stock.warehouse", [["code", "in", codes]], ["id", "code", "name"]
        )
        existing = {str(r["code"]): r for r in rows}
        missing = [s for s in stores if s.code not in existing]
        if missing:
            try:
                await self.client.create(
                    "stock.warehouse", [{"name": s.name, "code": s.code} for s in missing]
                )
            except OdooValidationError:
                # warehouse codes are unique: another writer may have created some first
                if not again:
                    raise
                return await self._upsert(stores, again=False)
        for store in stores:
            row = existing.get(store.code)
            if row is not None and row["name"] != store.name:
                await self.client.call(
                    "stock.warehouse", "write", [int(row["id"])], vals={"name": store.name}
                )
        self.lookups.stores.clear()
        if await self.lookups.has_pos():
            await self._ensure_pos_configs(codes)
            self.lookups.stores.clear()
        found = await self.lookups.warehouses(codes)
        return [found[code] for code in codes]

    async def _ensure_pos_configs(self, codes: list[str]) -> None:
        """A POS config per store, keyed by external id ``storelink.pos_config__<code>``.

        Created through ``load`` so that two writers racing on one store end with
        one config (the external id is unique); configs a person already named
        after the store code are kept as they are.
        """
        configs = await self.client.search_read("pos.config", [["name", "in", codes]], ["name"])
        have = {str(c["name"]) for c in configs}
        missing = [code for code in codes if code not in have]
        if not missing:
            return
        rows = await self.client.search_read(
            "stock.warehouse", [["code", "in", missing]], ["id", "code", "pos_type_id"]
        )
        card = await self._card_method()
        cash = await self._cash_methods([str(row["code"]) for row in rows])
        await bindings.upsert(
            self.client,
            "pos.config",
            ["id", "name", "picking_type_id/.id", "payment_method_ids/.id"],
            [
                [
                    bindings.xmlid("pos_config", row["code"]),
                    str(row["code"]),
                    many2one_id(row.get("pos_type_id")) or None,
                    f"{cash[str(row['code'])]},{card}",
                ]
                for row in rows
            ],
        )

    async def _cash_methods(self, codes: list[str]) -> dict[str, int]:
        """``{store code: its own cash payment method}`` on its own cash journal."""
        journals = await bindings.upsert(
            self.client,
            "account.journal",
            ["id", "name", "code", "type"],
            [
                [
                    bindings.xmlid("cash_journal", code),
                    f"Cash {code}",
                    cash_journal_code(code),
                    "cash",
                ]
                for code in codes
            ],
        )
        methods = await bindings.upsert(
            self.client,
            "pos.payment.method",
            ["id", "name", "journal_id/.id"],
            [
                [bindings.xmlid("cash_method", code), f"Cash {code}", journal]
                for code, journal in zip(codes, journals, strict=True)
            ],
        )
        return dict(zip(codes, methods, strict=True))

    async def _card_method(self) -> int:
        """storelink's card payment method, shared by every store, on the first bank journal.

        Created once and never written again: Odoo refuses to modify a payment
        method while a session using it is open ("Please close and validate the
        following open PoS Sessions before modifying this payment method", real 17.0).
        """
        name = bindings.xmlid_name("card_method")
        bound = await bindings.resolve(self.client, "pos.payment.method", [name])
        if name in bound:
            return bound[name]
        banks = await self.client.search_read(
            "account.journal", [["type", "=", "bank"]], ["id"], order="id", limit=1
        )
        if not banks:
            raise NotFoundError(
                "Odoo has no bank journal for card payments; install a chart of accounts",
                model="account.journal",
            )
        (method,) = await bindings.upsert(
            self.client,
            "pos.payment.method",
            ["id", "name", "journal_id/.id"],
            [[bindings.xmlid("card_method"), "Card (storelink)", int(banks[0]["id"])]],
        )
        return method

    async def read_stores(self) -> list[tuple[Store, Location]]:
        """Every warehouse as a store and its stock location."""
        rows = await self.client.search_read(
            "stock.warehouse", [], ["id", "code", "name", "active"], order="id"
        )
        result = []
        for row in rows:
            store, location = store_from_row(row)
            result.append((store, location))
        return result


#: ``stock.warehouse.code`` is a ``Char(size=5)`` in Odoo 16 to 18: a varchar(5) column
WAREHOUSE_CODE_SIZE = 5


def _check_codes(stores: Sequence[Store]) -> None:
    """Refuse, before anything is written, store codes Odoo cannot hold as a warehouse code."""
    long = [s.code for s in stores if len(s.code) > WAREHOUSE_CODE_SIZE]
    if long:
        raise ValidationError(
            f"store code {', '.join(long)} is longer than {WAREHOUSE_CODE_SIZE} characters: "
            f"Odoo's warehouse code (stock.warehouse.code) holds at most {WAREHOUSE_CODE_SIZE}",
            field="stores[].code",
            stores=long,
        )


def cash_journal_code(store: str) -> str:
    """A stable 5-character journal code for a store's cash journal (Odoo's limit is 5).

    ``K`` and four base-36 digits of a checksum of the store code: journal codes are
    unique per company, and store codes are longer than the room left.
    """
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    n, out = crc32(store.encode()) % 36**4, ""
    for _ in range(4):
        n, r = divmod(n, 36)
        out = digits[r] + out
    return f"K{out}"


def store_from_row(row: dict[str, Any]) -> tuple[Store, Location]:
    """A ``stock.warehouse`` row as a canonical store and its stock location."""
    code = str(row["code"])
    store = Store(
        code=code, name=str(row["name"]), location=code, active=bool(row.get("active", True))
    )
    location = Location(code=code, name=f"{row['name']} stock", kind=LocationKind.STORE, store=code)
    return store, location
