"""Realistic till transactions: baskets of popular products, paid by card or cash, some returned.

Baskets are mostly small (one to three lines, rarely up to eight), quantities
mostly one, and best sellers dominate. A return takes back part of an earlier
sale of the same store at the price it was sold for, refunded the way it was
paid. Everything is drawn from one seeded :class:`random.Random`.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from storelink.model import (
    Payment,
    PaymentMethod,
    Return,
    ReturnLine,
    Sale,
    SaleLine,
)
from storelink.sandbox.estate import Estate

#: the number of lines on a receipt, and how often each count occurs
_LINE_COUNTS = (1, 2, 3, 4, 5, 6, 8)
_LINE_WEIGHTS = (30, 25, 18, 11, 7, 5, 4)
_QUANTITIES = (1, 2, 3, 4)
_QUANTITY_WEIGHTS = (80, 13, 5, 2)

#: the current unit price of ``sku`` at ``store``, as the till sees it
PriceLookup = Callable[[str, str], Decimal]


@dataclass(frozen=True)
class Basket:
    """What a customer brings to the till, drawn before any price is looked up."""

    id: uuid.UUID
    quantities: dict[str, Decimal]
    #: decides the payment methods once the total is known
    payment_roll: float


class BasketMaker:
    """Draws sales and returns for the stores of one estate."""

    def __init__(self, estate: Estate, rng: random.Random) -> None:
        self._estate = estate
        self._rng = rng
        self._skus: Sequence[str] = [p.sku for p in estate.products]
        self._weights: Sequence[float] = [estate.popularity[s] for s in self._skus]

    def basket(self) -> Basket:
        """A fresh basket: SKUs and quantities (distinct SKUs) and how it will be paid."""
        rng = self._rng
        (count,) = rng.choices(_LINE_COUNTS, _LINE_WEIGHTS)
        picked: dict[str, Decimal] = {}
        for sku in rng.choices(self._skus, self._weights, k=count):
            (quantity,) = rng.choices(_QUANTITIES, _QUANTITY_WEIGHTS)
            picked[sku] = picked.get(sku, Decimal(0)) + Decimal(quantity)
        return Basket(self._uuid(), picked, rng.random())

    def sale(
        self, store: str, till: str, at: datetime, price: PriceLookup, basket: Basket | None = None
    ) -> Sale:
        """A paid sale of ``basket`` (a fresh one by default) at ``store`` priced with ``price``."""
        basket = basket or self.basket()
        lines = [
            SaleLine(sku=sku, quantity=qty, unit_price=price(store, sku))
            for sku, qty in sorted(basket.quantities.items())
        ]
        total = sum((line.total for line in lines), Decimal(0))
        return Sale(
            id=basket.id,
            store=store,
            till=till,
            occurred_at=at,
            currency=self._estate.currency,
            lines=lines,
            payments=_payments(total, basket.payment_roll),
        )

    def return_of(self, sale: Sale, at: datetime) -> Return:
        """A return of one line (part or all of it) of ``sale``, refunded like it was paid."""
        line = self._rng.choice(sale.lines)
        quantity = Decimal(self._rng.randint(1, int(line.quantity)))
        refund = (line.unit_price * quantity).quantize(Decimal("0.01"))
        method = sale.payments[0].method
        return Return(
            id=self._uuid(),
            store=sale.store,
            occurred_at=at,
            currency=sale.currency,
            lines=[ReturnLine(sku=line.sku, quantity=quantity, refund_amount=refund)],
            refunds=[Payment(method=method, amount=refund)],
            original_sale_id=sale.id,
            reason=self._rng.choice(("changed mind", "damaged", "wrong size", "gift")),
        )

    def _uuid(self) -> uuid.UUID:
        # drawn from the seeded generator so a run is reproducible down to its ids
        # (salted against a real Odoo, see Estate.run_salt)
        return uuid.UUID(int=self._rng.getrandbits(128) ^ self._estate.run_salt, version=4)


def _payments(total: Decimal, roll: float) -> list[Payment]:
    if roll < 0.65:
        return [Payment(method=PaymentMethod.CARD, amount=total)]
    if roll < 0.9 or total <= 5:
        return [Payment(method=PaymentMethod.CASH, amount=total)]
    # a voucher covers part, the card the rest
    return [
        Payment(method=PaymentMethod.VOUCHER, amount=Decimal(5)),
        Payment(method=PaymentMethod.CARD, amount=total - Decimal(5)),
    ]
