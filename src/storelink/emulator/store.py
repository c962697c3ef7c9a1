"""The in-memory database: one table of records per model, guarded by one lock.

Tables and records log their previous state the first time a transaction
changes them (an undo journal), so a failed call rolls back in time
proportional to what it touched rather than to the size of the database.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

Clock = Callable[[], datetime]
#: (model, id) -> the record before the transaction touched it (None: it did not exist)
Journal = dict[tuple[str, int], dict[str, Any] | None]


def _indexable(value: Any) -> bool:
    return value is not None and value is not False and isinstance(value, (int, str))


def system_clock() -> datetime:
    return datetime.now(UTC)


def odoo_datetime(moment: datetime) -> str:
    """A stored datetime: naive UTC with microseconds, like PostgreSQL keeps it.

    Reads show the first 19 characters (second precision, Odoo's wire format),
    while domains compare the full value, as they do in SQL.
    """
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class Record(dict[str, Any]):
    """A stored record; its first change inside a transaction is journaled."""

    __slots__ = ("_key", "_store")

    def __init__(self, store: Store, model: str, values: Iterable[tuple[str, Any]]) -> None:
        super().__init__(values)
        self._store = store
        self._key = (model, int(self["id"]))

    def _log(self) -> None:
        journal = self._store.journal
        if journal is not None and self._key not in journal:
            journal[self._key] = dict(self)

    def _indexed(self) -> frozenset[str]:
        return self._store.indexed_fields(self._key[0])

    def __setitem__(self, key: str, value: Any) -> None:
        self._log()
        if key in self._indexed():
            self._store.reindex(self._key, key, self.get(key), value)
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self._log()
        if key in self._indexed():
            self._store.reindex(self._key, key, self.get(key), None)
        super().__delitem__(key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._log()
        changes = dict(*args, **kwargs)
        for key in changes.keys() & self._indexed():
            self._store.reindex(self._key, key, self.get(key), changes[key])
        super().update(changes)

    def clear(self) -> None:
        self._log()
        for key in self._indexed():
            self._store.reindex(self._key, key, self.get(key), None)
        super().clear()

    def pop(self, key: str, *default: Any) -> Any:
        self._log()
        if key in self._indexed():
            self._store.reindex(self._key, key, self.get(key), None)
        return super().pop(key, *default)

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]


class Table(dict[int, Record]):
    """The records of one model by id; inserts and deletes are journaled."""

    __slots__ = ("_model", "_store")

    def __init__(self, store: Store, model: str) -> None:
        super().__init__()
        self._store = store
        self._model = model

    def _log(self, record_id: int) -> None:
        journal = self._store.journal
        key = (self._model, record_id)
        if journal is not None and key not in journal:
            existing = super().get(record_id)
            journal[key] = dict(existing) if existing is not None else None

    def _replace(self, record_id: int, values: dict[str, Any] | None) -> None:
        # every insert, delete and restore goes through here to keep the indexes right
        old = super().get(record_id)
        self._store.index_record(self._model, record_id, old, values)
        if values is None:
            super().pop(record_id, None)
        else:
            super().__setitem__(record_id, Record(self._store, self._model, values.items()))

    def __setitem__(self, record_id: int, values: dict[str, Any]) -> None:
        self._log(record_id)
        self._replace(record_id, values)

    def __delitem__(self, record_id: int) -> None:
        if record_id not in self:
            raise KeyError(record_id)
        self._log(record_id)
        self._replace(record_id, None)

    def pop(self, record_id: int, *default: Any) -> Any:
        if record_id not in self:
            return super().pop(record_id, *default)
        record = super().get(record_id)
        self._log(record_id)
        self._replace(record_id, None)
        return record

    def restore(self, record_id: int, values: dict[str, Any] | None) -> None:
        """Put back a journaled state without journaling it again."""
        self._replace(record_id, values)


class Store:
    """Records by model and id, id sequences and named counters.

    Every RPC call runs entirely under :attr:`lock` inside :meth:`transaction`,
    so each call is atomic the way one committed Odoo transaction is. ``clock``
    is replaceable so tests can make several records share one ``write_date``.
    """

    def __init__(self, clock: Clock = system_clock) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.tables: dict[str, Table] = {}
        self.journal: Journal | None = None
        #: ``cr.now()``: one timestamp for everything a transaction writes
        self._transaction_now: str | None = None
        self._next_id: dict[str, int] = {}
        self._counters: dict[str, int] = {}
        self._indexed: dict[str, frozenset[str]] = {}
        #: (model, field) -> value -> ids having it
        self._index: dict[tuple[str, str], dict[Any, set[int]]] = {}

    # -- secondary indexes ---------------------------------------------------------------------
    def add_index(self, model: str, field: str) -> None:
        """Index ``model.field`` (scalar values); call before the model has records."""
        self._indexed[model] = self._indexed.get(model, frozenset()) | {field}
        self._index.setdefault((model, field), {})

    def indexed_fields(self, model: str) -> frozenset[str]:
        return self._indexed.get(model, frozenset())

    def reindex(self, key: tuple[str, int], field: str, old: Any, new: Any) -> None:
        index = self._index[(key[0], field)]
        if _indexable(old):
            ids = index.get(old)
            if ids is not None:
                ids.discard(key[1])
        if _indexable(new):
            index.setdefault(new, set()).add(key[1])

    def index_record(
        self, model: str, record_id: int, old: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> None:
        for field in self.indexed_fields(model):
            before = old.get(field) if old is not None else None
            after = new.get(field) if new is not None else None
            self.reindex((model, record_id), field, before, after)

    def lookup(self, model: str, field: str, value: Any) -> list[int] | None:
        """Ids of ``model`` whose ``field`` equals ``value``; None when not indexed."""
        index = self._index.get((model, field))
        if index is None or not _indexable(value):
            return None
        return sorted(index.get(value, ()))

    def table(self, model: str) -> Table:
        table = self.tables.get(model)
        if table is None:
            table = self.tables[model] = Table(self, model)
        return table

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Undo every change made inside the block if it raises (nested blocks join)."""
        if self.journal is not None:
            yield
            return
        self.journal = {}
        self._transaction_now = odoo_datetime(self.clock())
        try:
            yield
        except BaseException:
            self.rollback(self.journal)
            raise
        finally:
            self.journal = None
            self._transaction_now = None

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[Callable[[], None]]:
        """Yield a function that undoes what happened since the savepoint was taken."""
        outer = self.journal
        inner: Journal = {}
        self.journal = inner
        try:
            yield lambda: self.rollback(inner)
        finally:
            self.journal = outer
            if outer is not None:
                for key, values in inner.items():
                    outer.setdefault(key, values)

    def rollback(self, journal: Journal) -> None:
        for (model, record_id), values in journal.items():
            self.table(model).restore(record_id, values)
        journal.clear()

    def new_id(self, model: str) -> int:
        value = self._next_id.get(model, 1)
        self._next_id[model] = value + 1
        return value

    def next_number(self, counter: str) -> int:
        """The next value of a named sequence (``ir.sequence`` in Odoo)."""
        value = self._counters.get(counter, 0) + 1
        self._counters[counter] = value
        return value

    def now(self) -> str:
        """The transaction's timestamp (every record it writes shares it)."""
        return self._transaction_now or odoo_datetime(self.clock())
