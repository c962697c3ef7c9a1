"""Customers ⇄ ``res.partner`` (key: external id ``storelink.customer__<id>``).

Fields from ``odoo/addons/base/models/res_partner.py``: ``name``, ``email``,
``phone``, ``street``, ``city``, ``zip``, ``country_id`` (by ISO code on
``res.country.code``). Orders without a customer use one shared partner,
``storelink.partner__walk_2din`` ("Walk-in customer").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from storelink.model import Address, Customer, utcnow
from storelink.odoo import bindings
from storelink.odoo.client import OdooClient, from_odoo_datetime
from storelink.odoo.lookups import many2one_id

PARTNER_FIELDS = ["id", "name", "email", "phone", "street", "city", "zip", "country_id"]
PARTNER_FIELDS += ["write_date"]
WALK_IN = ("partner", "walk-in")


class Customers:
    def __init__(self, client: OdooClient) -> None:
        self.client = client
        self._countries: dict[str, int] = {}
        self._walk_in: int | None = None

    async def _country_ids(self, codes: Iterable[str]) -> dict[str, int]:
        missing = sorted(set(codes) - self._countries.keys())
        if missing:
            rows = await self.client.search_read(
                "res.country", [["code", "in", missing]], ["id", "code"]
            )
            self._countries.update({str(r["code"]): int(r["id"]) for r in rows})
        return self._countries

    async def upsert(self, customers: Sequence[Customer]) -> list[int]:
        """Create or update partners for ``customers`` (one ``load`` per batch)."""
        if not customers:
            return []
        countries = await self._country_ids(c.address.country for c in customers if c.address)
        columns = ["id", "name", "email", "phone", "street", "city", "zip", "country_id/.id"]
        rows: list[list[Any]] = []
        for c in customers:
            a = c.address
            rows.append(
                [
                    bindings.xmlid("customer", c.id),
                    c.name,
                    c.email,
                    c.phone,
                    a.street if a else None,
                    a.city if a else None,
                    a.postcode if a else None,
                    countries.get(a.country) if a else None,
                ]
            )
        return await bindings.upsert(self.client, "res.partner", columns, rows)

    async def partner_ids(self, customer_ids: Iterable[str]) -> dict[str, int]:
        """``{customer id: res.partner id}`` for customers storelink has written."""
        names = {bindings.xmlid_name("customer", cid): cid for cid in set(customer_ids)}
        found = await bindings.resolve(self.client, "res.partner", names)
        return {names[name]: pid for name, pid in found.items()}

    async def walk_in(self) -> int:
        """The shared partner for orders without a known customer (created once)."""
        if self._walk_in is None:
            ids = await bindings.upsert(
                self.client,
                "res.partner",
                ["id", "name"],
                [[bindings.xmlid(*WALK_IN), "Walk-in customer"]],
            )
            self._walk_in = ids[0]
        return self._walk_in

    async def read(self) -> list[Customer]:
        """Every partner storelink has bound to a customer id."""
        rows = await self.client.search_read(
            "ir.model.data",
            [["module", "=", bindings.MODULE], ["model", "=", "res.partner"]],
            ["name", "res_id"],
        )
        keys = {
            int(r["res_id"]): bindings.parse_name(str(r["name"]))[1]
            for r in rows
            if str(r["name"]).startswith("customer__")
        }
        if not keys:
            return []
        partners = await self.client.search_read(
            "res.partner", [["id", "in", sorted(keys)]], PARTNER_FIELDS, order="id"
        )
        return await self.from_rows(partners, keys)

    async def from_rows(
        self, rows: Sequence[Mapping[str, Any]], keys: Mapping[int, str]
    ) -> list[Customer]:
        country_ids = sorted({many2one_id(r.get("country_id")) for r in rows} - {0})
        codes: dict[int, str] = {}
        if country_ids:
            countries = await self.client.search_read(
                "res.country", [["id", "in", country_ids]], ["id", "code"]
            )
            codes = {int(c["id"]): str(c["code"]) for c in countries}
        return [
            customer_from_row(row, keys[int(row["id"])], codes)
            for row in rows
            if int(row["id"]) in keys
        ]


def customer_from_row(
    row: Mapping[str, Any], customer_id: str, country_codes: Mapping[int, str]
) -> Customer:
    country = country_codes.get(many2one_id(row.get("country_id")))
    address = None
    if row.get("street") and row.get("city") and row.get("zip") and country:
        address = Address(
            street=str(row["street"]),
            city=str(row["city"]),
            postcode=str(row["zip"]),
            country=country,
        )
    updated = from_odoo_datetime(row.get("write_date"))
    return Customer(
        id=customer_id,
        name=str(row["name"]),
        email=str(row["email"]) if row.get("email") else None,
        phone=str(row["phone"]) if row.get("phone") else None,
        address=address,
        updated_at=updated or utcnow(),
    )
