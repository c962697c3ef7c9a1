"""Store sales and returns as POS orders (or confirmed, delivered sale orders without a POS).

POS path (``addons/point_of_sale/models/pos_order.py``, ``pos_session.py``):
each store's ``pos.config`` (named after the store code) gets an open
``pos.session`` — created and opened with ``action_pos_session_open`` when there
is none — and every ticket is sent in one sync call per batch
(``create_from_ui`` in 16/17, ``sync_from_ui`` in 18+, see the dialect).
Idempotency key: the sale's uuid, sent as ``uuid`` and as the receipt number
``pos_reference`` = ``storelink/<store>/<uuid>``, which a back-office user can
search; Odoo dedups on ``pos_reference`` in 16/17 and on ``uuid`` in 18+, and
storelink skips tickets already there. The reference travels as ``name`` in
16/17 (``_order_fields``) and as both ``name`` and ``pos_reference`` from 18:
18.0's ``_process_order`` sets ``pos_reference`` from the client's ``name``, 19
keeps the client's ``pos_reference`` (and drops ``name``, which the server sets).

A return is the same ticket with negative quantities and payments.

Odoo's dedup is a check-then-insert inside one transaction: real Odoo runs two
calls at once in two REPEATABLE READ transactions that cannot see each other's
orders, so two writers sending the same ticket at the same moment both create
it (seen on a real 17: 20 orders for 10 sales). Writers of one Odoo database in
one process therefore take turns (:func:`pos_turn`, from the check before the
sync to the read-back after it); across processes one store has one writer,
the hub's store-sync drain.

Fallback without ``point_of_sale``: a ``sale.order`` per ticket (key
``pos:<store>:<uuid>``, see :mod:`storelink.odoo.orders`), confirmed, with its
delivery validated.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID
from weakref import WeakKeyDictionary

from storelink.errors import NotFoundError, OdooUserError, OdooValidationError
from storelink.model import PaymentMethod, Return, Sale
from storelink.odoo.client import ODOO_DATETIME, OdooClient
from storelink.odoo.customers import Customers
from storelink.odoo.lookups import Lookups, many2one_id
from storelink.odoo.orders import DraftLine, OrderDraft, SaleOrders
from storelink.odoo.results import SaleResult

HUNDRED = Decimal(100)
#: per event loop (a lock belongs to one), per Odoo database
_TURNS: WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = WeakKeyDictionary()


def pos_turn(target: str) -> asyncio.Lock:
    """The lock POS writers of one Odoo database (``OdooClient.target``) take turns on."""
    turns = _TURNS.setdefault(asyncio.get_running_loop(), {})
    return turns.setdefault(target, asyncio.Lock())


@dataclass(frozen=True)
class TicketLine:
    sku: str
    quantity: Decimal  # negative on a return
    unit_price: Decimal
    discount_percent: Decimal
    total: Decimal  # signed


@dataclass(frozen=True)
class Ticket:
    """A sale or a return, signed, in the shape both paths need."""

    uuid: UUID
    store: str
    occurred_at: datetime
    customer_id: str | None
    lines: tuple[TicketLine, ...]
    payments: tuple[tuple[PaymentMethod, Decimal], ...]

    @property
    def reference(self) -> str:
        return f"storelink/{self.store}/{self.uuid}"

    @property
    def total(self) -> Decimal:
        return sum((line.total for line in self.lines), Decimal(0))


def ticket_of_sale(sale: Sale) -> Ticket:
    lines = tuple(
        TicketLine(
            sku=line.sku,
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount_percent=(
                line.discount / (line.quantity * line.unit_price) * HUNDRED
                if line.discount and line.unit_price
                else Decimal(0)
            ),
            total=line.total,
        )
        for line in sale.lines
    )
    payments = tuple((p.method, p.amount) for p in sale.payments)
    return Ticket(sale.id, sale.store, sale.occurred_at, sale.customer_id, lines, payments)


def ticket_of_return(ret: Return) -> Ticket:
    lines = tuple(
        TicketLine(
            sku=line.sku,
            quantity=-line.quantity,
            unit_price=line.refund_amount / line.quantity,
            discount_percent=Decimal(0),
            total=-line.refund_amount,
        )
        for line in ret.lines
    )
    payments = tuple((p.method, -p.amount) for p in ret.refunds)
    return Ticket(ret.id, ret.store, ret.occurred_at, None, lines, payments)


@dataclass(frozen=True)
class _Till:
    session_id: int
    cash_method: int
    other_method: int


class StoreSales:
    def __init__(
        self, client: OdooClient, lookups: Lookups, customers: Customers, orders: SaleOrders
    ) -> None:
        self.client = client
        self.lookups = lookups
        self.customers = customers
        self.orders = orders
        self._tills: dict[int, _Till] = {}

    async def record(self, tickets: Sequence[Ticket]) -> list[SaleResult]:
        if not tickets:
            return []
        if await self.lookups.has_pos():
            return await self._record_pos(tickets)
        return await self._record_sale_orders(tickets)

    # POS --------------------------------------------------------------------
    async def _tills_for(self, config_ids: set[int]) -> dict[int, _Till]:
        """An open session and payment methods per POS config (cached while open)."""
        missing = sorted(config_ids - self._tills.keys())
        if not missing:
            return self._tills
        open_ids = await self._open_sessions(missing)
        configs = await self.client.search_read(
            "pos.config", [["id", "in", missing]], ["id", "payment_method_ids"]
        )
        method_ids = sorted({int(m) for c in configs for m in c["payment_method_ids"]})
        methods = await self.client.search_read(
            "pos.payment.method", [["id", "in", method_ids]], ["id", "is_cash_count"]
        )
        cash = {int(m["id"]) for m in methods if m.get("is_cash_count")}
        for config in configs:
            ids = [int(m) for m in config["payment_method_ids"]]
            if not ids:
                raise NotFoundError(f"POS config {config['id']} has no payment methods")
            cash_id = next((m for m in ids if m in cash), ids[0])
            other_id = next((m for m in ids if m not in cash), cash_id)
            self._tills[int(config["id"])] = _Till(open_ids[int(config["id"])], cash_id, other_id)
        return self._tills

    async def _open_sessions(self, config_ids: list[int]) -> dict[int, int]:
        """``{config id: open session id}``, opening sessions where there are none.

        Odoo allows one session per config that is not closed; when another hub
        worker created it first, our create is refused and its session is used.
        A session still in ``opening_control`` (cash control, or any 18+ session
        after ``action_pos_session_open``) is opened the way the POS UI does, with
        the opening cash Odoo expects, so no cash difference is booked.
        """
        for attempt in range(2):
            sessions = await self.client.search_read(
                "pos.session",
                [["config_id", "in", config_ids], ["state", "in", ["opening_control", "opened"]]],
                ["id", "config_id", "state"],
            )
            found = {many2one_id(s["config_id"]): s for s in sessions}
            closed = [c for c in config_ids if c not in found]
            if closed:
                try:
                    # one session per call: real 17/18 create reads self.config_id as a
                    # singleton ("Expected singleton: pos.config(…)" for a batch)
                    new = [
                        (
                            await self.client.create(
                                "pos.session", [{"config_id": c, "user_id": self.client.uid}]
                            )
                        )[0]
                        for c in closed
                    ]
                except OdooValidationError:
                    if attempt:
                        raise
                    continue
                await self.client.call("pos.session", "action_pos_session_open", new)
                sessions = await self.client.search_read(
                    "pos.session", [["id", "in", new]], ["id", "config_id", "state"]
                )
                found.update({many2one_id(s["config_id"]): s for s in sessions})
            for session in found.values():
                if session["state"] == "opening_control":
                    await self._finish_opening(int(session["id"]))
            return {config: int(session["id"]) for config, session in found.items()}
        raise AssertionError("unreachable")  # pragma: no cover

    async def _finish_opening(self, session_id: int) -> None:
        """Count the opening cash as what Odoo expects and open the session."""
        (row,) = await self.client.call(
            "pos.session", "read", [session_id], fields=["cash_register_balance_start"]
        )
        await self.client.call(
            "pos.session",
            self.client.dialect.pos_opening_method,
            [session_id],
            cashbox_value=row.get("cash_register_balance_start") or 0,
            notes="",
        )

    async def _existing(self, tickets: Sequence[Ticket]) -> dict[str, int]:
        """``{reference or uuid: pos.order id}`` already in Odoo."""
        if self.client.dialect.major >= 18:
            key, values = "uuid", [str(t.uuid) for t in tickets]
        else:
            key, values = "pos_reference", [t.reference for t in tickets]
        rows = await self.client.search_read("pos.order", [[key, "in", values]], ["id", key])
        return {str(r[key]): int(r["id"]) for r in rows}

    def _key(self, ticket: Ticket) -> str:
        return str(ticket.uuid) if self.client.dialect.major >= 18 else ticket.reference

    async def _record_pos(self, tickets: Sequence[Ticket]) -> list[SaleResult]:
        stores = await self.lookups.warehouses({t.store for t in tickets})
        for t in tickets:
            if t.store not in stores or stores[t.store].pos_config_id is None:
                raise NotFoundError(
                    f"store {t.store!r} has no Odoo warehouse with a POS config; upsert the store",
                    store=t.store,
                )
        configs = {t.store: int(stores[t.store].pos_config_id or 0) for t in tickets}
        tills = await self._tills_for(set(configs.values()))
        products = await self.lookups.product_ids({line.sku for t in tickets for line in t.lines})
        partners = await self.customers.partner_ids(
            {t.customer_id for t in tickets if t.customer_id}
        )
        results: list[SaleResult] = []
        batch = self.client.batch_size
        for start in range(0, len(tickets), batch):
            chunk = tickets[start : start + batch]
            async with pos_turn(self.client.target):
                before = await self._existing(chunk)
                new = [t for t in chunk if self._key(t) not in before]
                if new:
                    try:
                        await self._sync(new, tills, configs, products, partners)
                    except OdooUserError:
                        # a cached session was closed in Odoo meanwhile: open one and send
                        # again (safe: Odoo drops orders it already has, by uuid/pos_reference)
                        self._tills.clear()
                        tills = await self._tills_for(set(configs.values()))
                        await self._sync(new, tills, configs, products, partners)
                after = await self._existing(new) if new else {}
            for t in chunk:
                key = self._key(t)
                odoo_id = before.get(key) or after.get(key)
                if odoo_id is None:
                    raise NotFoundError(f"Odoo did not record POS order {key}", sale=str(t.uuid))
                results.append(SaleResult(t.uuid, t.store, "pos.order", odoo_id, key not in before))
        return results

    async def _sync(
        self,
        tickets: Sequence[Ticket],
        tills: dict[int, _Till],
        configs: dict[str, int],
        products: dict[str, int],
        partners: dict[str, int],
    ) -> None:
        """Send ``tickets`` with the version's POS sync method, in one call."""
        dialect = self.client.dialect
        payload = [
            dialect.pos_wrap(
                str(t.uuid), self._order_values(t, tills[configs[t.store]], products, partners)
            )
            for t in tickets
        ]
        await self.client.call(
            "pos.order", dialect.pos_sync_method, **dialect.pos_sync_params(payload)
        )

    def _order_values(
        self,
        t: Ticket,
        till: _Till,
        products: dict[str, int],
        partners: dict[str, int],
    ) -> dict[str, Any]:
        dialect = self.client.dialect
        when = t.occurred_at.strftime(ODOO_DATETIME)
        lines = [
            [
                0,
                0,
                {
                    "product_id": products[line.sku],
                    "qty": line.quantity,
                    "price_unit": line.unit_price,
                    "discount": line.discount_percent,
                    "price_subtotal": line.total,
                    "price_subtotal_incl": line.total,
                    "tax_ids": [[6, False, []]],
                    "full_product_name": line.sku,
                },
            ]
            for line in t.lines
        ]
        payments = [
            [
                0,
                0,
                {
                    "amount": amount,
                    "payment_method_id": till.cash_method
                    if method is PaymentMethod.CASH
                    else till.other_method,
                    ("payment_date" if dialect.major >= 18 else "name"): when,
                },
            ]
            for method, amount in t.payments
        ]
        paid = sum((amount for _, amount in t.payments), Decimal(0))
        values: dict[str, Any] = {
            "uuid": str(t.uuid),
            dialect.pos_session_field: till.session_id,
            "user_id": self.client.uid,
            "partner_id": partners.get(t.customer_id or "", False),
            "pricelist_id": False,
            "fiscal_position_id": False,
            "to_invoice": False,
            "sequence_number": 0,
            "amount_total": t.total,
            "amount_paid": paid,
            "amount_tax": Decimal(0),
            "amount_return": Decimal(0),
            "lines": lines,
            dialect.pos_payments_field: payments,
        }
        if dialect.major >= 18:
            values.update(
                {
                    "date_order": when,
                    "state": "paid",
                    "name": t.reference,
                    "pos_reference": t.reference,
                }
            )
        else:
            # 16's _order_fields reads creation_date, 17's date_order (real 17.0: KeyError)
            values.update(
                {
                    "name": t.reference,
                    "uid": str(t.uuid),
                    "creation_date": when,
                    "date_order": when,
                }
            )
        return values

    # fallback ---------------------------------------------------------------
    async def _record_sale_orders(self, tickets: Sequence[Ticket]) -> list[SaleResult]:
        stores = await self.lookups.warehouses({t.store for t in tickets})
        products = await self.lookups.product_ids({line.sku for t in tickets for line in t.lines})
        partners = await self.customers.partner_ids(
            {t.customer_id for t in tickets if t.customer_id}
        )
        walk_in = await self.customers.walk_in()
        drafts = [
            OrderDraft(
                key=f"pos:{t.store}:{t.uuid}",
                partner_id=partners.get(t.customer_id or "", walk_in),
                lines=tuple(
                    DraftLine(
                        products[line.sku], line.quantity, line.unit_price, line.discount_percent
                    )
                    for line in t.lines
                ),
                warehouse_id=stores[t.store].warehouse_id if t.store in stores else None,
            )
            for t in tickets
        ]
        placed = await self.orders.place(drafts)
        new = [p.odoo_id for p in placed if p.created]
        if new:
            await self.orders.deliver(new)
        return [
            SaleResult(t.uuid, t.store, "sale.order", p.odoo_id, p.created)
            for t, p in zip(tickets, placed, strict=True)
        ]
