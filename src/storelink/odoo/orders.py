"""Confirmed ``sale.order``s, created exactly once.

Channel orders (and store sales when ``point_of_sale`` is not installed) become
``sale.order`` records with ``client_order_ref`` = the storelink key and the
external id ``storelink.order__<key>``. Creating an order is not idempotent in
Odoo, so the whole placement is the unit that is retried, and each attempt
first finds orders placed by an earlier attempt — bound by external id, or
created but not yet bound (same ``client_order_ref``) — before creating the rest
with one ``create`` call, binding them with one ``ir.model.data`` call and
confirming them with one ``action_confirm`` call (``addons/sale/models/sale_order.py``).

Two writers racing on the same key may both create a draft; ``ir.model.data``
is unique on ``(module, name)``, so only one binding wins and the loser cancels
and deletes its draft: one confirmed order survives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from storelink.errors import OdooBusinessError
from storelink.odoo import bindings
from storelink.odoo.client import OdooClient

#: validate deliveries without the wizards a person would see (stock.picking.button_validate)
VALIDATE_CONTEXT = {"skip_immediate": True, "skip_backorder": True, "skip_sms": True}


@dataclass(frozen=True)
class DraftLine:
    product_id: int
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal = Decimal(0)


@dataclass(frozen=True)
class OrderDraft:
    """One ``sale.order`` to place; ``key`` is its storelink idempotency key."""

    key: str
    partner_id: int
    lines: tuple[DraftLine, ...]
    warehouse_id: int | None = None

    @property
    def binding(self) -> str:
        return bindings.xmlid_name("order", self.key)


@dataclass(frozen=True)
class Placed:
    key: str
    odoo_id: int
    name: str
    created: bool


def _values(draft: OrderDraft) -> dict[str, Any]:
    values: dict[str, Any] = {
        "partner_id": draft.partner_id,
        "client_order_ref": draft.key,
        "order_line": [
            [
                0,
                0,
                {
                    "product_id": line.product_id,
                    "product_uom_qty": line.quantity,
                    "price_unit": line.unit_price,
                    "discount": line.discount_percent,
                },
            ]
            for line in draft.lines
        ],
    }
    if draft.warehouse_id:
        values["warehouse_id"] = draft.warehouse_id
    return values


class SaleOrders:
    def __init__(self, client: OdooClient) -> None:
        self.client = client

    async def place(self, drafts: Sequence[OrderDraft]) -> list[Placed]:
        """Create, bind and confirm ``drafts`` that are not in Odoo yet; all of them placed."""
        if not drafts:
            return []
        created: set[str] = set()
        found = await self.client.retrying(lambda: self._attempt(drafts, created))
        rows = await self.client.search_read(
            "sale.order", [["id", "in", sorted(found.values())]], ["id", "name", "state"]
        )
        by_id = {int(r["id"]): r for r in rows}
        to_confirm = sorted(i for i, r in by_id.items() if r["state"] in ("draft", "sent"))
        if to_confirm:
            await self.client.call("sale.order", "action_confirm", to_confirm)
        return [
            Placed(d.key, found[d.key], str(by_id[found[d.key]]["name"]), d.key in created)
            for d in drafts
        ]

    async def _attempt(self, drafts: Sequence[OrderDraft], created: set[str]) -> dict[str, int]:
        bound = await bindings.resolve(self.client, "sale.order", [d.binding for d in drafts])
        found = {d.key: bound[d.binding] for d in drafts if d.binding in bound}
        unbound = [d for d in drafts if d.key not in found]
        if not unbound:
            return found
        # an earlier attempt may have created orders and died before binding them
        orphans = await self.client.search_read(
            "sale.order",
            [["client_order_ref", "in", [d.key for d in unbound]], ["state", "!=", "cancel"]],
            ["id", "client_order_ref"],
            order="id",
        )
        adopt: dict[str, int] = {}
        for row in orphans:
            adopt.setdefault(str(row["client_order_ref"]), int(row["id"]))
        new = [d for d in unbound if d.key not in adopt]
        ids = await self.client.create("sale.order", [_values(d) for d in new])
        created.update(d.key for d in new)
        targets = {**adopt, **{d.key: i for d, i in zip(new, ids, strict=True)}}
        by_key = {d.key: d for d in unbound}
        try:
            await bindings.bind(
                self.client, "sale.order", {by_key[k].binding: i for k, i in targets.items()}
            )
        except OdooBusinessError:
            # a concurrent writer bound some of these keys first: keep its orders, drop ours
            await self._settle_race(by_key, targets, created)
            return await self._attempt(drafts, created)
        return {**found, **targets}

    async def _settle_race(
        self, by_key: dict[str, OrderDraft], targets: dict[str, int], created: set[str]
    ) -> None:
        bound = await bindings.resolve(
            self.client, "sale.order", [d.binding for d in by_key.values()]
        )
        losers = []
        for key, odoo_id in targets.items():
            winner = bound.get(by_key[key].binding)
            if winner is None:
                await bindings.bind(self.client, "sale.order", {by_key[key].binding: odoo_id})
            elif winner != odoo_id:
                losers.append(odoo_id)
                created.discard(key)
        if losers:
            await self.client.call("sale.order", "action_cancel", losers)
            await self.client.call("sale.order", "unlink", losers)

    async def deliver(self, order_ids: Sequence[int]) -> None:
        """Validate the pickings of confirmed orders (store sales without a POS).

        The goods already left the shop, so every move is done in full: its done
        quantity (``quantity_done`` in 16, ``quantity`` from 17) is set to the
        demand first — one ``write`` per distinct quantity — and then all pickings
        are validated in one ``button_validate`` without the wizards.
        """
        rows = await self.client.search_read(
            "stock.picking",
            [["sale_id", "in", list(order_ids)], ["state", "not in", ["done", "cancel"]]],
            ["id"],
        )
        if not rows:
            return
        picking_ids = [int(r["id"]) for r in rows]
        done = self.client.dialect.move_done_field
        moves = await self.client.search_read(
            "stock.move", [["picking_id", "in", picking_ids]], ["id", "product_uom_qty", done]
        )
        by_quantity: dict[float, list[int]] = {}
        for move in moves:
            if float(move.get(done) or 0) < float(move["product_uom_qty"]):
                by_quantity.setdefault(float(move["product_uom_qty"]), []).append(int(move["id"]))
        for quantity, ids in sorted(by_quantity.items()):
            await self.client.call("stock.move", "write", ids, vals={done: quantity})
        await self.client.call(
            "stock.picking", "button_validate", picking_ids, context=VALIDATE_CONTEXT
        )
