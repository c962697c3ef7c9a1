"""Store stock adjustments reach Odoo as delta transfers, exactly once, on every version."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from storelink.model import StockMovement
from storelink.model.stock import MovementReason
from storelink.odoo import OdooConnector, open_connector
from storelink.odoo.adjustments import adjustment_origin
from storelink.odoo.backend import Call
from storelink.odoo.retry import RetryPolicy
from tests.odoo.conftest import Emulated, emulator_module, make_sale
from tests.odoo.test_connector import no_sleep, prepare

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


class Crash(Exception):
    """The hub process dying at a chosen point."""


def movement(sku: str, quantity: int) -> StockMovement:
    return StockMovement(
        id=uuid.uuid4(),
        sku=sku,
        location="S001",
        quantity=Decimal(quantity),
        reason=MovementReason.ADJUSTMENT,
        occurred_at=NOW,
    )


def batch() -> list[StockMovement]:
    return [movement("SKU-1", -3), movement("SKU-2", 5), movement("SKU-1", -2)]


async def on_hand(connector: OdooConnector) -> dict[str, Decimal]:
    return {p.sku: p.on_hand for p in await connector.read_stock_positions(["S001"])}


def pickings(odoo: Emulated, movements: list[StockMovement]) -> list[dict[str, Any]]:
    origins = [adjustment_origin(m) for m in movements]
    return odoo.read("stock.picking", [["origin", "in", origins]], ["origin", "state"])


def before(connector: OdooConnector, model: str, method: str, action: Any) -> list[Call]:
    """Run ``action()`` once, just before the first ``model.method`` call is sent."""
    backend = connector.client.backend
    execute = backend.execute
    seen: list[Call] = []

    async def intercept(call: Call) -> Any:
        if (call.model, call.method) == (model, method) and not seen:
            seen.append(call)
            await action()
        return await execute(call)

    backend.execute = intercept  # type: ignore[method-assign]
    return seen


async def test_a_batch_applies_its_deltas_and_a_replay_changes_nothing(odoo: Emulated) -> None:
    movements = batch()
    async with open_connector(odoo.settings()) as connector:
        await prepare(connector)
        first = await connector.apply_stock_adjustments(movements)
        after_first = await on_hand(connector)
        # the drain died after Odoo's write and before marking the batch: it comes again
        again = await connector.apply_stock_adjustments(movements)
        after_replay = await on_hand(connector)
    assert after_first["SKU-1"] == Decimal(45) and after_first["SKU-2"] == Decimal(55)
    assert after_replay == after_first
    assert [r.uuid for r in first] == [m.id for m in movements]
    assert all(r.applied for r in first) and not any(r.applied for r in again)
    assert [r.picking_id for r in again] == [r.picking_id for r in first]
    rows = pickings(odoo, movements)
    assert len(rows) == 3 and {r["state"] for r in rows} == {"done"}
    assert moves_by_direction(odoo, movements) == {
        ("inventory", "internal", "incoming"): 1,
        ("internal", "inventory", "outgoing"): 2,
    }


def moves_by_direction(odoo: Emulated, movements: list[StockMovement]) -> dict[Any, int]:
    """How many done moves went (source usage, destination usage, operation type code)."""
    origins = [adjustment_origin(m) for m in movements]
    usage = {r["id"]: r["usage"] for r in odoo.read("stock.location", [], ["usage"])}
    code = {r["id"]: r["code"] for r in odoo.read("stock.picking.type", [], ["code"])}
    found: dict[Any, int] = {}
    fields = ["location_id", "location_dest_id", "picking_type_id", "state"]
    for move in odoo.read("stock.move", [["origin", "in", origins]], fields):
        assert move["state"] == "done"
        key = (
            usage[move["location_id"][0]],
            usage[move["location_dest_id"][0]],
            code[move["picking_type_id"][0]],
        )
        found[key] = found.get(key, 0) + 1
    return found


async def test_a_crash_before_validation_is_completed_by_the_next_attempt(
    odoo: Emulated,
) -> None:
    movements = batch()
    async with open_connector(odoo.settings()) as connector:
        await prepare(connector)

        async def die() -> None:
            raise Crash

        before(connector, "stock.picking", "button_validate", die)
        with pytest.raises(Crash):
            await connector.apply_stock_adjustments(movements)
    assert {r["state"] for r in pickings(odoo, movements)} != {"done"}
    async with open_connector(odoo.settings()) as restarted:
        results = await restarted.apply_stock_adjustments(movements)
        levels = await on_hand(restarted)
    assert all(r.applied for r in results)
    assert levels["SKU-1"] == Decimal(45) and levels["SKU-2"] == Decimal(55)
    rows = pickings(odoo, movements)
    assert len(rows) == 3 and {r["state"] for r in rows} == {"done"}


async def test_a_sale_validated_in_odoo_meanwhile_is_not_lost(odoo: Emulated) -> None:
    async with (
        open_connector(odoo.settings()) as connector,
        open_connector(odoo.settings()) as till,
    ):
        await prepare(connector)
        if int(odoo.version) <= 17:  # POS stock moves at once, not at closing (17's default)
            odoo.emu.call(
                "res.company", "write", [1], {"point_of_sale_update_stock_quantities": "real"}
            )

        async def sell() -> None:
            await till.record_store_sales([make_sale([("SKU-1", 4, "2.50")])])

        # a till sells between two of the writer's steps, once per step
        for step, shrink in (("create", -3), ("button_validate", -2)):
            seen = before(connector, "stock.picking", step, sell)
            await connector.apply_stock_adjustments([movement("SKU-1", shrink)])
            assert seen, f"stock.picking.{step} was called"
        levels = await on_hand(connector)
    assert levels["SKU-1"] == Decimal(50 - 4 - 3 - 4 - 2)


async def test_taking_out_more_than_is_on_hand_leaves_a_negative_quant(odoo: Emulated) -> None:
    async with open_connector(odoo.settings()) as connector:
        await prepare(connector)
        (result,) = await connector.apply_stock_adjustments([movement("SKU_3/b", -60)])
        levels = await on_hand(connector)
    assert result.applied
    assert levels["SKU_3/b"] == Decimal(-10)


async def test_a_timeout_after_validation_does_not_apply_the_batch_twice(
    odoo17: Emulated,
) -> None:
    movements = batch()
    retry = RetryPolicy(attempts=3, sleep=no_sleep)
    async with open_connector(odoo17.settings(timeout_s=0.5), retry=retry) as connector:
        await prepare(connector)

        async def lose_the_answer() -> None:
            # button_validate runs and commits, but its answer never arrives in time
            odoo17.emu.faults.hang_s = 1.0
            odoo17.emu.faults.fail_next(1, kind="timeout")

        seen = before(connector, "stock.picking", "button_validate", lose_the_answer)
        results = await connector.apply_stock_adjustments(movements)
        odoo17.emu.faults.hang_s = 0.0
        levels = await on_hand(connector)
    assert seen
    assert [r.uuid for r in results] == [m.id for m in movements]
    assert levels["SKU-1"] == Decimal(45) and levels["SKU-2"] == Decimal(55)
    assert len(pickings(odoo17, movements)) == 3


async def test_a_batch_costs_a_few_round_trips_not_one_per_movement(odoo17: Emulated) -> None:
    small = [movement("SKU-1", -1) for _ in range(2)]
    large = [movement("SKU-2", n % 5 + 1) for n in range(40)]
    async with open_connector(odoo17.settings()) as connector:
        await prepare(connector)
        await connector.apply_stock_adjustments(small)  # warms the product and store caches
        start = connector.round_trips
        await connector.apply_stock_adjustments(small)
        replay = connector.round_trips - start
        start = connector.round_trips
        await connector.apply_stock_adjustments(large)
        fresh = connector.round_trips - start
        levels = await on_hand(connector)
    assert replay == 1  # one search finds both done
    assert fresh <= 5
    assert levels["SKU-2"] == Decimal(50 + sum(n % 5 + 1 for n in range(40)))


@pytest.mark.parametrize("version", ["16", "18"])
async def test_adjustments_over_xml_rpc(version: str) -> None:
    module = emulator_module()
    emu = module.OdooEmulator(version=version)
    movements = batch()
    async with module.serve_emulator(emu) as url:
        odoo = Emulated(emu, url, version)
        async with open_connector(odoo.settings(protocol="xmlrpc")) as connector:
            assert connector.protocol == "xmlrpc"
            await prepare(connector)
            await connector.apply_stock_adjustments(movements)
            await connector.apply_stock_adjustments(movements)
            levels = await on_hand(connector)
        assert len(pickings(odoo, movements)) == 3
    assert levels["SKU-1"] == Decimal(45) and levels["SKU-2"] == Decimal(55)


async def test_a_second_open_picking_for_one_key_is_cancelled_not_applied(
    odoo17: Emulated,
) -> None:
    shrink = movement("SKU-1", -3)
    async with open_connector(odoo17.settings()) as connector:
        await prepare(connector)

        async def die() -> None:
            raise Crash

        before(connector, "stock.picking", "button_validate", die)
        with pytest.raises(Crash):
            await connector.apply_stock_adjustments([shrink])
    async with open_connector(odoo17.settings()) as racer:
        # another writer's draft for the same key, as if it had raced this one
        adjustments = racer.adjustments
        await adjustments._cache_products((await racer.lookups.product_ids(["SKU-1"])).values())
        await adjustments._cache_stores({"S001"})
        product_id = (await racer.lookups.product_ids(["SKU-1"]))["SKU-1"]
        await racer.client.create(
            "stock.picking", [adjustments._picking_values(shrink, product_id)]
        )
        (result,) = await racer.apply_stock_adjustments([shrink])
        levels = await on_hand(racer)
    rows = sorted(pickings(odoo17, [shrink]), key=lambda r: r["id"])
    assert [r["state"] for r in rows] == ["done", "cancel"]
    assert result.picking_id == rows[0]["id"]
    assert levels["SKU-1"] == Decimal(47)
