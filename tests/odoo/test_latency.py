"""The latency model: call sizes, the fit, the measured models shipped with the package."""

from __future__ import annotations

import pytest

from storelink.errors import ConfigError
from storelink.odoo.latency import (
    LatencyModel,
    Sample,
    call_size,
    fit,
    fit_cost,
    load_model,
    measured_series,
)


@pytest.mark.parametrize(
    ("method", "args", "result", "kwargs", "size"),
    [
        ("search_read", [[["id", ">", 0]]], [{"id": 1}, {"id": 2}], None, 2),
        ("search_read", [[]], [], None, 0),
        ("create", [[{"name": "a"}, {"name": "b"}, {"name": "c"}]], [1, 2, 3], None, 3),
        ("create_from_ui", [], [], {"orders": [{}] * 5, "draft": False}, 5),
        ("sync_from_ui", [[{}] * 4], {}, None, 4),
        ("load", [["id", "name"], [["x", "a"], ["y", "b"]]], {}, None, 2),
        ("action_apply_inventory", [[7, 8]], None, None, 2),
        ("check_access_rights", ["read"], True, None, 1),
    ],
)
def test_a_call_is_as_big_as_what_it_is_given_or_for_reads_what_it_returns(
    method: str, args: list[object], result: object, kwargs: dict[str, object] | None, size: int
) -> None:
    assert call_size(method, args, result, kwargs) == size


def test_the_fit_recovers_a_fixed_and_a_per_record_cost() -> None:
    samples = [Sample("pos.order.create_from_ui", n, 0.030 + 0.012 * n) for n in (1, 10, 50, 200)]
    cost = fit_cost(samples)
    assert cost.fixed_s == pytest.approx(0.030, abs=1e-6)
    assert cost.per_record_s == pytest.approx(0.012, abs=1e-7)
    assert cost.samples == 4


def test_the_fit_never_goes_negative() -> None:
    falling = [Sample("x.y", 1, 0.05), Sample("x.y", 100, 0.01)]
    flat = fit_cost(falling)  # the median, nothing per record
    assert (flat.fixed_s, flat.per_record_s) == (pytest.approx(0.03), 0.0)
    steep = [Sample("x.y", 10, 0.01), Sample("x.y", 20, 0.05)]  # the line crosses below zero
    cost = fit_cost(steep)
    assert cost.fixed_s == 0.0 and cost.per_record_s == pytest.approx(0.06 / 30)


def test_a_model_round_trips_through_its_document_and_prices_unknown_calls_at_the_default() -> None:
    model = fit(
        [Sample("a.b", 1, 0.010), Sample("a.b", 1, 0.020), Sample("c.d", 1, 0.040)],
        series="17",
        server_version="17.0-test",
    )
    again = LatencyModel.from_document(model.document())
    assert again.seconds("a.b", 1) == pytest.approx(0.015)
    assert again.seconds("never.measured", 50) == pytest.approx(model.default.fixed_s)
    assert again.default.fixed_s == pytest.approx(0.0275)  # median of 0.015 and 0.040
    assert again.with_workers(3).workers == 3
    with pytest.raises(ConfigError, match="at least one worker"):
        again.with_workers(0)


def test_models_measured_from_real_17_and_18_ship_with_the_package() -> None:
    assert {"17", "18"} <= set(measured_series())
    for series in ("17", "18"):
        model = load_model(series)
        assert model.server_version.startswith(f"{series}.0")
        sync = "pos.order.create_from_ui" if series == "17" else "pos.order.sync_from_ui"
        assert model.calls[sync].per_record_s > 0  # an order costs Odoo something
    with pytest.raises(ConfigError, match="no latency measured for Odoo 16"):
        load_model("16")
