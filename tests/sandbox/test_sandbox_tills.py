"""Tills against the POS seam: what is answered 201 is in the ledger, nothing else."""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console

from storelink.errors import SyncError
from storelink.model import Return, Sale
from storelink.sandbox.estate import generate_estate
from storelink.sandbox.live import Snapshot, StoreView, render
from storelink.sandbox.tills import Tills


class FlakyPos:
    """A store that refuses every third write and cannot price one SKU."""

    def __init__(self, unpriced: str) -> None:
        self.unpriced = unpriced
        self.writes = 0
        self.kept: dict[str, Sale | Return] = {}

    async def price(self, sku: str) -> Decimal:
        if sku == self.unpriced:
            raise SyncError("no price", sku=sku)
        return Decimal("2.50")

    async def _write(self, item: Sale | Return) -> bool:
        self.writes += 1
        if self.writes % 3 == 0:
            return False
        self.kept[str(item.id)] = item
        return True

    async def record_sale(self, sale: Sale) -> bool:
        return await self._write(sale)

    async def record_return(self, return_: Return) -> bool:
        return await self._write(return_)


async def test_ledger_holds_exactly_what_the_stores_kept() -> None:
    estate = generate_estate(stores=2, seed=4, products=8)
    best = max(estate.popularity, key=estate.popularity.__getitem__)
    stores = {s.code: FlakyPos(unpriced=best) for s in estate.stores}
    tills = Tills(estate, stores, total=300, rate=0, seed=4)
    await tills.run()
    kept = {
        (type(i).__name__.lower(), code, key)
        for code, pos in stores.items()
        for key, i in pos.kept.items()
    }
    assert set(tills.ledger.recorded()) == kept
    assert tills.posted == 300
    assert tills.ledger.refused == 300 - len(kept) > 0
    assert all(line.sku != best for sale in tills.ledger.sales.values() for line in sale.lines)
    for key, back in tills.ledger.returns.items():
        assert back.original_sale_id is not None
        assert back.store == key[1]
        moved = tills.ledger.recorded()[key]
        assert all(quantity > 0 for quantity in moved.values())  # returns put stock back


def test_live_view_shows_links_breaker_and_progress() -> None:
    snapshot = Snapshot(
        phase="trading",
        elapsed_s=12.5,
        posted=500,
        total=2000,
        stores=(StoreView("S001", True, 0, 0.0), StoreView("S002", False, 42, 17.25)),
        odoo_breaker="open",
        odoo_up=False,
        hub_up=True,
        events_per_s=812.0,
        webhooks_ok=90,
        webhooks_retrying=7,
        webhooks_dead=1,
        active_faults=("S002 link down", "Odoo down"),
    )
    console = Console(record=True, width=120)
    console.print(render(snapshot))
    text = console.export_text()
    assert "500/2000 transactions" in text
    assert "OFFLINE" in text and "42" in text and "17.2" in text
    assert "breaker open" in text and "DOWN" in text
    assert "7 retrying" in text and "1 dead" in text
    assert "S002 link down, Odoo down" in text
