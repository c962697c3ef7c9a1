"""Steps that build the estate and the catalog: stores, products, prices, customers."""

from __future__ import annotations

from typing import Any

from storelink.odoo import bindings
from storelink.odoo.conformance.context import Run
from storelink.odoo.conformance.data import (
    CUSTOMERS,
    PRICES,
    PRODUCTS,
    RENAMED,
    RENAMED_PRODUCTS,
    SKUS,
    STORE_CODES,
    STORES,
)
from storelink.odoo.conformance.steps import readback
from storelink.odoo.results import StoreBinding


async def estate(run: Run) -> None:
    tape, odoo = run.tape, run.odoo

    def summary(found: list[StoreBinding]) -> Any:
        return [[b.code, b.pos_config_id is not None] for b in found]

    await tape.run("upsert_stores", lambda: odoo.upsert_stores(STORES), summary)
    await tape.run("upsert_stores renamed", lambda: odoo.upsert_stores(RENAMED), summary)
    await tape.probe(
        "warehouses",
        lambda: _pairs(run, "stock.warehouse", [["code", "in", STORE_CODES]], ["code", "name"]),
    )
    await tape.probe("pos configs", lambda: readback.pos_configs(run))


async def _pairs(run: Run, model: str, domain: list[Any], fields: list[str]) -> list[list[Any]]:
    found = await readback.rows(run, model, domain, fields)
    return sorted([row[f] for f in fields] for row in found)


async def products(run: Run) -> None:
    tape, odoo = run.tape, run.odoo
    await tape.run("upsert_products", lambda: odoo.upsert_products(PRODUCTS), len)
    await tape.run("upsert_products renamed", lambda: odoo.upsert_products(RENAMED_PRODUCTS), len)
    storable = sorted(run.client.dialect.storable_fields)

    async def read() -> dict[str, Any]:
        found = await readback.rows(
            run,
            "product.product",
            [["default_code", "in", SKUS]],
            ["default_code", "name", "barcode", "active", "taxes_id", *storable],
        )
        return {
            str(r["default_code"]): {
                "name": r["name"],
                "barcode": r["barcode"],
                "active": r["active"],
                "taxes": len(r["taxes_id"]),
                **{f: r[f] for f in storable},
            }
            for r in sorted(found, key=lambda r: str(r["default_code"]))
        }

    await tape.probe("products", read)
    await tape.probe(
        "product external ids",
        lambda: _names(run, "product.product"),
    )


async def _names(run: Run, model: str) -> list[str]:
    found = await readback.rows(
        run, "ir.model.data", [["module", "=", bindings.MODULE], ["model", "=", model]], ["name"]
    )
    return sorted(str(r["name"]) for r in found)


async def prices(run: Run) -> None:
    tape, odoo = run.tape, run.odoo
    await tape.run("upsert_prices", lambda: odoo.upsert_prices(PRICES))
    await tape.run("upsert_prices again", lambda: odoo.upsert_prices(PRICES))

    async def list_prices() -> dict[str, Any]:
        found = await readback.rows(
            run, "product.product", [["default_code", "in", SKUS]], ["default_code", "list_price"]
        )
        return {str(r["default_code"]): r["list_price"] for r in found}

    async def items() -> dict[str, Any]:
        names = await readback.rows(
            run,
            "ir.model.data",
            [["module", "=", bindings.MODULE], ["model", "=", "product.pricelist.item"]],
            ["name", "res_id"],
        )
        by_id = {int(n["res_id"]): str(n["name"]) for n in names}
        found = await readback.rows(
            run,
            "product.pricelist.item",
            [["id", "in", sorted(by_id)]],
            [
                "pricelist_id",
                "applied_on",
                "compute_price",
                "fixed_price",
                "date_start",
                "date_end",
            ],
        )
        return {
            by_id[int(r["id"])]: {
                "pricelist": r["pricelist_id"][1] if r["pricelist_id"] else False,
                "applied_on": r["applied_on"],
                "compute_price": r["compute_price"],
                "fixed_price": r["fixed_price"],
                "date_start": r["date_start"],
                "date_end": r["date_end"],
            }
            for r in sorted(found, key=lambda r: by_id[int(r["id"])])
        }

    await tape.probe("list prices", list_prices)
    await tape.probe("pricelist items", items)
    await tape.probe("pricelist external ids", lambda: _names(run, "product.pricelist"))


async def customers(run: Run) -> None:
    tape, odoo = run.tape, run.odoo

    await tape.run("upsert_customers", lambda: odoo.upsert_customers(CUSTOMERS), len)
    await tape.run("upsert_customers again", lambda: odoo.upsert_customers(CUSTOMERS))
    await tape.run("walk-in customer", odoo.customers.walk_in)
    await tape.probe(
        "partners",
        lambda: _pairs(
            run,
            "res.partner",
            [["name", "like", "Conformance"]],
            ["name", "email", "phone", "street", "city", "zip"],
        ),
    )
    await tape.probe("partner external ids", lambda: _names(run, "res.partner"))
