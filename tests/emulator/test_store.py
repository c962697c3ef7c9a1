"""Odoo emulator: the store's undo journal and indexes stay right whatever a call does."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storelink.emulator.store import Store

# (action, record id, value): insert/update/delete a record with an indexed "order_id"
operation = st.tuples(
    st.sampled_from(["insert", "update", "delete", "clear_field"]),
    st.integers(min_value=1, max_value=6),
    st.sampled_from([1, 2, 3, False]),
)


class _Abort(Exception):
    pass


def _apply(store: Store, action: str, record_id: int, value: Any) -> None:
    table = store.table("pos.order.line")
    if action == "insert":
        table[record_id] = {"id": record_id, "order_id": value, "qty": 1.0}
    elif record_id not in table:
        return
    elif action == "update":
        table[record_id]["order_id"] = value
    elif action == "delete":
        del table[record_id]
    else:
        table[record_id].pop("order_id", None)


def _state(store: Store) -> dict[int, dict[str, Any]]:
    return {i: dict(r) for i, r in store.table("pos.order.line").items()}


def _check_index(store: Store) -> None:
    table = store.table("pos.order.line")
    for value in (1, 2, 3):
        scanned = sorted(i for i, r in table.items() if r.get("order_id") == value)
        assert store.lookup("pos.order.line", "order_id", value) == scanned


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.lists(operation, max_size=6), st.booleans()), max_size=8))
def test_failed_transactions_leave_no_trace(calls: list[tuple[list[Any], bool]]) -> None:
    store = Store()
    store.add_index("pos.order.line", "order_id")
    for operations, fails in calls:
        before = _state(store)
        try:
            with store.transaction():
                for action, record_id, value in operations:
                    _apply(store, action, record_id, value)
                if fails:
                    raise _Abort
        except _Abort:
            assert _state(store) == before
        _check_index(store)


def test_savepoint_rolls_back_only_its_part() -> None:
    store = Store()
    table = store.table("res.partner")
    with store.transaction():
        table[1] = {"id": 1, "name": "kept"}
        with store.savepoint() as rollback:
            table[1]["name"] = "undone"
            table[2] = {"id": 2, "name": "undone too"}
            rollback()
        assert _names(store) == {1: "kept"}
        with pytest.raises(_Abort), store.transaction():
            table[1]["name"] = "joined the outer transaction"
            raise _Abort
    # the nested block joined the outer transaction, which committed what came before
    assert _names(store) == {1: "joined the outer transaction"}


def _names(store: Store) -> dict[int, str]:
    return {i: r["name"] for i, r in store.table("res.partner").items()}
