"""The Odoo emulator over real HTTP, per version, and canonical test data."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from storelink.config.sections import OdooSettings
from storelink.model import Payment, PaymentMethod, Product, Sale, SaleLine, Store

VERSIONS = ["16", "17", "18", "19"]
API_KEY = "storelink-test-key"


def emulator_module() -> Any:
    return pytest.importorskip("storelink.emulator")


class Emulated:
    """A running emulator: the object for inspection and the settings to reach it."""

    def __init__(self, emu: Any, url: str, version: str) -> None:
        self.emu = emu
        self.url = url
        self.version = version

    def read(
        self, model: str, domain: list[Any] | None = None, fields: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """``search_read`` inside the emulator, as admin, without a round trip."""
        rows: list[dict[str, Any]] = self.emu.call(
            model, "search_read", domain or [], fields or [], context={"active_test": False}
        )
        return rows

    def settings(self, **changes: Any) -> OdooSettings:
        values: dict[str, Any] = {
            "url": self.url,
            "database": "storelink",
            "user": "admin",
            "password": "admin",
            "api_key": API_KEY if self.version == "19" else None,
            "batch_size": 50,
        }
        values.update(changes)
        return OdooSettings(**values)


@pytest.fixture(params=VERSIONS)
async def odoo(request: pytest.FixtureRequest) -> AsyncIterator[Emulated]:
    """The emulator of each supported Odoo version, served on 127.0.0.1."""
    module = emulator_module()
    emu = module.OdooEmulator(version=request.param)
    async with module.serve_emulator(emu) as url:
        yield Emulated(emu, url, request.param)


@pytest.fixture
async def odoo17() -> AsyncIterator[Emulated]:
    module = emulator_module()
    emu = module.OdooEmulator(version="17")
    async with module.serve_emulator(emu) as url:
        yield Emulated(emu, url, "17")


STORE = Store(code="S001", name="Main street", location="S001", currency="USD")
PRODUCTS = [
    Product(sku="SKU-1", name="Espresso cup", barcode="4006381333931"),
    Product(sku="SKU-2", name="Milk jug"),
    Product(sku="SKU_3/b", name="Tea towel"),
]


def make_sale(lines: list[tuple[str, int, str]], *, store: str = "S001", **extra: Any) -> Sale:
    sale_lines = [
        SaleLine(sku=sku, quantity=Decimal(qty), unit_price=Decimal(price))
        for sku, qty, price in lines
    ]
    total = sum((line.total for line in sale_lines), Decimal(0))
    return Sale(
        id=uuid.uuid4(),
        store=store,
        occurred_at=datetime(2026, 11, 28, 10, 0, tzinfo=UTC),
        currency="USD",
        lines=sale_lines,
        payments=[Payment(method=PaymentMethod.CASH, amount=total)],
        **extra,
    )


@pytest.fixture
def sales() -> Callable[[int], list[Sale]]:
    def build(count: int) -> list[Sale]:
        return [
            make_sale([("SKU-1", 1 + n % 3, "2.50"), ("SKU-2", 1, "12.00")]) for n in range(count)
        ]

    return build
