"""The connector and a small sandbox against a real Odoo (``pytest -m real_odoo``).

Skipped unless ``STORELINK_TEST_ODOO_URL`` (with ``_DB``, ``_USER``, ``_PASSWORD`` and
``_MASTER_PASSWORD`` for a database per test, see :class:`tests.odoo.conftest.RealOdoo`)
names a server: Odoo cannot run in CI, where the emulator answers instead and is
held to the transcripts under ``tests/odoo/conformance``. Each run uses fresh
codes and uuids, so the same database takes any number of runs.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from rich.console import Console

from storelink.config.sections import OdooSettings
from storelink.model import Product, Store
from storelink.odoo import open_connector
from storelink.sandbox import SandboxOptions, run_sandbox
from tests.odoo.conftest import make_sale, real_database

URL = os.environ.get("STORELINK_TEST_ODOO_URL")

pytestmark = [
    pytest.mark.real_odoo,
    pytest.mark.skipif(not URL, reason="STORELINK_TEST_ODOO_URL is not set"),
]


@pytest.fixture
async def settings() -> AsyncIterator[OdooSettings]:
    """A throw-away copy of the database when the master password is given, else the database."""
    if os.environ.get("STORELINK_TEST_ODOO_MASTER_PASSWORD"):
        async with real_database() as real:
            yield real.settings()
        return
    yield OdooSettings(
        url=URL,
        database=os.environ.get("STORELINK_TEST_ODOO_DB", "odoo"),
        user=os.environ.get("STORELINK_TEST_ODOO_USER", "admin"),
        password=os.environ.get("STORELINK_TEST_ODOO_PASSWORD", "admin"),
        batch_size=50,
    )


async def test_store_sales_reach_real_odoo_exactly_once(settings: OdooSettings) -> None:
    tag = uuid.uuid4().hex[:4].upper()  # warehouse codes hold 5 characters
    store = Store(code=f"T{tag}", name=f"Real test {tag}", location=f"T{tag}", currency="USD")
    products = [Product(sku=f"RT-{tag}-{n}", name=f"Real test {n}") for n in range(2)]
    async with open_connector(settings) as odoo:
        await odoo.upsert_stores([store])
        await odoo.upsert_products(products)
        sales = [
            make_sale(
                [(products[0].sku, 1 + n % 2, "2.50"), (products[1].sku, 1, "4")], store=store.code
            )
            for n in range(7)
        ]
        first = await odoo.record_store_sales(sales)
        again = await odoo.record_store_sales(sales)
        assert [r.created for r in first] == [True] * 7
        assert [r.created for r in again] == [False] * 7
        assert [r.odoo_id for r in again] == [r.odoo_id for r in first]
        refs = [f"storelink/{store.code}/{s.id}" for s in sales]
        rows = await odoo.client.search_read(
            "pos.order", [["pos_reference", "in", refs]], ["pos_reference", "amount_total"]
        )
        assert sorted(r["pos_reference"] for r in rows) == sorted(refs)
        assert sum(Decimal(str(r["amount_total"])) for r in rows) == sum(
            (line.total for s in sales for line in s.lines), Decimal(0)
        )


async def test_a_small_sandbox_passes_against_real_odoo(settings: OdooSettings) -> None:
    options = SandboxOptions(stores=2, sales=40, seed=3, odoo=settings, live=False, cleanup=True)
    result = await run_sandbox(options, console=Console(file=io.StringIO()))
    assert result.passed, result.document.get("failures")
    assert result.document["sales_in_odoo"] == result.document["sales_recorded"]
    assert result.document["duplicates"] == 0
