"""``storelink sandbox --cleanup``: remove from Odoo what the run created, as Odoo allows it.

What the run created comes from the creation ledger (:mod:`storelink.sandbox.ledger`);
records that existed before the run are never touched, even when the run wrote
to them. Removal follows Odoo's own rules, in dependency order:

1. channel and fallback ``sale.order``: cancelled (``action_cancel`` with
   ``disable_cancel_warning``, cancelling their open deliveries), then deleted —
   Odoo deletes only draft or cancelled orders (``_unlink_except_draft_or_cancel``);
   their cancelled transfers go too, done ones stay (done moves cannot be deleted);
2. ``pos.order``: deleted only when new or cancelled; paid and posted orders stay,
   they are accounting records;
3. the run's POS sessions are closed (``action_pos_session_closing_control``, which
   closes them); they stay with their orders;
4. pricelist items, then pricelists: deleted;
5. POS configs: deleted, or archived when sessions keep them (``restrict``);
6. the stock left at the run's warehouses is counted to zero (Odoo refuses to
   archive a location that still holds products), then products are deleted, or
   archived when stock moves, quants or order lines keep them;
7. partners (walk-in customer): deleted, or archived when orders keep them;
8. warehouses: archived (with their locations and operation types) — their
   history references them;
9. estate records the run reactivated (archived by an earlier cleanup) are
   archived again, and storelink external ids the run bound to records that
   existed before are removed.

Refused deletes fall back record by record (halving the batch) to archiving.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from storelink.errors import OdooBusinessError, StorelinkError
from storelink.odoo.client import OdooClient
from storelink.odoo.lookups import ALL_RECORDS, many2one_id
from storelink.ops import get_logger
from storelink.sandbox.ledger import Created, RunMarks, Snapshot, created_by_run, stock_locations

log = get_logger("storelink.sandbox.cleanup")

INVENTORY_MODE = {"inventory_mode": True}
#: cancel confirmed orders without the wizard that asks a person first
NO_CANCEL_WIZARD = {"disable_cancel_warning": True}
KEPT_POS_ORDERS = (
    "paid or posted POS orders are accounting records: Odoo deletes only new or cancelled ones"
)
KEPT_SESSIONS = "POS sessions stay with their orders (closed by cleanup)"
KEPT_TRANSFERS = "done transfers are stock history: Odoo cannot delete done moves"
KEPT_MOVES = "done stock moves are stock history: Odoo cannot delete them"


@dataclass
class Outcome:
    """What cleanup did to one model's records."""

    deleted: int = 0
    archived: int = 0
    left: int = 0
    reasons: list[str] = field(default_factory=list)

    def leave(self, count: int, reason: str) -> None:
        if count:
            self.left += count
            if reason not in self.reasons:
                self.reasons.append(reason)


@dataclass
class CleanupResult:
    """Counts per model, records restored to archived, bindings removed, and what went wrong."""

    models: dict[str, Outcome] = field(default_factory=dict)
    #: records archived before the run, reactivated for it, archived again
    restored: int = 0
    #: storelink external ids removed from records that existed before the run
    unbound: int = 0
    #: created records still active, or the error that stopped cleanup
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def outcome(self, model: str) -> Outcome:
        return self.models.setdefault(model, Outcome())

    def document(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "models": {
                model: {
                    "deleted": o.deleted,
                    "archived": o.archived,
                    "left": o.left,
                    "reasons": list(o.reasons),
                }
                for model, o in sorted(self.models.items())
            },
            "restored": self.restored,
            "unbound": self.unbound,
            "problems": list(self.problems),
            "untouched": "records that existed before the run are never touched, "
            "even when the run wrote to them",
        }

    def summary(self) -> str:
        def total(kind: str) -> int:
            return sum(int(getattr(o, kind)) for o in self.models.values())

        verdict = "done" if self.ok else "FAILED: " + "; ".join(self.problems[:3])
        return (
            f"cleanup {verdict} — deleted {total('deleted')}, archived {total('archived')}, "
            f"left {total('left')} (Odoo keeps them), restored {self.restored}, "
            f"unbound {self.unbound}"
        )


