"""A reproducible retail estate: stores, products with barcodes, prices and opening stock.

The same ``seed`` and sizes always give the same estate, so a failing sandbox
run can be replayed exactly::

    estate = generate_estate(stores=10, seed=7)
    estate.stores[0].code        # "S001"
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property

from storelink.model import Price, PriceScope, PriceScopeKind, Product, Store

#: every price in the sandbox starts being valid here (well before any run)
PRICES_VALID_FROM = datetime(2024, 1, 1, tzinfo=UTC)

_CATEGORIES: dict[str, tuple[tuple[str, ...], tuple[int, int]]] = {
    # category: (nouns, price range in whole currency units)
    "grocery": (("Coffee Beans", "Olive Oil", "Pasta", "Honey", "Tea", "Rice", "Granola"), (2, 15)),
    "drinks": (("Sparkling Water", "Orange Juice", "Lemonade", "Cola", "Iced Tea"), (1, 6)),
    "home": (("Candle", "Mug", "Tea Towel", "Vase", "Cushion", "Storage Box"), (4, 40)),
    "apparel": (("T-Shirt", "Socks", "Scarf", "Cap", "Hoodie", "Tote Bag"), (6, 60)),
    "beauty": (("Hand Cream", "Shampoo", "Soap Bar", "Lip Balm", "Body Lotion"), (3, 25)),
}
_ADJECTIVES = ("Classic", "Organic", "Fresh", "Premium", "Everyday", "Nordic", "Sunny", "Rustic")
_TOWNS = (
    "Amsterdam", "Antwerp", "Bordeaux", "Bruges", "Cologne", "Delft", "Ghent", "Lille", "Lyon",
    "Munich", "Nantes", "Porto", "Rotterdam", "Seville", "Turin", "Utrecht", "Valencia", "Zurich",
)  # fmt: skip


@dataclass(frozen=True)
class Estate:
    """Everything the sandbox seeds into Odoo and the stores before trading starts."""

    seed: int
    currency: str
    stores: tuple[Store, ...]
    products: tuple[Product, ...]
    #: one store-scoped price per store and SKU, version 1
    prices: tuple[Price, ...]
    #: opening on-hand per ``(sku, location)``
    stock: Mapping[tuple[str, str], Decimal]
    #: relative sales popularity per SKU (sums to 1); a few SKUs sell most
    popularity: Mapping[str, float]
    #: mixed into every transaction id and web order reference: 0 against the emulator
    #: (a run is reproducible down to its ids), random against a real Odoo, where a rerun
    #: with the same seed must not meet the paid POS orders an earlier run left there
    run_salt: int = 0

    def store(self, code: str) -> Store:
        for store in self.stores:
            if store.code == code:
                return store
        raise KeyError(code)

    def price_of(self, store: str, sku: str) -> Decimal:
        """The opening price of ``sku`` in ``store``."""
        return self._price_index[(store, sku)]

    @cached_property
    def _price_index(self) -> dict[tuple[str, str], Decimal]:
        return {(p.scope.code, p.sku): p.amount for p in self.prices}


def ean13(body: str) -> str:
    """``body`` (12 digits) with its EAN-13 check digit appended."""
    if len(body) != 12 or not body.isdigit():
        raise ValueError("an EAN-13 body is 12 digits")
    weighted = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - weighted % 10) % 10)


def store_codes(count: int) -> list[str]:
    """The codes of an estate's ``count`` stores: ``S001``, ``S002`` …"""
    return [f"S{n:03d}" for n in range(1, count + 1)]


def generate_estate(
    *, stores: int, seed: int, products: int = 120, currency: str = "EUR", run_salt: int = 0
) -> Estate:
    """A chain of ``stores`` shops selling ``products`` SKUs, reproducible from ``seed``."""
    if stores < 1 or products < 1:
        raise ValueError("an estate needs at least one store and one product")
    rng = random.Random(seed)
    shops = tuple(
        Store(
            code=code,
            name=f"{_TOWNS[n % len(_TOWNS)]} {n // len(_TOWNS) + 1}",
            # the connector names a store's Odoo stock location by the store's code
            location=code,
            currency=currency,
        )
        for n, code in enumerate(store_codes(stores))
    )
    catalog: list[Product] = []
    base_price: dict[str, Decimal] = {}
    categories = sorted(_CATEGORIES)
    for n in range(1, products + 1):
        category = categories[(n - 1) % len(categories)]
        nouns, (low, high) = _CATEGORIES[category]
        sku = f"SKU-{n:05d}"
        catalog.append(
            Product(
                sku=sku,
                name=f"{rng.choice(_ADJECTIVES)} {rng.choice(nouns)} {n}",
                # 20-29 prefixes are reserved for in-store numbering: never a real product
                barcode=ean13(f"20{n:010d}"),
                category=category,
            )
        )
        base_price[sku] = Decimal(rng.randint(low, high)) + Decimal("0.99")
    prices: list[Price] = []
    stock: dict[tuple[str, str], Decimal] = {}
    for shop in shops:
        # some shops (city centres) charge a little more
        markup = Decimal("1.05") if rng.random() < 0.3 else Decimal(1)
        for product in catalog:
            amount = (base_price[product.sku] * markup).quantize(Decimal("0.01"))
            prices.append(
                Price(
                    sku=product.sku,
                    scope=PriceScope(kind=PriceScopeKind.STORE, code=shop.code),
                    amount=amount,
                    currency=currency,
                    version=1,
                    valid_from=PRICES_VALID_FROM,
                )
            )
            stock[(product.sku, shop.location)] = Decimal(rng.randint(20, 200))
    # Zipf-like popularity: the k-th best seller sells about 1/k as much as the first
    order = [p.sku for p in catalog]
    rng.shuffle(order)
    weights = {sku: 1.0 / (rank + 1) for rank, sku in enumerate(order)}
    total = sum(weights.values())
    return Estate(
        seed=seed,
        currency=currency,
        stores=shops,
        products=tuple(catalog),
        prices=tuple(prices),
        stock=stock,
        popularity={sku: w / total for sku, w in weights.items()},
        run_salt=run_salt,
    )
