"""The local POS API: lookups, durable idempotent writes, clear refusals that write nothing."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx2
import pytest

from storelink.edge import Agent


def sale(
    sku: str = "SKU-1", quantity: str = "2", paid: str = "5.00", **extra: Any
) -> dict[str, Any]:
    return {
        "uuid": str(uuid4()),
        "lines": [{"sku": sku, "quantity": quantity}],
        "payments": [{"method": "card", "amount": paid}],
        **extra,
    }


def queued(agent: Agent) -> int:
    return int(agent.database.read.execute("SELECT count(*) FROM upload_queue").fetchone()[0])


async def test_lookup_by_sku_and_barcode_shows_price_and_local_stock(
    pos: httpx2.AsyncClient,
) -> None:
    by_sku = (await pos.get("/v1/products/SKU-1")).json()
    by_barcode = (await pos.get("/v1/products", params={"barcode": by_sku["barcode"]})).json()
    assert by_sku == by_barcode
    assert by_sku["price"]["amount"] == "2.5000" and by_sku["available"] == "5.0000"
    missing = await pos.get("/v1/products/NOPE")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


async def test_a_sale_is_answered_after_commit_and_a_repeat_returns_the_first_result(
    pos: httpx2.AsyncClient, agent: Agent
) -> None:
    body = sale()
    first = await pos.post("/v1/sales", json=body)
    assert first.status_code == 201, first.text
    assert first.json()["uuid"] == body["uuid"] and first.json()["total"] == "5.0000"
    again = await pos.post("/v1/sales", json=body)
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert queued(agent) == 1
    assert (await pos.get("/v1/products/SKU-1")).json()["available"] == "3.0000"
    reused = await pos.post(
        "/v1/sales", json={**sale(quantity="1", paid="2.50"), "uuid": body["uuid"]}
    )
    assert reused.status_code == 422 and queued(agent) == 1


async def test_a_sale_beyond_stock_is_recorded_and_flagged(
    pos: httpx2.AsyncClient, agent: Agent
) -> None:
    answer = await pos.post("/v1/sales", json=sale("SKU-2", "1", "2.50"))
    assert answer.status_code == 201 and answer.json()["flagged"] is True
    assert answer.json()["stock"] == [{"sku": "SKU-2", "available": "-1.0000"}]
    row = agent.database.read.execute("SELECT flagged, body FROM upload_queue").fetchone()
    assert row["flagged"] == 1 and '"flagged": true' in row["body"].replace('":true', '": true')


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (sale(sku="UNKNOWN"), "/lines/0/sku"),
        (sale(quantity="-1"), "/lines/0/quantity"),
        (sale(paid="4.99"), "/payments"),
        ({**sale(), "uuid": "not-a-uuid"}, "/uuid"),
        ({"uuid": str(uuid4()), "payments": [{"method": "card", "amount": "1"}]}, "/lines"),
        (sale(paid=1.5), "/payments/0/amount"),
        (sale(colour="red"), "/colour"),
    ],
    ids=[
        "unknown-sku",
        "negative-quantity",
        "payments-mismatch",
        "bad-uuid",
        "missing",
        "float",
        "extra",
    ],
)
async def test_bad_sales_get_a_problem_naming_the_field_and_write_nothing(
    pos: httpx2.AsyncClient, agent: Agent, body: dict[str, Any], field: str
) -> None:
    answer = await pos.post("/v1/sales", json=body)
    assert 400 <= answer.status_code < 500
    assert answer.headers["content-type"].startswith("application/problem+json")
    pointers = [error.get("pointer") for error in answer.json()["errors"]]
    assert field in pointers, answer.json()
    assert queued(agent) == 0
    assert (await pos.get("/v1/products/SKU-1")).json()["available"] == "5.0000"


async def test_returns_adjustments_and_counts_move_local_stock(
    pos: httpx2.AsyncClient, agent: Agent
) -> None:
    returned = await pos.post(
        "/v1/returns",
        json={
            "lines": [{"sku": "SKU-1", "quantity": "1", "refund_amount": "2.50"}],
            "refunds": [{"method": "cash", "amount": "2.50"}],
        },
    )
    assert returned.status_code == 201, returned.text
    adjusted = await pos.post("/v1/stock/adjustments", json={"sku": "SKU-1", "quantity": "-2"})
    assert adjusted.status_code == 201
    assert (await pos.get("/v1/products/SKU-1")).json()["available"] == "4.0000"
    counted = await pos.post("/v1/stock/counts", json={"sku": "SKU-1", "counted": "9"})
    assert counted.status_code == 201
    assert (await pos.get("/v1/products/SKU-1")).json()["available"] == "9.0000"
    bad = await pos.post("/v1/stock/adjustments", json={"sku": "SKU-1", "quantity": "0"})
    assert bad.status_code == 422
    assert queued(agent) == 3
    kinds = [
        r[0] for r in agent.database.read.execute("SELECT kind FROM upload_queue ORDER BY seq")
    ]
    assert kinds == ["return", "adjustment", "count"]
    assert agent.replica.state("location") == "S1"
