"""The Odoo emulator over real HTTP, per version, and canonical test data."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx2
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


#: every test taking the ``odoo`` fixture also runs against this real Odoo when it is set
#: (``pytest -m real_odoo``); see :class:`RealOdoo`
REAL_URL = os.environ.get("STORELINK_TEST_ODOO_URL")
REAL = [pytest.param("real", marks=pytest.mark.real_odoo)] if REAL_URL else []


class RealOdoo:
    """A real Odoo with the face of :class:`Emulated`, on a database of the test's own.

    ``STORELINK_TEST_ODOO_DB`` names a clean database (a fresh install); each test
    gets a copy of it made by Odoo's own database service (``duplicate_database``, which
    needs the master password in ``STORELINK_TEST_ODOO_MASTER_PASSWORD``) and dropped
    afterwards, so tests see the same empty estate they see in the emulator. A test
    that reaches for the emulator's internals (``.emu``) is skipped here.
    """

    def __init__(self, url: str, database: str, version: str) -> None:
        self.url = url
        self.database = database
        self.version = version
        self.user = os.environ.get("STORELINK_TEST_ODOO_USER", "admin")
        self.password = os.environ.get("STORELINK_TEST_ODOO_PASSWORD", "admin")

    @property
    def emu(self) -> RealInternals:
        return RealInternals(self)

    def execute(self, model: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        uid = _rpc(self.url, "common", "login", [self.database, self.user, self.password])
        call = [self.database, uid, self.password, model, method, args, kwargs]
        return _rpc(self.url, "object", "execute_kw", call)

    def read(
        self, model: str, domain: list[Any] | None = None, fields: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """``search_read`` as the test user, archived records included."""
        context = {"active_test": False}
        rows: list[dict[str, Any]] = self.execute(
            model, "search_read", [domain or []], {"fields": fields or [], "context": context}
        )
        return rows

    def settings(self, **changes: Any) -> OdooSettings:
        values: dict[str, Any] = {
            "url": self.url,
            "database": self.database,
            "user": self.user,
            "password": self.password,
            "batch_size": 50,
        }
        values.update(changes)
        return OdooSettings(**values)


class RealInternals:
    """What tests use of the emulator's internals that a real Odoo can answer too.

    ``records`` reads every record (many2one as bare ids, like the emulator's raw
    records) and ``call`` runs a method; anything else skips the test.
    """

    def __init__(self, real: RealOdoo) -> None:
        self.real = real

    def records(self, model: str) -> list[dict[str, Any]]:
        rows = self.real.read(model)
        return [{k: _bare(v) for k, v in row.items()} for row in sorted(rows, key=_by_id)]

    def call(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        return self.real.execute(model, method, list(args), kwargs)

    def __getattr__(self, name: str) -> Any:
        pytest.skip(f"needs the emulator's {name}, not available on a real Odoo")


def _bare(value: Any) -> Any:
    many2one = isinstance(value, list) and len(value) == 2 and isinstance(value[1], str)
    return value[0] if many2one else value


def _by_id(row: dict[str, Any]) -> int:
    return int(row["id"])


def _rpc(url: str, service: str, method: str, args: list[Any]) -> Any:
    body = {"jsonrpc": "2.0", "method": "call", "id": 1}
    body["params"] = {"service": service, "method": method, "args": args}
    answer = httpx2.post(f"{url.rstrip('/')}/jsonrpc", json=body, timeout=300).json()
    if "error" in answer:
        data = answer["error"].get("data", {})
        raise RuntimeError(f"{service}.{method}: {data.get('message') or answer['error']}")
    return answer.get("result")


@asynccontextmanager
async def real_database() -> AsyncIterator[RealOdoo]:
    """A throw-away copy of ``STORELINK_TEST_ODOO_DB`` on the real Odoo (see :class:`RealOdoo`)."""
    assert REAL_URL is not None
    master = os.environ.get("STORELINK_TEST_ODOO_MASTER_PASSWORD")
    if not master:
        pytest.skip("STORELINK_TEST_ODOO_MASTER_PASSWORD is not set: no database per test")
    source = os.environ.get("STORELINK_TEST_ODOO_DB", "odoo")
    copy = f"{source}_t{uuid.uuid4().hex[:10]}"
    await asyncio.to_thread(_rpc, REAL_URL, "db", "duplicate_database", [master, source, copy])
    try:
        server = await asyncio.to_thread(_rpc, REAL_URL, "common", "version", [])
        yield RealOdoo(REAL_URL, copy, str(server["server_version_info"][0]))
    finally:
        await asyncio.to_thread(_rpc, REAL_URL, "db", "drop", [master, copy])


@pytest.fixture(params=[*VERSIONS, *REAL])
async def odoo(request: pytest.FixtureRequest) -> AsyncIterator[Emulated | RealOdoo]:
    """The emulator of each supported Odoo version, served on 127.0.0.1 (and a real Odoo)."""
    if request.param == "real":
        async with real_database() as real:
            yield real
        return
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
