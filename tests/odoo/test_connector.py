"""The connector against the emulator of every Odoo version, over real HTTP."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from storelink.errors import (
    NotFoundError,
    OdooMissingError,
    OdooTransportError,
    ValidationError,
)
from storelink.model import (
    Address,
    Customer,
    Order,
    OrderLine,
    Payment,
    PaymentMethod,
    Price,
    PriceScope,
    PriceScopeKind,
    Product,
    Return,
    ReturnLine,
    Sale,
    StockPosition,
)
from storelink.odoo import OdooConnector, open_connector
from storelink.odoo.backend import Call
from storelink.odoo.catalog import LIST_PRICE
from storelink.odoo.retry import RetryPolicy
from storelink.odoo.sales import ticket_of_sale
from tests.odoo.conftest import PRODUCTS, STORE, Emulated, make_sale

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


async def no_sleep(_: float) -> None:
    return None


async def prepare(odoo: OdooConnector) -> None:
    await odoo.upsert_stores([STORE])
    await odoo.upsert_products(PRODUCTS)
    await odoo.apply_stock_counts(
        [
            StockPosition(sku=p.sku, location="S001", on_hand=Decimal(50), as_of=NOW)
            for p in PRODUCTS
        ]
    )


async def test_version_and_protocol_are_detected(odoo: Emulated) -> None:
    async with open_connector(odoo.settings()) as connector:
        assert connector.version == odoo.version
        assert connector.protocol == ("json2" if odoo.version == "19" else "jsonrpc")


@pytest.mark.parametrize("version", ["16", "18"])
async def test_xml_rpc_works_end_to_end(version: str) -> None:
    from tests.odoo.conftest import emulator_module

    module = emulator_module()
    emu = module.OdooEmulator(version=version)
    async with module.serve_emulator(emu) as url:
        settings = Emulated(emu, url, version).settings(protocol="xmlrpc")
        async with open_connector(settings) as connector:
            assert connector.protocol == "xmlrpc"
            await prepare(connector)  # action_apply_inventory returns None: fine over XML-RPC
            positions = await connector.read_stock_positions(["S001"])
            results = await connector.record_store_sales([make_sale([("SKU-1", 2, "2.50")])])
    assert {p.sku: p.on_hand for p in positions}["SKU-1"] == Decimal(50)
    assert results[0].created


async def test_stores_products_and_stock_round_trip(odoo: Emulated) -> None:
    async with open_connector(odoo.settings()) as connector:
        await prepare(connector)
        await prepare(connector)  # replay: nothing new
        products = {p.sku: p for p in await connector.read_products()}
        positions = await connector.read_stock_positions(["S001"])
        stores = await connector.estate.read_stores()
    for product in PRODUCTS:
        assert products[product.sku].name == product.name
        assert products[product.sku].barcode == product.barcode
    assert sorted((p.sku, p.on_hand) for p in positions) == sorted(
        (p.sku, Decimal(50)) for p in PRODUCTS
    )
    assert [s.code for s, _ in stores].count("S001") == 1
    assert len([w for w in odoo.emu.records("stock.warehouse") if w["code"] == "S001"]) == 1
    storable = ["is_storable"] if int(odoo.version) >= 18 else ["detailed_type"]
    # a real Odoo has products with codes of its own (17's tips and discount products)
    skus = [p.sku for p in PRODUCTS]
    mine = odoo.read("product.product", [["default_code", "in", skus]], storable)
    assert len(mine) == len(PRODUCTS)
    if int(odoo.version) >= 18:
        assert all(p["is_storable"] for p in mine)
    else:
        assert all(p["detailed_type"] == "product" for p in mine)


async def test_a_store_code_odoo_cannot_hold_is_refused_before_any_write(odoo17: Emulated) -> None:
    long = STORE.model_copy(update={"code": "STORE1", "location": "STORE1"})
    before = len(odoo17.read("stock.warehouse"))
    async with open_connector(odoo17.settings()) as connector:
        with pytest.raises(ValidationError, match="store code STORE1 is longer than 5") as raised:
            await connector.upsert_stores([STORE, long])
    assert raised.value.context["stores"] == ["STORE1"]
    assert len(odoo17.read("stock.warehouse")) == before


async def test_existing_products_are_adopted_not_duplicated(odoo17: Emulated) -> None:
    async with open_connector(odoo17.settings()) as connector:
        existing = await connector.client.create(
            "product.product", [{"name": "Old cup", "default_code": "SKU-1"}]
        )
        ids = await connector.upsert_products([PRODUCTS[0]])
    assert ids == existing
    rows = odoo17.read("product.product", [["default_code", "=", "SKU-1"]], ["name"])
    assert [r["name"] for r in rows] == ["Espresso cup"]


async def test_prices_round_trip_and_replay(odoo: Emulated) -> None:
    store_scope = PriceScope(kind=PriceScopeKind.STORE, code="S001")
    until = datetime(2027, 1, 1, tzinfo=UTC)

    def price(sku: str, scope: PriceScope, amount: str, version: int, **extra: object) -> Price:
        return Price(
            sku=sku,
            scope=scope,
            amount=Decimal(amount),
            currency="USD",
            version=version,
            valid_from=NOW,
            **extra,  # type: ignore[arg-type]
        )

    prices = [
        price("SKU-1", LIST_PRICE, "2.50", 1),
        price("SKU-1", store_scope, "2.20", 3),
        price("SKU_3/b", store_scope, "4.00", 1, valid_to=until),
    ]
    async with open_connector(odoo.settings()) as connector:
        await prepare(connector)
        await connector.upsert_prices(prices)
        await connector.upsert_prices(prices)
        scoped = await connector.read_prices(store_scope)
        listed = await connector.read_prices(LIST_PRICE)
    got = {(p.sku, p.version): (p.amount, p.valid_to) for p in scoped if p.scope == store_scope}
    assert got == {
        ("SKU-1", 3): (Decimal("2.2"), None),
        ("SKU_3/b", 1): (Decimal("4"), until),
    }
    assert {p.sku: p.amount for p in listed}["SKU-1"] == Decimal("2.5")
    assert len(odoo.emu.records("product.pricelist.item")) == 2


async def test_customers_round_trip(odoo: Emulated) -> None:
    customer = Customer(
        id="C-1",
        name="Ada Lovelace",
        email="ada@example.com",
        phone="+1 555 0100",
        address=Address(street="1 Main St", city="Springfield", postcode="12345", country="US"),
        updated_at=NOW,
    )
    async with open_connector(odoo.settings()) as connector:
        first = await connector.upsert_customers([customer])
        again = await connector.upsert_customers([customer.model_copy(update={"name": "Ada L."})])
        read = await connector.read_customers()
    assert first == again
    (back,) = read
    assert back.id == "C-1" and back.name == "Ada L."
    assert back.address == customer.address and back.email == customer.email


async def test_store_sales_are_pos_orders_recorded_once(
    odoo: Emulated, sales: Callable[[int], list[Sale]]
) -> None:
    batch = sales(7)
    if int(odoo.version) <= 17:  # POS stock moves at once, not at closing (17's default)
        odoo.emu.call(
            "res.company", "write", [1], {"point_of_sale_update_stock_quantities": "real"}
        )
    async with open_connector(odoo.settings()) as connector:
        await prepare(connector)
        first = await connector.record_store_sales(batch)
        replay = await connector.record_store_sales(batch)
        positions = {p.sku: p.on_hand for p in await connector.read_stock_positions(["S001"])}
    assert all(r.created for r in first) and not any(r.created for r in replay)
    assert [r.odoo_id for r in first] == [r.odoo_id for r in replay]
    orders = odoo.emu.records("pos.order")
    assert len(orders) == 7
    assert {o["state"] for o in orders} <= {"paid", "done", "invoiced"}
    # the receipt number is storelink's reference in every version, so Odoo finds it
    references = {ticket_of_sale(s).reference for s in batch}
    assert {o["pos_reference"] for o in orders} == references
    wanted = sorted(references)[0]
    assert len(odoo.read("pos.order", [["pos_reference", "=", wanted]], ["id"])) == 1
    sold = sum(line.quantity for s in batch for line in s.lines if line.sku == "SKU-1")
    assert positions["SKU-1"] == Decimal(50) - sold


async def test_two_writers_at_once_record_each_sale_once(
    odoo: Emulated, sales: Callable[[int], list[Sale]]
) -> None:
    batch = sales(10)
    async with open_connector(odoo.settings()) as one, open_connector(odoo.settings()) as two:
        await prepare(one)
        await asyncio.gather(one.record_store_sales(batch), two.record_store_sales(batch))
    assert len(odoo.emu.records("pos.order")) == 10


async def test_two_writers_of_one_database_take_turns_from_check_to_read_back(
    odoo17: Emulated, sales: Callable[[int], list[Sale]]
) -> None:
    """Real Odoo dedups inside one transaction, blind to a concurrent one: writers queue."""
    batch = sales(3)
    writers: list[str] = []

    def record(connector: OdooConnector, name: str) -> None:
        backend = connector.client.backend
        execute = backend.execute

        async def spy(call: Call) -> Any:
            if call.model == "pos.order":
                writers.append(name)
            return await execute(call)

        backend.execute = spy  # type: ignore[method-assign]

    async with open_connector(odoo17.settings()) as one, open_connector(odoo17.settings()) as two:
        await prepare(one)
        record(one, "one")
        record(two, "two")
        await asyncio.gather(one.record_store_sales(batch), two.record_store_sales(batch))
    # one writer's check, sync and read-back, then the other's check (which finds them all)
    assert [name for name, _ in itertools.groupby(writers)] in (["one", "two"], ["two", "one"])
    assert len(writers) == 4
    assert len(odoo17.emu.records("pos.order")) == 3


async def test_returns_are_negative_pos_orders(odoo17: Emulated) -> None:
    ret = Return(
        id=uuid.uuid4(),
        store="S001",
        occurred_at=NOW,
        currency="USD",
        lines=[ReturnLine(sku="SKU-2", quantity=Decimal(1), refund_amount=Decimal("12.00"))],
        refunds=[Payment(method=PaymentMethod.CASH, amount=Decimal("12.00"))],
    )
    # POS stock moves at once, not at closing (17's default)
    odoo17.emu.call("res.company", "write", [1], {"point_of_sale_update_stock_quantities": "real"})
    async with open_connector(odoo17.settings()) as connector:
        await prepare(connector)
        (result,) = await connector.record_returns([ret])
        again = await connector.record_returns([ret])
        on_hand = {p.sku: p.on_hand for p in await connector.read_stock_positions(["S001"])}
    assert result.created and not again[0].created
    (order,) = odoo17.emu.records("pos.order")
    assert Decimal(str(order["amount_total"])) == Decimal("-12")
    assert on_hand["SKU-2"] == Decimal(51)


async def test_batching_keeps_round_trips_constant_per_batch(
    odoo17: Emulated, sales: Callable[[int], list[Sale]]
) -> None:
    async with open_connector(odoo17.settings(batch_size=200)) as connector:
        await prepare(connector)
        await connector.record_store_sales(sales(2))  # opens the session, warms look-ups
        odoo17.emu.stats.reset()
        before = connector.round_trips
        await connector.record_store_sales(sales(150))
        used = connector.round_trips - before
    assert used == odoo17.emu.stats.round_trips
    assert used <= 6  # look-ups, existing check, one sync call, read-back


async def test_unknown_sku_is_refused_before_anything_is_written(odoo17: Emulated) -> None:
    async with open_connector(odoo17.settings()) as connector:
        await prepare(connector)
        with pytest.raises(NotFoundError, match="NOPE"):
            await connector.record_store_sales([make_sale([("NOPE", 1, "1.00")])])
    assert odoo17.emu.records("pos.order") == []


def make_order(ref: str, channel: str = "webshop") -> Order:
    return Order(
        id=f"o-{ref}",
        channel=channel,
        external_ref=ref,
        currency="USD",
        lines=[OrderLine(sku="SKU-1", quantity=Decimal(2), unit_price=Decimal("2.50"))],
        fulfil_from="S001",
        created_at=NOW,
    )


async def test_channel_orders_are_confirmed_sale_orders_created_once(odoo: Emulated) -> None:
    orders = [make_order(str(n)) for n in range(4)]
    async with open_connector(odoo.settings()) as connector:
        await prepare(connector)
        first = await connector.create_channel_orders(orders)
        replay = await connector.create_channel_orders(orders)
    assert all(r.created for r in first) and not any(r.created for r in replay)
    rows = odoo.emu.records("sale.order")
    assert sorted(r["client_order_ref"] for r in rows) == [f"webshop:{n}" for n in range(4)]
    assert {r["state"] for r in rows} == {"sale"}
    pickings = [p for p in odoo.emu.records("stock.picking") if p.get("sale_id")]
    assert len(pickings) == 4


async def test_two_hub_workers_placing_one_order_leave_one_order(odoo17: Emulated) -> None:
    orders = [make_order(str(n)) for n in range(3)]
    async with open_connector(odoo17.settings()) as one, open_connector(odoo17.settings()) as two:
        await prepare(one)
        a, b = await asyncio.gather(
            one.create_channel_orders(orders), two.create_channel_orders(orders)
        )
    assert [r.odoo_id for r in a] == [r.odoo_id for r in b]
    live = [r for r in odoo17.emu.records("sale.order") if r["state"] != "cancel"]
    assert len(live) == 3


async def test_a_timeout_after_commit_does_not_duplicate_the_order(odoo17: Emulated) -> None:
    retry = RetryPolicy(attempts=3, sleep=no_sleep)
    async with open_connector(odoo17.settings(timeout_s=0.5), retry=retry) as connector:
        await prepare(connector)
        odoo17.emu.faults.hang_s = 1.0
        backend = connector.client.backend
        execute = backend.execute
        armed: list[Call] = []

        async def arm_on_create(call: Call) -> Any:
            # sale.order.create runs and commits, but its answer never arrives in time
            if (call.model, call.method) == ("sale.order", "create") and not armed:
                armed.append(call)
                odoo17.emu.faults.fail_next(1, kind="timeout")
            return await execute(call)

        backend.execute = arm_on_create  # type: ignore[method-assign]
        (result,) = await connector.create_channel_orders([make_order("t1")])
    assert armed, "the create call was made"
    rows = odoo17.read("sale.order", [["client_order_ref", "=", "webshop:t1"]], ["state"])
    assert [r["id"] for r in rows] == [result.odoo_id]
    assert rows[0]["state"] == "sale"


async def test_transient_faults_are_retried_business_errors_are_not(odoo17: Emulated) -> None:
    retry = RetryPolicy(attempts=4, sleep=no_sleep)
    async with open_connector(odoo17.settings(), retry=retry) as connector:
        await prepare(connector)
        odoo17.emu.faults.fail_next(2, kind="503")
        odoo17.emu.faults.fail_next(1, kind="serialization")
        products = await connector.read_products()
        assert {p.sku for p in products} >= {p.sku for p in PRODUCTS}
        odoo17.emu.stats.reset()
        with pytest.raises(OdooMissingError, match="does not exist"):
            await connector.client.call(
                "stock.quant", "action_apply_inventory", [999_999], context={"inventory_mode": True}
            )
        assert odoo17.emu.stats.round_trips == 1


async def test_without_point_of_sale_store_sales_become_delivered_sale_orders(
    odoo17: Emulated, sales: Callable[[int], list[Sale]]
) -> None:
    odoo17.emu.uninstall_module("point_of_sale")
    batch = sales(3)
    async with open_connector(odoo17.settings()) as connector:
        await prepare(connector)
        first = await connector.record_store_sales(batch)
        replay = await connector.record_store_sales(batch)
    assert {r.model for r in first} == {"sale.order"}
    assert all(r.created for r in first) and not any(r.created for r in replay)
    rows = odoo17.emu.records("sale.order")
    assert len(rows) == 3 and {r["state"] for r in rows} == {"sale"}
    done = [p for p in odoo17.emu.records("stock.picking") if p.get("sale_id")]
    assert len(done) == 3 and {p["state"] for p in done} == {"done"}


async def test_stock_counts_are_absolute_and_idempotent(odoo: Emulated) -> None:
    count = [StockPosition(sku="SKU-2", location="S001", on_hand=Decimal(7), as_of=NOW)]
    async with open_connector(odoo.settings()) as connector:
        await prepare(connector)
        await connector.apply_stock_counts(count)
        await connector.apply_stock_counts(count)
        positions = {p.sku: p for p in await connector.read_stock_positions()}
    assert positions["SKU-2"].on_hand == Decimal(7)
    assert positions["SKU-2"].location == "S001"


def test_products_fixture_is_valid() -> None:
    assert all(isinstance(p, Product) for p in PRODUCTS)


async def test_two_writers_creating_the_same_store_leave_one_warehouse(odoo17: Emulated) -> None:
    async with open_connector(odoo17.settings()) as one, open_connector(odoo17.settings()) as two:
        a, b = await asyncio.gather(one.upsert_stores([STORE]), two.upsert_stores([STORE]))
    assert a == b
    assert len(odoo17.read("stock.warehouse", [["code", "=", "S001"]], ["id"])) == 1
    assert len(odoo17.read("pos.config", [["name", "=", "S001"]], ["id"])) == 1


async def test_an_outage_opens_the_breaker_and_recovery_closes_it(odoo17: Emulated) -> None:
    from storelink.errors import CircuitOpenError
    from storelink.odoo import CircuitBreaker, CircuitState

    now = [0.0]
    breaker = CircuitBreaker("emulator-outage", threshold=3, reset_s=5, clock=lambda: now[0])
    retry = RetryPolicy(attempts=1, sleep=no_sleep)
    async with open_connector(odoo17.settings(), retry=retry, breaker=breaker) as connector:
        odoo17.emu.faults.outage = True
        for _ in range(3):
            with pytest.raises(OdooTransportError):
                await connector.read_products()
        assert breaker.state is CircuitState.OPEN
        odoo17.emu.stats.reset()
        with pytest.raises(CircuitOpenError):
            await connector.read_products()
        assert odoo17.emu.stats.round_trips == 0
        odoo17.emu.faults.outage = False
        now[0] += 5
        assert breaker.state is CircuitState.HALF_OPEN
        await connector.read_products()
        assert breaker.state is CircuitState.CLOSED


async def test_a_session_closed_in_odoo_is_replaced(
    odoo: Emulated, sales: Callable[[int], list[Sale]]
) -> None:
    async with open_connector(odoo.settings()) as connector:
        await prepare(connector)
        await connector.record_store_sales(sales(1))
        (session,) = odoo.read("pos.session", [["state", "=", "opened"]], ["id"])
        # closing control closes the session too (no cash control)
        odoo.emu.call("pos.session", "action_pos_session_closing_control", [session["id"]])
        results = await connector.record_store_sales(sales(2))
    assert all(r.created for r in results)
    assert len(odoo.read("pos.order", [], ["id"])) == 3
    assert len(odoo.read("pos.session", [["state", "=", "opened"]], ["id"])) == 1
