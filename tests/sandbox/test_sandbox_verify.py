"""The end-of-run checks pass on a consistent estate and catch each kind of defect."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from storelink.sandbox.report import COUNT_KEYS, report_document, write_report
from storelink.sandbox.verify import (
    ChannelObservation,
    Delivery,
    Observations,
    PartnerObservation,
    TxnKey,
    verify,
)

SALE_A: TxnKey = ("sale", "S001", "a")
SALE_B: TxnKey = ("sale", "S002", "b")
RETURN_C: TxnKey = ("return", "S001", "c")
E1, E2, E3 = Delivery("e1", "SKU-1@S001"), Delivery("e2", "SKU-1@S001"), Delivery("e3", "x")


def consistent() -> Observations:
    stock = {"S001": {"SKU-1": Decimal(4)}, "S002": {"SKU-1": Decimal(-1)}}
    prices = {"S001": {"SKU-1": Decimal("2.99")}, "S002": {"SKU-1": Decimal("3.49")}}
    return Observations(
        recorded={SALE_A: {"SKU-1": Decimal(1)}, SALE_B: {}, RETURN_C: {}},
        in_odoo=[SALE_A, SALE_B, RETURN_C],
        store_stock=stock,
        odoo_stock={k: dict(v) for k, v in stock.items()},
        store_prices=prices,
        odoo_prices={k: dict(v) for k, v in prices.items()},
        partners={
            "shop": PartnerObservation(
                expected=[E1, E2, E3], received=[E1, E3, E1, E2], dead_lettered={}
            ),
            "flaky": PartnerObservation(
                expected=[E1, E2], received=[E2], dead_lettered={"e1": "HTTP 500 x8"}
            ),
        },
    )


def failing(observations: Observations) -> dict[str, list[str]]:
    result = verify(observations)
    return {c.name: list(c.details) for c in result.checks if not c.passed}


def test_consistent_estate_passes_with_counts() -> None:
    result = verify(consistent())
    assert result.passed, [c for c in result.checks if not c.passed]
    assert dict(result.counts) == {
        "sales_recorded": 3,
        "sales_in_odoo": 3,
        "duplicates": 0,
        "missing": 0,
        "stock_mismatches": 0,
        "price_mismatches": 0,
        "webhooks_delivered": 4,
        "webhooks_dead_lettered": 1,
        "order_violations": 0,
    }


def test_duplicate_missing_and_unknown_records_fail() -> None:
    observed = replace(consistent(), in_odoo=[SALE_A, SALE_A, RETURN_C, ("sale", "S009", "z")])
    result = verify(observed)
    assert (result.counts["duplicates"], result.counts["missing"]) == (1, 1)
    assert failing(observed) == {
        "sales_exactly_once": [
            "sale S001/a is in Odoo 2 times",
            "sale S002/b answered 201 but is not in Odoo",
        ],
        "no_unknown_records": ["sale S009/z is in Odoo but no till made it"],
    }


def test_stock_and_price_mismatches_fail() -> None:
    base = consistent()
    observed = replace(
        base,
        odoo_stock={"S001": {"SKU-1": Decimal(3)}, "S002": {"SKU-1": Decimal(-1)}},
        odoo_prices={**base.odoo_prices, "S002": {"SKU-1": Decimal("3.99")}},  # type: ignore[dict-item]
    )
    assert failing(observed) == {
        "stock_matches": ["S001 SKU-1: store stock 4, Odoo 3"],
        "prices_current": ["S002 SKU-1: store price 3.49, Odoo 3.99"],
    }


def test_lost_unexplained_and_out_of_order_webhooks_fail() -> None:
    observed = replace(
        consistent(),
        partners={
            "shop": PartnerObservation(expected=[E1, E2, E3], received=[E2, E1], dead_lettered={}),
            "flaky": PartnerObservation(expected=[E1], received=[], dead_lettered={"e1": " "}),
        },
    )
    result = verify(observed)
    assert result.counts["order_violations"] == 1
    assert failing(observed) == {
        "webhooks_delivered": [
            "shop: e3 (x) never arrived",
            "flaky: e1 dead-lettered without reason",
        ],
        "webhook_order": ["shop: SKU-1@S001: e1 arrived after a later event"],
    }


def test_unordered_endpoint_is_not_held_to_order() -> None:
    observed = replace(
        consistent(),
        partners={"p": PartnerObservation([E1, E2], [E2, E1], {}, ordered=False)},
    )
    assert verify(observed).passed


def test_missing_inputs_are_not_run_and_the_report_says_why(tmp_path: Path) -> None:
    observed = replace(
        consistent(),
        partners=None,
        store_stock=None,
        unavailable={"partners": "storelink.webhooks is not installed"},
    )
    result = verify(observed)
    assert not result.passed
    document = report_document(
        result, elapsed_s=1.23456, odoo_round_trips=None, odoo="emulator 17 (fast)"
    )
    assert list(document) == [
        "odoo",
        *COUNT_KEYS,
        "elapsed_s",
        "odoo_round_trips",
        "kills",
        "passed",
        "failures",
        "cleanup",
    ]
    assert document["cleanup"] is None  # no --cleanup asked
    assert document["odoo"] == "emulator 17 (fast)"  # which Odoo the figures are about
    assert document["webhooks_delivered"] is None and document["stock_mismatches"] is None
    assert document["sales_in_odoo"] == 3 and document["elapsed_s"] == 1.235
    assert document["passed"] is False
    statuses = {f["check"]: (f["status"], f["details"]) for f in document["failures"]}
    assert statuses["webhooks_delivered"] == (
        "not_run",
        ["partners: storelink.webhooks is not installed"],
    )
    assert statuses["stock_matches"] == (
        "not_run",
        ["store_stock: not observed", "odoo_stock: not observed"],
    )
    path = tmp_path / "out" / "report.json"
    write_report(path, document)
    assert json.loads(path.read_text()) == document


def test_channel_orders_confirmed_once_pass_and_every_defect_fails() -> None:
    placed = frozenset({"W1", "W2", "W3", "W4"})
    good = ChannelObservation(
        placed=placed,
        in_odoo=[("W1", "sale"), ("W2", "sale"), ("W3", "done"), ("W4", "sale"), ("W9", "sale")],
        abandoned=frozenset({"W9"}),  # unanswered: allowed in Odoo once, not required
    )
    result = verify(replace(consistent(), channel=good))
    assert result.passed, [c for c in result.checks if not c.passed]
    assert result.counts["channel_orders_placed"] == result.counts["channel_orders_in_odoo"] == 4
    bad = ChannelObservation(
        placed=placed,
        in_odoo=[("W1", "sale"), ("W1", "sale"), ("W2", "draft"), ("W3", "sale"), ("X", "sale")],
    )
    result = verify(replace(consistent(), channel=bad))
    assert failing(replace(consistent(), channel=bad)) == {
        "channel_orders_exactly_once": [
            "order W1 is in Odoo 2 times",
            "order W4 answered 201 but is not in Odoo",
            "order W2 is in Odoo but not confirmed",
            "order X is in Odoo but the channel never placed it",
        ]
    }
    assert result.counts["channel_orders_duplicates"] == 1
    assert result.counts["channel_orders_missing"] == 1
    document = report_document(result, elapsed_s=1.0, odoo_round_trips=None)
    assert document["channel_orders_in_odoo"] == 3
    unread = ChannelObservation(placed=placed, in_odoo=None)
    document = report_document(
        verify(replace(consistent(), channel=unread)), elapsed_s=1.0, odoo_round_trips=None
    )
    assert document["passed"] is False and document["channel_orders_in_odoo"] is None


def test_a_server_error_fails_the_run_and_busy_answers_do_not() -> None:
    """503/429 are backpressure (the client waits as asked); any other 5xx is a failure."""
    busy = verify(replace(consistent(), http={"201": 90, "503": 7, "429": 2, "error": 3}))
    assert busy.passed
    assert (busy.counts["http_5xx"], busy.counts["http_503"], busy.counts["http_429"]) == (0, 7, 2)
    broken = verify(replace(consistent(), http={"201": 90, "500": 2, "502": 1, "503": 7}))
    assert not broken.passed
    (check,) = [c for c in broken.checks if c.name == "no_server_errors"]
    assert check.details == ("2 answers with status 500", "1 answers with status 502")
    assert broken.counts["http_5xx"] == 3
    assert report_document(broken, elapsed_s=1.0, odoo_round_trips=None)["http_5xx"] == 3
    unknown = report_document(verify(consistent()), elapsed_s=1.0, odoo_round_trips=None)
    assert unknown["http_5xx"] is None  # not counted is not zero
