"""Delta downloads from the hub read model, paged by revision.

A page holds every row with ``after < revision <= until`` and never splits a
revision: one drain commit writes new stock positions and the confirmations
of the transactions they include under one revision, and the agent must apply
them together or its local available stock would count a sale twice or not at
all. ``after=0`` asks for everything (a full resync) and is always allowed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storelink.db.tables import prices, products, stock_positions, stores
from storelink.errors import CursorExpiredError, NotFoundError
from storelink.model import Price, PriceScope, PriceScopeKind, Product, utcnow
from storelink.sync.contacts import download_contact_due, touch
from storelink.sync.revisions import clock
from storelink.sync.tables import sync_transactions
from storelink.sync.wire import Confirmation, Dataset, DeltaPage, StockRow

#: the scope code of the products' list prices (Odoo ``list_price``)
LIST_PRICELIST = "list"


async def _store(connection: AsyncConnection, code: str) -> tuple[str, str | None]:
    row = (
        await connection.execute(
            select(stores.c.location, stores.c.pricelist).where(stores.c.code == code)
        )
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"no store {code!r}", store=code)
    return str(row.location), row.pricelist


def _sources(
    dataset: Dataset, store: str, location: str, pricelist: str | None
) -> list[tuple[Select[Any], ColumnElement[Any]]]:
    """The ``SELECT`` of each table feeding ``dataset`` with its revision column."""
    if dataset is Dataset.PRODUCTS:
        return [(select(products), products.c.revision)]
    if dataset is Dataset.PRICES:
        scopes = [
            and_(prices.c.scope_kind == PriceScopeKind.STORE, prices.c.scope_code == store),
            # the products' list prices apply everywhere unless something closer does
            and_(
                prices.c.scope_kind == PriceScopeKind.PRICELIST,
                prices.c.scope_code == LIST_PRICELIST,
            ),
        ]
        if pricelist:
            scopes.append(
                and_(
                    prices.c.scope_kind == PriceScopeKind.PRICELIST,
                    prices.c.scope_code == pricelist,
                )
            )
        return [(select(prices).where(or_(*scopes)), prices.c.revision)]
    applied = sync_transactions.c.applied_revision
    return [
        (
            select(stock_positions).where(stock_positions.c.location == location),
            stock_positions.c.revision,
        ),
        (
            select(sync_transactions.c.uuid, applied).where(
                sync_transactions.c.store == store, applied.is_not(None)
            ),
            applied,
        ),
    ]


async def read_delta(
    engine: AsyncEngine, store: str, dataset: Dataset, *, after: int, limit: int = 500
) -> DeltaPage:
    """The next page of ``dataset`` for ``store`` after cursor ``after``.

    Raises :class:`CursorExpiredError` when ``after`` is older than the hub's
    horizon or newer than anything it handed out (the hub's database was
    replaced): the agent then resyncs from 0.
    """
    async with engine.connect() as connection:  # one read snapshot for the whole page
        latest, horizon = await clock(connection)
        if after and (after < horizon or after > latest):
            raise CursorExpiredError(
                f"cursor {after} cannot be resumed (horizon {horizon}, latest {latest})",
                store=store,
                dataset=dataset.value,
            )
        location, pricelist = await _store(connection, store)
        sources = _sources(dataset, store, location, pricelist)
        seen: list[int] = []
        for source, revision in sources:
            peek = source.with_only_columns(revision).where(revision > after)
            result = await connection.execute(peek.order_by(revision).limit(limit + 1))
            seen.extend(int(value) for value in result.scalars())
        seen.sort()
        until = seen[min(limit, len(seen)) - 1] if seen else after
        rows = [
            (
                await connection.execute(
                    source.where(revision > after, revision <= until).order_by(revision)
                )
            ).all()
            for source, revision in sources
        ]
        more = False
        for source, revision in sources:
            later = source.with_only_columns(revision).where(revision > until).limit(1)
            more = more or (await connection.execute(later)).first() is not None
    # a separate, short write (the read above never holds the write lock), and only now
    # and then: agents poll every few seconds
    now = utcnow()
    if download_contact_due(engine, store, now):
        async with engine.begin() as connection:
            await touch(connection, store, now, what="download")
    page = DeltaPage(
        dataset=dataset,
        after=after,
        until=until,
        more=more,
        location=location if dataset is Dataset.STOCK else None,
    )
    if dataset is Dataset.PRODUCTS:
        return page.model_copy(update={"products": [_product(row) for row in rows[0]]})
    if dataset is Dataset.PRICES:
        return page.model_copy(update={"prices": [_price(row) for row in rows[0]]})
    return page.model_copy(
        update={
            "stock": [_stock(row) for row in rows[0]],
            "confirmations": [
                Confirmation(uuid=row.uuid, revision=row.applied_revision) for row in rows[1]
            ],
        }
    )


def _product(row: Row[Any]) -> Product:
    return Product(
        sku=row.sku,
        name=row.name,
        barcode=row.barcode,
        uom=row.uom,
        tax_class=row.tax_class,
        category=row.category,
        active=row.active,
    )


def _price(row: Row[Any]) -> Price:
    return Price(
        sku=row.sku,
        scope=PriceScope(kind=row.scope_kind, code=row.scope_code),
        amount=row.amount,
        currency=row.currency,
        version=row.version,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
    )


def _stock(row: Row[Any]) -> StockRow:
    return StockRow(
        sku=row.sku,
        on_hand=row.on_hand,
        reserved=row.reserved,
        as_of=row.as_of,
        revision=row.revision,
    )
