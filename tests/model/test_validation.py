"""Bad input is rejected with a message naming the field."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from pydantic import ValidationError

from storelink.model import Event, Price, Product, Sale, SaleLine, StockMovement
from tests.model.samples import SALE, SAMPLES, T0


def _fields(exc: ValidationError) -> set[str]:
    return {".".join(str(p) for p in error["loc"]) for error in exc.errors()}


def _sale(**changes: Any) -> dict[str, Any]:
    data = SALE.model_dump(mode="json")
    data.update(changes)
    return data


def test_float_money_is_rejected_naming_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        SaleLine(sku="A", quantity="1", unit_price=1.1)
    assert _fields(info.value) == {"unit_price"}
    assert "not a float" in str(info.value)


def test_float_money_in_json_is_rejected_too() -> None:
    document = SALE.model_dump_json().replace('"unit_price":"3.50"', '"unit_price":3.5')
    with pytest.raises(ValidationError) as info:
        Sale.model_validate_json(document)
    assert "lines.0.unit_price" in _fields(info.value)


def test_float_quantity_is_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        StockMovement(sku="A", location="L", quantity=2.0, reason="sale", occurred_at=T0)
    assert _fields(info.value) == {"quantity"}


def test_naive_datetime_is_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        Sale.model_validate(_sale(occurred_at=datetime(2026, 1, 1, 12, 0)))
    assert _fields(info.value) == {"occurred_at"}
    assert "timezone" in str(info.value)


def test_aware_datetime_is_normalised_to_utc() -> None:
    sale = Sale.model_validate(_sale(occurred_at="2026-11-28T10:30:00+01:00"))
    assert sale.occurred_at == T0
    assert sale.occurred_at.utcoffset() is not None
    assert sale.occurred_at.tzname() == "UTC"


def test_negative_price_is_rejected() -> None:
    data = SAMPLES[Price].model_dump(mode="json") | {"amount": "-1.00"}
    with pytest.raises(ValidationError) as info:
        Price.model_validate(data)
    assert _fields(info.value) == {"amount"}


def test_unknown_field_is_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        Product.model_validate({"sku": "A", "name": "x", "colour": "red"})
    assert _fields(info.value) == {"colour"}
    assert info.value.errors()[0]["type"] == "extra_forbidden"


def test_payments_must_match_lines_total() -> None:
    with pytest.raises(ValidationError, match=r"payments add up to 15\.00, but the lines total"):
        Sale.model_validate(_sale(payments=[{"method": "card", "amount": "15.00"}]))


def test_zero_stock_movement_is_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        StockMovement(sku="A", location="L", quantity="0", reason="sale", occurred_at=T0)
    assert _fields(info.value) == {"quantity"}


def test_price_window_must_be_ordered() -> None:
    data = SAMPLES[Price].model_dump(mode="json") | {"valid_to": "2026-01-01T00:00:00Z"}
    with pytest.raises(ValidationError, match="valid_to must be later than valid_from"):
        Price.model_validate(data)


def test_event_type_must_be_known_and_match_its_data() -> None:
    with pytest.raises(ValidationError, match="unknown event type"):
        Event(source="/x", type="storelink.sale.vanished.v1", data={}, partitionkey="k")
    with pytest.raises(ValidationError, match="store"):
        Event(source="/x", type="storelink.sale.recorded.v1", data={"id": "x"}, partitionkey="k")


def test_event_type_name_follows_the_convention() -> None:
    with pytest.raises(ValidationError) as info:
        Event(source="/x", type="SaleRecorded", data={}, partitionkey="k")
    assert "type" in _fields(info.value)


def test_traceparent_must_be_w3c() -> None:
    with pytest.raises(ValidationError) as info:
        Event.of("storelink.sale.recorded.v1", SALE, source="/s", partitionkey="k").model_copy(
            update={}
        ).model_validate(
            Event.of("storelink.sale.recorded.v1", SALE, source="/s", partitionkey="k").model_dump()
            | {"traceparent": "not-a-trace"}
        )
    assert _fields(info.value) == {"traceparent"}
