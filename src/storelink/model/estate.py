"""Where retail happens: stores and stock locations."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from storelink.model.base import CanonicalModel
from storelink.model.types import Code, Currency


class LocationKind(StrEnum):
    STORE = "store"
    WAREHOUSE = "warehouse"
    TRANSIT = "transit"
    VIRTUAL = "virtual"


class Location(CanonicalModel):
    """A place that holds stock. A store's sellable stock is its ``store`` location."""

    code: Code
    name: str = Field(min_length=1, max_length=128)
    kind: LocationKind = LocationKind.STORE
    store: Code | None = None


class Store(CanonicalModel):
    """A physical shop with its own agent; maps to an Odoo ``stock.warehouse`` by code."""

    code: Code
    name: str = Field(min_length=1, max_length=128)
    location: Code
    currency: Currency = "EUR"
    timezone: str = "UTC"
    pricelist: Code | None = None
    active: bool = True
