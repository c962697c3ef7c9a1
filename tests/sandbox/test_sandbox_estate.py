"""The estate generator and baskets: reproducible from the seed, valid, realistic."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from storelink.sandbox.baskets import BasketMaker
from storelink.sandbox.estate import ean13, generate_estate

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def test_same_seed_same_estate_and_sales() -> None:
    def run(seed: int) -> tuple[object, list[object]]:
        estate = generate_estate(stores=4, seed=seed, products=30)
        maker = BasketMaker(estate, random.Random(seed))
        sales = [maker.sale("S002", "1", NOW, estate.price_of) for _ in range(50)]
        return estate, [s.model_dump() for s in sales]

    assert run(11) == run(11)
    assert run(11) != run(12)


def test_estate_shape() -> None:
    estate = generate_estate(stores=3, seed=1, products=25)
    assert [s.code for s in estate.stores] == ["S001", "S002", "S003"]
    assert len(estate.products) == 25
    assert len({p.barcode for p in estate.products}) == 25
    assert len(estate.prices) == 3 * 25
    assert set(estate.stock) == {
        (p.sku, s.location) for p in estate.products for s in estate.stores
    }
    assert sum(estate.popularity.values()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("body", "check"), [("400638133393", "1"), ("590123412345", "7"), ("200000000001", "5")]
)
def test_ean13_check_digit(body: str, check: str) -> None:
    assert ean13(body) == body + check


def test_baskets_are_paid_in_full_and_skewed_to_best_sellers() -> None:
    estate = generate_estate(stores=2, seed=3, products=40)
    maker = BasketMaker(estate, random.Random(3))
    sales = [maker.sale("S001", "2", NOW, estate.price_of) for _ in range(600)]
    for sale in sales:
        assert sum(p.amount for p in sale.payments) == sale.total
        assert all(line.unit_price == estate.price_of("S001", line.sku) for line in sale.lines)
    sizes = Counter(len(s.lines) for s in sales)
    assert sizes[1] > sizes[4] > 0  # mostly small baskets, some big ones
    sold = Counter(line.sku for s in sales for line in s.lines)
    top = max(estate.popularity, key=estate.popularity.__getitem__)
    assert sold[top] > sum(sold.values()) / len(estate.products) * 3


def test_return_refunds_part_of_an_earlier_sale() -> None:
    estate = generate_estate(stores=1, seed=5, products=10)
    maker = BasketMaker(estate, random.Random(5))
    for _ in range(100):
        sale = maker.sale("S001", "1", NOW, estate.price_of)
        back = maker.return_of(sale, NOW)
        (line,) = back.lines
        sold = {ln.sku: ln for ln in sale.lines}[line.sku]
        assert Decimal(1) <= line.quantity <= sold.quantity
        assert line.refund_amount == sold.unit_price * line.quantity
        assert back.original_sale_id == sale.id and back.store == "S001"
        assert back.refunds[0].method == sale.payments[0].method
