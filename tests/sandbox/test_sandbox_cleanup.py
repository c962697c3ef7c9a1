"""``storelink sandbox --cleanup`` against an Odoo of its own (the emulator in its own process).

The Odoo already holds records the runs must not touch; after each run the
test reads Odoo back through its API: what existed is untouched, nothing the
run created is still active, and the report's counts are what Odoo holds.
A second run against the same Odoo passes too: it brings back the warehouses
and POS configs the first cleanup archived (their codes stay taken) and
archives them again.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from storelink.cli import main
from storelink.config.sections import OdooSettings
from storelink.odoo import bindings, open_connector
from storelink.odoo.client import OdooClient
from storelink.sandbox.estate import generate_estate, store_codes
from storelink.sandbox.odoo_side import emulator_process
from storelink.sandbox.options import SandboxOptions
from storelink.sandbox.runner import SandboxResult, missing_parts, run_sandbox

MISSING = missing_parts(SandboxOptions())
pytestmark = pytest.mark.skipif(
    bool(MISSING), reason=f"parts not installed yet: {', '.join(MISSING)}"
)
EVERYTHING = {"active_test": False}
STORES = 2
PRODUCTS = 30


async def _rows(
    client: OdooClient, model: str, domain: list[Any], fields: list[str]
) -> list[dict[str, Any]]:
    return await client.search_read(model, domain, ["id", *fields], order="id", context=EVERYTHING)


async def _pre_existing(client: OdooClient, skus: list[str]) -> dict[str, int]:
    """Records made before any run: a warehouse, two products, a confirmed sale order.

    Both products have SKUs of the estate: the run adopts the plain one (binds it
    to a new storelink external id) and finds the other bound already.
    """
    plain_sku, adopted_sku = skus[1], skus[0]
    (warehouse,) = await client.create("stock.warehouse", [{"name": "Outlet", "code": "OUT"}])
    plain, adopted = await client.create(
        "product.product",
        [
            {"name": "Plain", "default_code": plain_sku},
            {"name": "Adopted", "default_code": adopted_sku},
        ],
    )
    # bound by storelink before the run: the run finds it and writes to it
    await client.create(
        "ir.model.data",
        [
            {
                "module": "storelink",
                "name": bindings.xmlid_name("product", adopted_sku),
                "model": "product.product",
                "res_id": adopted,
                "noupdate": True,
            }
        ],
    )
    (partner,) = await client.create("res.partner", [{"name": "Counter customer"}])
    (order,) = await client.create(
        "sale.order",
        [
            {
                "partner_id": partner,
                "client_order_ref": "phone-1",
                "order_line": [[0, 0, {"product_id": plain, "product_uom_qty": 1}]],
            }
        ],
    )
    await client.call("sale.order", "action_confirm", [order])
    return {
        "stock.warehouse": warehouse,
        "plain": plain,
        "adopted": adopted,
        "res.partner": partner,
        "sale.order": order,
    }


async def _assert_untouched(client: OdooClient, before: dict[str, int]) -> None:
    (warehouse,) = await _rows(
        client, "stock.warehouse", [["id", "=", before["stock.warehouse"]]], ["active", "code"]
    )
    assert warehouse["active"] is True and warehouse["code"] == "OUT"
    products = await _rows(
        client, "product.product", [["id", "in", [before["plain"], before["adopted"]]]], ["active"]
    )
    assert [p["active"] for p in products] == [True, True]
    bound = await _rows(
        client,
        "ir.model.data",
        [["model", "=", "product.product"], ["res_id", "=", before["adopted"]]],
        ["name"],
    )
    assert len(bound) == 1  # its external id stays too
    adopted_by_run = await _rows(
        client,
        "ir.model.data",
        [["model", "=", "product.product"], ["res_id", "=", before["plain"]]],
        ["name"],
    )
    assert adopted_by_run == []  # the binding the run added is gone
    (order,) = await _rows(client, "sale.order", [["id", "=", before["sale.order"]]], ["state"])
    assert order["state"] == "sale"
    (partner,) = await _rows(
        client, "res.partner", [["id", "=", before["res.partner"]]], ["active"]
    )
    assert partner["active"] is True


async def _assert_nothing_active(client: OdooClient, made_by_runs: list[str]) -> None:
    codes = store_codes(STORES)
    warehouses = await _rows(client, "stock.warehouse", [["code", "in", codes]], ["active"])
    assert len(warehouses) == STORES and not any(w["active"] for w in warehouses)
    configs = await _rows(client, "pos.config", [["name", "in", codes]], ["active"])
    assert len(configs) == STORES and not any(c["active"] for c in configs)
    products = await _rows(
        client,
        "product.product",
        [["default_code", "in", made_by_runs]],
        ["active"],
    )
    assert len(products) == PRODUCTS - 2 and not any(p["active"] for p in products)
    assert await _rows(client, "product.pricelist", [["name", "=like", "storelink %"]], []) == []
    assert await _rows(client, "sale.order", [["client_order_ref", "=like", "web:%"]], []) == []
    assert await _rows(client, "res.partner", [["name", "=", "Walk-in customer"]], []) == []
    sessions = await _rows(
        client, "pos.session", [["config_id", "in", [c["id"] for c in configs]]], ["state"]
    )
    assert sessions and {s["state"] for s in sessions} == {"closed"}


def _options(
    tmp_path: Path,
    settings: OdooSettings,
    seed: int,
    run: int,
    *,
    faults: str = "none",
    cleanup: bool = True,
) -> SandboxOptions:
    return SandboxOptions(
        stores=STORES,
        sales=60,
        seed=seed,
        rate=0,
        faults=faults,
        products=PRODUCTS,
        odoo=settings,
        live=False,
        cleanup=cleanup,
        report=tmp_path / f"report-{run}.json",
        data_dir=tmp_path / f"data-{run}",
        converge_timeout_s=60.0,
    )


async def _run(
    tmp_path: Path, settings: OdooSettings, seed: int, run: int, **options: Any
) -> tuple[SandboxResult, dict[str, Any]]:
    console = Console(file=io.StringIO(), width=200)
    result = await run_sandbox(_options(tmp_path, settings, seed, run, **options), console=console)
    report = json.loads((tmp_path / f"report-{run}.json").read_text())
    assert report["passed"] is True, (report["failures"], result.stats.capture_failing)
    assert result.ok, report["cleanup"]
    if options.get("cleanup", True):
        assert "cleanup done" in console.file.getvalue()  # type: ignore[attr-defined]
    return result, report["cleanup"]


@pytest.mark.parametrize("version", ["17", "18"])
async def test_a_rerun_with_faults_on_the_same_database_passes(
    tmp_path: Path, version: str
) -> None:
    """The same seed again: its price changes and stock counts repeat what the first run wrote.

    The rerun seeds version-1 prices and opening stock back over them, then the same
    faults write the same version-2 prices and counts: each of those writes is a new
    change in Odoo that must reach the stores. While a price event was keyed by its
    content, the rerun's clashed with the one captured from the first run's item, the
    price feed failed every round and (before feeds failed alone) the stock feed behind
    it never ran: the stores kept the seeded stock.
    """
    async with emulator_process(version) as url:
        settings = OdooSettings(url=url, database="storelink", user="admin", password="admin")
        first, _ = await _run(tmp_path, settings, seed=7, run=1, faults="default", cleanup=False)
        second, _ = await _run(tmp_path, settings, seed=7, run=2, faults="default")
    for result in (first, second):
        assert result.stats.capture_failing == ()
        assert result.document["stock_mismatches"] == result.document["price_mismatches"] == 0


async def test_cleanup_removes_only_what_the_run_created_and_a_second_run_passes(
    tmp_path: Path,
) -> None:
    skus = [p.sku for p in generate_estate(stores=STORES, seed=1, products=PRODUCTS).products]
    made_by_runs = skus[2:]  # the first two existed before
    async with emulator_process() as url:
        settings = OdooSettings(url=url, database="storelink", user="admin", password="admin")
        async with open_connector(settings) as odoo:
            before = await _pre_existing(odoo.client, skus)

        _, first = await _run(tmp_path, settings, seed=5, run=1)
        async with open_connector(settings) as odoo:
            client = odoo.client
            await _assert_untouched(client, before)
            await _assert_nothing_active(client, made_by_runs)
            models = first["models"]
            # what the report counts is what Odoo holds
            assert models["stock.warehouse"] == {
                "deleted": 0,
                "archived": STORES,
                "left": 0,
                "reasons": [],
            }
            assert models["pos.config"]["archived"] == STORES
            assert (
                models["product.product"]["archived"] + models["product.product"]["deleted"]
                == PRODUCTS - 2
            )
            pos_orders = await _rows(
                client, "pos.order", [["pos_reference", "=like", "storelink/%"]], ["state"]
            )
            assert models["pos.order"]["left"] == len(pos_orders) == 60
            assert models["pos.order"]["reasons"]  # paid orders stay, and the report says why
            assert models["sale.order"]["deleted"] == 3  # the channel's 5% of 60
            assert models["product.pricelist"]["deleted"] == STORES
            assert models["product.pricelist.item"]["deleted"] == STORES * PRODUCTS
            assert first["restored"] == 0
            assert first["unbound"] == 1  # the plain product's new binding

        # the same command against the same Odoo again, same seed: archived warehouse codes
        # are still taken, so the run brings its warehouses and configs back and archives
        # them again afterwards; its transaction ids are salted, so the first run's paid
        # orders are not mistaken for its own
        _, second = await _run(tmp_path, settings, seed=5, run=2)
        async with open_connector(settings) as odoo:
            client = odoo.client
            await _assert_untouched(client, before)
            await _assert_nothing_active(client, made_by_runs)
            models = second["models"]
            assert "stock.warehouse" not in models and "pos.config" not in models
            # 2 warehouses + 2 configs + the 28 products the run's catalog made active again
            assert second["restored"] == 2 * STORES + PRODUCTS - 2
            assert second["unbound"] == 1
            assert models["pos.order"]["left"] == 60
            everything = await _rows(
                client, "pos.order", [["pos_reference", "=like", "storelink/%"]], []
            )
            assert len(everything) == 120  # the first run's orders were not the second's


def test_cleanup_flag_runs_against_the_emulator(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    code = main(
        [
            "sandbox",
            "--stores", "2",
            "--sales", "20",
            "--products", "10",
            "--faults", "none",
            "--rate", "0",
            "--no-live",
            "--cleanup",
            "--converge-timeout", "30",
            "--report", str(report),
            "--data-dir", str(tmp_path / "data"),
        ]
    )  # fmt: skip
    assert code == 0
    document = json.loads(report.read_text())
    assert document["passed"] is True
    assert document["cleanup"]["ok"] is True
    assert document["cleanup"]["models"]["stock.warehouse"]["archived"] == 2