class Cleanup:
    """One cleanup over the sandbox's own client."""

    def __init__(self, client: OdooClient, snapshot: Snapshot, created: Created) -> None:
        self.client = client
        self.snapshot = snapshot
        self.created = created
        self.result = CleanupResult()

    # -- batched primitives ---------------------------------------------------------------
    def _batches(self, ids: Sequence[int]) -> list[list[int]]:
        size = self.client.batch_size
        return [list(ids[i : i + size]) for i in range(0, len(ids), size)]

    async def _read(
        self, model: str, ids: Sequence[int], fields: list[str]
    ) -> list[dict[str, Any]]:
        if not ids:
            return []
        return await self.client.search_read(
            model, [["id", "in", list(ids)]], ["id", *fields], order="id", context=ALL_RECORDS
        )

    async def _unlink(self, model: str, ids: Sequence[int]) -> dict[int, str]:
        """Delete ``ids`` in batches; a refused batch is halved until the refusals are known.

        Returns ``{id: Odoo's reason}`` for the records Odoo would not delete
        (each refused call rolled back, so nothing else changed).
        """
        refused: dict[int, str] = {}
        pending = self._batches(ids)
        while pending:
            batch = pending.pop()
            try:
                await self.client.call(model, "unlink", batch)
            except OdooBusinessError as exc:
                if len(batch) == 1:
                    refused[batch[0]] = str(exc).splitlines()[0]
                else:
                    half = len(batch) // 2
                    pending += [batch[:half], batch[half:]]
                continue
            self.result.outcome(model).deleted += len(batch)
        return refused

    async def _archive(self, model: str, ids: Sequence[int], *, restoring: bool = False) -> None:
        """Archive ``ids`` (``active=False``) in batches; refusals are problems."""
        pending = self._batches(ids)
        while pending:
            batch = pending.pop()
            try:
                await self.client.call(model, "write", batch, vals={"active": False})
            except OdooBusinessError as exc:
                if len(batch) > 1:
                    half = len(batch) // 2
                    pending += [batch[:half], batch[half:]]
                    continue
                reason = str(exc).splitlines()[0]
                self.result.outcome(model).leave(1, f"could not archive: {reason}")
                self.result.problems.append(f"{model} #{batch[0]} stays active: {reason}")
                continue
            if restoring:
                self.result.restored += len(batch)
            else:
                self.result.outcome(model).archived += len(batch)

    async def _delete_or_archive(self, model: str, ids: Sequence[int]) -> None:
        refused = await self._unlink(model, ids)
        if refused:
            log.info("sandbox.cleanup.archiving", model=model, count=len(refused))
            await self._archive(model, sorted(refused))

    # -- the steps ------------------------------------------------------------------------
    async def run(self) -> CleanupResult:
        await self._sale_orders()
        await self._pos_orders()
        await self._sessions()
        await self._delete_or_archive(
            "product.pricelist.item", self.created.ids("product.pricelist.item")
        )
        await self._delete_or_archive("product.pricelist", self.created.ids("product.pricelist"))
        await self._delete_or_archive("pos.config", self.created.ids("pos.config"))
        warehouses = self.created.ids("stock.warehouse")
        restored_warehouses = self.created.restored.get("stock.warehouse", [])
        locations = await stock_locations(self.client, [*warehouses, *restored_warehouses])
        await self._zero_stock(locations)
        await self._products()
        await self._delete_or_archive("res.partner", self.created.ids("res.partner"))
        await self._archive("stock.warehouse", warehouses)
        for model, ids in sorted(self.created.restored.items()):
            await self._archive(model, ids, restoring=True)
        await self._count_moves(locations)
        await self._unbind()
        return self.result

    async def _sale_orders(self) -> None:
        ids = self.created.ids("sale.order")
        if not ids:
            return
        pickings = await self.client.search_read(
            "stock.picking", [["sale_id", "in", ids]], ["id"], context=ALL_RECORDS
        )
        rows = await self._read("sale.order", ids, ["state"])
        open_ids = [int(r["id"]) for r in rows if r["state"] not in ("draft", "cancel")]
        for batch in self._batches(open_ids):
            await self.client.call("sale.order", "action_cancel", batch, context=NO_CANCEL_WIZARD)
        for order_id, reason in (await self._unlink("sale.order", ids)).items():
            self.result.outcome("sale.order").leave(1, reason)
            self.result.problems.append(f"sale.order #{order_id} stays: {reason}")
        transfers = await self._read("stock.picking", [int(p["id"]) for p in pickings], ["state"])
        removable = [int(p["id"]) for p in transfers if p["state"] in ("draft", "cancel")]
        refused = await self._unlink("stock.picking", removable)
        self.result.outcome("stock.picking").leave(
            len(transfers) - len(removable) + len(refused), KEPT_TRANSFERS
        )

    async def _pos_orders(self) -> None:
        rows = await self._read("pos.order", self.created.ids("pos.order"), ["state"])
        removable = [int(r["id"]) for r in rows if r["state"] in ("draft", "cancel")]
        refused = await self._unlink("pos.order", removable)
        self.result.outcome("pos.order").leave(
            len(rows) - len(removable) + len(refused), KEPT_POS_ORDERS
        )

    async def _sessions(self) -> None:
        rows = await self._read("pos.session", self.created.ids("pos.session"), ["state"])
        for row in rows:
            if row["state"] == "closed":
                continue
            session = [int(row["id"])]
            try:
                # closing control closes the session itself (pos_session.py: it returns
                # action_pos_session_close / _validate), one session per call; a second
                # close is refused ("This session is already closed.")
                answer = await self.client.call(
                    "pos.session", "action_pos_session_closing_control", session
                )
            except OdooBusinessError as exc:
                reason = str(exc).splitlines()[0]
                self.result.problems.append(
                    f"pos.session #{session[0]} could not be closed: {reason}"
                )
                continue
            if isinstance(answer, dict):  # the force-close wizard: the entries do not balance
                self.result.problems.append(
                    f"pos.session #{session[0]} could not be closed: {answer.get('name')}"
                )
        self.result.outcome("pos.session").leave(len(rows), KEPT_SESSIONS)

    async def _zero_stock(self, locations: Sequence[int]) -> None:
        """Count to zero what the run's warehouses still hold, so they can be archived."""
        if not locations:
            return
        quants = await self.client.search_read(
            "stock.quant",
            [["location_id", "child_of", list(locations)], ["quantity", "!=", 0]],
            ["product_id", "location_id"],
        )
        for start in range(0, len(quants), self.client.batch_size):
            chunk = quants[start : start + self.client.batch_size]
            ids = await self.client.create(
                "stock.quant",
                [
                    {
                        "product_id": many2one_id(q["product_id"]),
                        "location_id": many2one_id(q["location_id"]),
                        "inventory_quantity": 0,
                    }
                    for q in chunk
                ],
                context=INVENTORY_MODE,
                retry=True,
            )
            await self.client.call(
                "stock.quant", "action_apply_inventory", sorted(set(ids)), context=INVENTORY_MODE
            )
        self.result.outcome("stock.quant").leave(
            len(quants), "quants of the run's warehouses stay, counted to zero"
        )

    async def _products(self) -> None:
        """Delete products nothing refers to; archive those stock history keeps."""
        ids = self.created.ids("product.product")
        if not ids:
            return
        kept: set[int] = set()
        dialect = self.client.dialect
        for model in ("stock.quant", "stock.move"):
            method, params = dialect.group_call(
                [["product_id", "in", ids]],
                ["product_id"],
                ["product_uom_qty" if model == "stock.move" else "quantity"],
            )
            rows = await self.client.call(model, method, **params)
            kept |= {many2one_id(r["product_id"]) for r in rows}
        kept &= set(ids)
        await self._archive("product.product", sorted(kept))
        await self._delete_or_archive("product.product", [i for i in ids if i not in kept])

    async def _count_moves(self, locations: Sequence[int]) -> None:
        if not locations:
            return
        count = await self.client.call(
            "stock.move",
            "search_count",
            domain=[
                self.snapshot.newer("stock.move"),
                "|",
                ["location_id", "child_of", list(locations)],
                ["location_dest_id", "child_of", list(locations)],
            ],
            context=ALL_RECORDS,
        )
        self.result.outcome("stock.move").leave(int(count), KEPT_MOVES)

    async def _unbind(self) -> None:
        ids = self.created.bindings
        for batch in self._batches(ids):
            await self.client.call("ir.model.data", "unlink", batch)
        self.result.unbound = len(ids)


async def clean_up(client: OdooClient, snapshot: Snapshot | None, marks: RunMarks) -> CleanupResult:
    """Remove what the run created; never raises — a failure is in the result's problems."""
    if snapshot is None:
        return CleanupResult()  # the run stopped before it wrote anything
    cleanup: Cleanup | None = None
    try:
        created = await created_by_run(client, snapshot, marks)
        cleanup = Cleanup(client, snapshot, created)
        return await cleanup.run()
    except StorelinkError as exc:
        log.warning("sandbox.cleanup.failed", error=str(exc))
        result = cleanup.result if cleanup is not None else CleanupResult()
        result.problems.append(f"cleanup stopped: {exc}")
        return result


__all__ = ["CleanupResult", "Outcome", "clean_up"]
