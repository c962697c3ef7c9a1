"""What the connector returns for each write: small frozen records naming the Odoo side."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class SaleResult:
    """A store sale (or return) as recorded in Odoo.

    ``model`` is ``pos.order`` normally, ``sale.order`` when ``point_of_sale``
    is not installed; ``created`` is false when a replay found it already there.
    """

    sale_id: UUID
    store: str
    model: str
    odoo_id: int
    created: bool


@dataclass(frozen=True)
class OrderResult:
    """A channel order as a confirmed ``sale.order``."""

    order_id: str
    odoo_id: int
    name: str
    created: bool


@dataclass(frozen=True)
class StoreBinding:
    """A store matched to its ``stock.warehouse`` and stock location."""

    code: str
    warehouse_id: int
    location_id: int
    pos_config_id: int | None
