"""The dispatcher's statements, built once and run with bound values.

Building a SQLAlchemy statement costs more Python time than the database
spends running it, so every statement of a dispatcher pass is built here once
(per database kind and number of endpoints) with ``bindparam`` placeholders.

A pass reads only the live leases (``status='delivering'``) to know each
endpoint's free concurrency, then leases each endpoint's oldest due rows with
one index range read per endpoint that stops after its quota — so a pass costs
the same whether ten or a hundred thousand deliveries are queued.

Several dispatchers on one PostgreSQL (READ COMMITTED) stay apart by three guards:

* :func:`lock_endpoints` first: a pass locks the endpoints it will lease for, skipping
  those another pass holds, and reads their live leases only afterwards, in a later
  statement — whose snapshot includes every lease committed by the pass that held the
  lock before. Counting and leasing are one step per endpoint, so concurrency limits
  hold across workers (see :mod:`storelink.webhooks.sharing`).
* :func:`lease` picks rows ``FOR UPDATE SKIP LOCKED`` and re-checks that each is still
  due on its newest version, so a row being settled or leased by another transaction is
  never leased again behind its back (two live leases on one delivery never exist).
* :func:`settle` writes an outcome only while the row is still under the lease it was
  attempted with (same ``attempts``): a worker whose lease ran out and was taken over
  cannot overwrite its successor's lease with a stale outcome.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import (
    Select,
    Update,
    and_,
    bindparam,
    case,
    exists,
    func,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from storelink.db.types import UtcDateTime
from storelink.webhooks.tables import webhook_deliveries, webhook_endpoints

ACTIVE = ("pending", "delivering")
#: endpoints per lease statement (SQLite allows 500 members in a compound SELECT)
LEASE_CHUNK = 200


def _now() -> Any:
    return bindparam("now", type_=UtcDateTime())


def _unindexed(column: Any) -> Any:
    """``+column``: the same value, but SQLite will not pick an index for the term."""
    return UnaryExpression(column, operator=custom_op("+"), type_=column.type)


def due(table: Any, now: Any) -> Any:
    """Rows of ``table`` that may be attempted at ``now``: waiting and due, or whose
    lease ran out (the worker holding it died)."""
    return or_(
        and_(table.c.status == "pending", table.c.next_attempt_at <= now),
        and_(table.c.status == "delivering", table.c.lease_until <= now),
    )


@cache
def lock_endpoints() -> Select[Any]:
    """Enabled endpoints nobody else is leasing for, locked until the pass commits
    (PostgreSQL only; SQLite has one writer).

    ``FOR NO KEY UPDATE`` conflicts with itself and with endpoint updates, not with the
    key-share locks of foreign-key checks: fan-out keeps inserting deliveries meanwhile.
    ``SKIP LOCKED``: a pass never waits for another; it leaves those endpoints to it.
    Taken after the pass recorded its outcomes, so a pass waits for no lock once it
    holds these (no deadlock through them).
    """
    e = webhook_endpoints
    return (
        select(e.c.id)
        .where(e.c.enabled.is_(True))
        .order_by(e.c.id)
        .with_for_update(skip_locked=True, key_share=True)
    )


@cache
def endpoint_load() -> Select[Any]:
    """Enabled endpoints with their count of live leases (bind ``now``)."""
    d, e = webhook_deliveries, webhook_endpoints
    busy = (
        select(d.c.endpoint_id, func.count().label("busy"))
        .where(d.c.status == "delivering", d.c.lease_until > _now())
        .group_by(d.c.endpoint_id)
        .subquery()
    )
    return (
        select(e.c.id, e.c.url, e.c.rate_limit, e.c.max_concurrency, e.c.updated_at, busy.c.busy)
        .select_from(e.outerjoin(busy, busy.c.endpoint_id == e.c.id))
        .where(e.c.enabled.is_(True))
    )


def _oldest_due(index: int, postgres: bool) -> list[Select[Any]]:
    """Endpoint ``e{index}``'s oldest ``q{index}`` due rows, as two reads of the
    (endpoint_id, status, id) index: waiting rows, and rows whose lease ran out."""
    d = webhook_deliveries
    candidate = d.alias("candidate")
    prior = d.alias("prior")
    blocked = exists().where(
        prior.c.endpoint_id == candidate.c.endpoint_id,
        prior.c.ordering_key == candidate.c.ordering_key,
        prior.c.status.in_(ACTIVE),
        prior.c.id < candidate.c.id,
    )
    in_order = or_(candidate.c.ordering_key.is_(None), ~blocked)
    waiting, leased = candidate.c.next_attempt_at, candidate.c.lease_until
    if not postgres:
        # SQLite's planner would rather range-scan (status, next_attempt_at) and sort
        # the whole backlog; a unary + keeps the time out of index selection, so it
        # walks (endpoint_id, status, id) in id order and stops after the quota
        waiting, leased = _unindexed(waiting), _unindexed(leased)
    parts = []
    for status, ready in (("pending", waiting <= _now()), ("delivering", leased <= _now())):
        part = (
            select(candidate.c.id, candidate.c.endpoint_id)
            .where(
                candidate.c.endpoint_id == bindparam(f"e{index}"),
                candidate.c.status == status,
                ready,
                in_order,
            )
            .order_by(candidate.c.id)
            .limit(bindparam(f"q{index}"))
            .subquery()
        )
        parts.append(select(part.c.id, part.c.endpoint_id))
    return parts


@cache
def lease(endpoints: int, postgres: bool) -> Update:
    """Lease the oldest due rows of ``endpoints`` endpoints, returning them.

    Binds ``now``, ``lease_until`` and per endpoint ``e{i}`` (its id) and ``q{i}``
    (how many). Each endpoint's candidates (at most twice its quota) are ranked by
    id to keep the quota; on PostgreSQL the chosen rows are then locked
    ``FOR UPDATE SKIP LOCKED`` (re-checking they are still due), so several workers
    can share the queue.
    """
    d = webhook_deliveries
    candidates = union_all(
        *(part for index in range(endpoints) for part in _oldest_due(index, postgres))
    ).subquery()
    ranked = select(
        candidates.c.id,
        candidates.c.endpoint_id,
        func.row_number()
        .over(partition_by=candidates.c.endpoint_id, order_by=candidates.c.id)
        .label("rank"),
    ).subquery()
    quota = case(
        *(
            (ranked.c.endpoint_id == bindparam(f"e{i}"), bindparam(f"q{i}"))
            for i in range(endpoints)
        ),
        else_=0,
    )
    pick: Any = select(ranked.c.id).where(ranked.c.rank <= quota)
    if postgres:
        locked = d.alias("locked")
        pick = (
            select(locked.c.id)
            .where(locked.c.id.in_(pick.scalar_subquery()), due(locked, _now()))
            .with_for_update(skip_locked=True, of=locked)
        )
    return (
        update(d)
        .where(d.c.id.in_(pick.scalar_subquery()))
        .values(
            status="delivering",
            lease_until=bindparam("lease_until", type_=UtcDateTime()),
            attempts=d.c.attempts + 1,
        )
        .returning(d.c.id, d.c.endpoint_id, d.c.event_id, d.c.event_time, d.c.payload, d.c.attempts)
    )


@cache
def settle() -> Update:
    """A delivery's state after an attempt (executemany over ``b_*`` values), written
    only while the row is still ``delivering`` under the lease the attempt was made with
    (``b_attempt``: every lease adds one to ``attempts``, so it is the lease's fencing
    token)."""
    d = webhook_deliveries
    return (
        update(d)
        .where(
            d.c.id == bindparam("b_id"),
            d.c.status == "delivering",
            d.c.attempts == bindparam("b_attempt"),
        )
        .values(
            status=bindparam("b_status"),
            next_attempt_at=bindparam("b_next"),
            lease_until=None,
            last_status=bindparam("b_last_status"),
            last_error=bindparam("b_last_error"),
            delivered_at=bindparam("b_delivered_at"),
        )
    )


@cache
def queue_depth() -> Select[Any]:
    """Deliveries pending or in flight per enabled endpoint (reads the whole backlog)."""
    d, e = webhook_deliveries, webhook_endpoints
    return (
        select(d.c.endpoint_id, func.count().label("depth"))
        .select_from(d.join(e, e.c.id == d.c.endpoint_id))
        .where(e.c.enabled.is_(True), d.c.status.in_(ACTIVE))
        .group_by(d.c.endpoint_id)
    )
