"""Odoo emulator: the generic ORM over JSON-RPC — domains, order, write_date, groups, imports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from storelink.emulator import OdooEmulator
from tests.emulator.support import Odoo, RpcError, odoo, running, storable

__all__ = ["odoo"]

PARTNERS = [
    {"name": "Alice Martin", "city": "Lyon", "email": "alice@example.com", "customer_rank": 3},
    {"name": "Bob Stone", "city": "Paris", "email": False, "customer_rank": 1},
    {"name": "carol martin", "city": "Lyon", "email": "carol@example.org", "customer_rank": 0},
    {"name": "Dan Archived", "city": "Nice", "active": False, "customer_rank": 5},
]


async def _partners(odoo: Odoo) -> dict[str, int]:
    ids = await odoo.execute("res.partner", "create", PARTNERS)
    return {p["name"]: i for p, i in zip(PARTNERS, ids, strict=True)}


async def _names(odoo: Odoo, domain: list[Any], **kwargs: Any) -> list[str]:
    rows = await odoo.execute("res.partner", "search_read", domain, ["name"], **kwargs)
    return [r["name"] for r in rows]


DOMAIN_CASES: list[tuple[list[Any], set[str]]] = [
    ([("city", "=", "Lyon")], {"Alice Martin", "carol martin"}),
    ([("city", "!=", "Lyon"), ("id", ">", 3)], {"Bob Stone"}),
    (["|", ("city", "=", "Paris"), ("name", "ilike", "carol")], {"Bob Stone", "carol martin"}),
    (["!", ("city", "=", "Lyon"), ("id", ">", 3)], {"Bob Stone"}),
    (["&", ("city", "=", "Lyon"), "!", ("name", "like", "Martin")], {"carol martin"}),
    ([("name", "like", "martin")], {"carol martin"}),
    ([("name", "ilike", "martin")], {"Alice Martin", "carol martin"}),
    ([("name", "=like", "A%")], {"Alice Martin"}),
    ([("name", "=ilike", "_arol%")], {"carol martin"}),
    ([("name", "not ilike", "martin"), ("id", ">", 3)], {"Bob Stone"}),
    ([("email", "=", False), ("id", ">", 3)], {"Bob Stone"}),
    ([("email", "!=", False)], {"Alice Martin", "carol martin"}),
    ([("city", "in", ["Paris", "Nice"])], {"Bob Stone"}),
    ([("city", "not in", ["Lyon"]), ("id", ">", 3)], {"Bob Stone"}),
    ([("customer_rank", ">=", 1), ("customer_rank", "<", 3)], {"Bob Stone"}),
    ([("customer_rank", "<=", 0), ("id", ">", 3)], {"carol martin"}),
    ([("active", "=", False)], {"Dan Archived"}),
    (
        ["|", "!", ("city", "=", "Lyon"), ("name", "=", "Alice Martin")],
        {"Alice Martin", "Bob Stone"},
    ),
]


async def test_domains() -> None:
    async for served in running(OdooEmulator(version="17")):
        await _partners(served)
        for domain, expected in DOMAIN_CASES:
            # ids above 3 leave out the seeded partners (company, OdooBot, Administrator)
            found = set(await _names(served, [*domain, ("id", ">", 3)]))
            assert found == expected, f"domain {domain}"


async def test_dotted_paths_child_of_and_active_test(odoo: Odoo) -> None:
    names = await _partners(odoo)
    company = await odoo.execute("res.partner", "create", {"name": "Acme", "is_company": True})
    await odoo.execute("res.partner", "write", [names["Bob Stone"]], {"parent_id": company})
    assert await _names(odoo, [("parent_id.name", "=", "Acme")]) == ["Bob Stone"]
    assert set(await _names(odoo, [("id", "child_of", company)])) == {"Acme", "Bob Stone"}
    # archived records are hidden unless asked for
    assert "Dan Archived" not in await _names(odoo, [])
    everyone = await _names(odoo, [], context={"active_test": False})
    assert "Dan Archived" in everyone
    # the warehouse's stock location is a child of its view location
    warehouse = (await odoo.execute("stock.warehouse", "read", [1], ["view_location_id"]))[0]
    internal = await odoo.execute(
        "stock.location",
        "search_read",
        [("id", "child_of", warehouse["view_location_id"][0]), ("usage", "=", "internal")],
        ["complete_name"],
    )
    assert [r["complete_name"] for r in internal] == ["WH/Stock"]


async def test_order_limit_offset_and_count(odoo: Odoo) -> None:
    await _partners(odoo)
    domain = [("customer_rank", ">", 0)]
    ordered = await _names(odoo, domain, order="customer_rank desc")
    assert ordered == ["Alice Martin", "Bob Stone"]
    assert await _names(odoo, [], order="name asc", limit=2, offset=1) == [
        "Alice Martin",
        "Bob Stone",
    ]
    assert await odoo.execute("res.partner", "search_count", [("city", "=", "Lyon")]) == 2
    with pytest.raises(RpcError):
        await odoo.execute("res.partner", "search", [], order="name; drop table")


async def test_records_can_share_one_write_date_and_paginate_by_write_date_then_id() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    emulator = OdooEmulator(version="16", clock=lambda: moment)
    async for served in running(emulator):
        ids = await served.execute("res.partner", "create", [{"name": f"P{i}"} for i in range(5)])
        rows = await served.execute(
            "res.partner", "read", ids, ["write_date", "create_date", "create_uid"], load=None
        )
        assert {r["write_date"] for r in rows} == {"2026-01-02 03:04:05"}
        assert all(r["create_uid"] == 2 for r in rows)
        # a (write_date, id) cursor walks them without gaps or repeats
        seen: list[int] = []
        cursor = ("2026-01-02 03:04:05", 0)
        while True:
            page = await served.execute(
                "res.partner",
                "search_read",
                [
                    ("name", "=like", "P_"),
                    "|",
                    ("write_date", ">", cursor[0]),
                    "&",
                    ("write_date", "=", cursor[0]),
                    ("id", ">", cursor[1]),
                ],
                ["write_date"],
                order="write_date asc, id asc",
                limit=2,
            )
            if not page:
                break
            seen += [r["id"] for r in page]
            cursor = (page[-1]["write_date"], page[-1]["id"])
        assert seen == ids
        later = moment + timedelta(seconds=3)
        emulator.set_clock(lambda moment=later: moment)
        await served.execute("res.partner", "write", [ids[1]], {"city": "Lyon"})
        changed = await served.execute(
            "res.partner", "search", [("write_date", ">", "2026-01-02 03:04:05")]
        )
        assert changed == [ids[1]]


async def test_read_group_and_formatted_read_group(odoo: Odoo) -> None:
    await _partners(odoo)
    groups = await odoo.execute(
        "res.partner",
        "read_group",
        [("city", "!=", False)],
        ["customer_rank:sum"],
        ["city"],
    )
    by_city = {g["city"]: g for g in groups}
    assert by_city["Lyon"]["city_count"] == 2 and by_city["Lyon"]["customer_rank"] == 3
    assert by_city["Paris"]["customer_rank"] == 1
    assert ["city", "=", "Lyon"] in by_city["Lyon"]["__domain"]
    eager = await odoo.execute(
        "res.partner",
        "read_group",
        [("city", "=", "Lyon")],
        ["customer_rank"],
        ["city"],
        lazy=False,
    )
    assert eager[0]["__count"] == 2
    if odoo.emulator.version >= 19:
        rows = await odoo.execute(
            "res.partner",
            "formatted_read_group",
            [("city", "=", "Lyon")],
            ["city"],
            ["customer_rank:sum", "__count"],
        )
        assert rows == [
            {
                "city": "Lyon",
                "customer_rank:sum": 3,
                "__count": 2,
                "__extra_domain": [["city", "=", "Lyon"]],
            }
        ]
    else:
        with pytest.raises(RpcError):
            await odoo.execute("res.partner", "formatted_read_group", [], ["city"])


async def test_many2one_reads_as_pair_and_fields_get(odoo: Odoo) -> None:
    version = odoo.emulator.version
    rows = await odoo.execute(
        "stock.warehouse", "search_read", [("code", "=", "WH")], ["lot_stock_id"]
    )
    assert rows[0]["lot_stock_id"][1] == "WH/Stock"
    fields = await odoo.execute("product.template", "fields_get", [], ["type", "selection"])
    kinds = {key for key, _ in fields["type"]["selection"]}
    if version <= 17:
        assert kinds == {"consu", "service", "product"} and "detailed_type" in fields
        assert "is_storable" not in fields
    else:
        assert kinds == {"consu", "service", "combo"} and "is_storable" in fields
        assert "detailed_type" not in fields


async def test_version_specific_search_count_and_name_get(odoo: Odoo) -> None:
    await _partners(odoo)
    if odoo.emulator.version == 16:
        assert await odoo.execute("res.partner", "search", [("city", "=", "Lyon")], count=True) == 2
        assert await odoo.execute("res.partner", "name_get", [1]) == [[1, "My Company"]]
    else:
        with pytest.raises(RpcError):
            await odoo.execute("res.partner", "search", [("city", "=", "Lyon")], count=True)
        with pytest.raises(RpcError):
            await odoo.execute("res.partner", "name_get", [1])
    rows = await odoo.execute("res.partner", "read", [1], ["display_name"])
    assert rows == [{"id": 1, "display_name": "My Company"}]


async def test_name_search_matches_code_and_name(odoo: Odoo) -> None:
    await odoo.execute(
        "product.product",
        "create",
        [
            {"name": "Blue Mug", "default_code": "MUG-1"},
            {"name": "Red Cup", "default_code": "CUP-1"},
        ],
    )
    found = await odoo.execute("product.product", "name_search", "mug")
    assert [label for _, label in found] == ["[MUG-1] Blue Mug"]


async def test_unique_constraint_is_a_validation_error(odoo: Odoo) -> None:
    await odoo.execute("product.product", "create", [{"name": "A", "barcode": "123"}])
    with pytest.raises(RpcError) as caught:
        await odoo.execute("product.product", "create", [{"name": "B", "barcode": "123"}])
    assert caught.value.name == "odoo.exceptions.ValidationError"
    # a failed call changes nothing
    assert await odoo.execute("product.product", "search_count", [("name", "=", "B")]) == 0


async def test_load_creates_then_updates_by_external_id(odoo: Odoo) -> None:
    fields = ["id", "name", "default_code", "list_price", "taxes_id/id"]
    tax = await odoo.execute("account.tax", "search", [("name", "=", "15%")])
    await odoo.execute(
        "ir.model.data",
        "create",
        {"module": "storelink", "name": "tax_standard", "model": "account.tax", "res_id": tax[0]},
    )
    rows = [
        ["storelink.sku_1", "Tee", "SKU-1", "10.5", "storelink.tax_standard"],
        ["storelink.sku_2", "Cap", "SKU-2", "4", ""],
    ]
    first = await odoo.execute("product.template", "load", fields, rows)
    assert first["messages"] == [] and len(first["ids"]) == 2
    rows[0][3] = "12"
    again = await odoo.execute("product.template", "load", fields, rows)
    assert again["ids"] == first["ids"]
    assert (
        await odoo.execute("product.template", "search_count", [("default_code", "like", "SKU-")])
        == 2
    )
    tee = await odoo.execute(
        "product.template", "read", [first["ids"][0]], ["list_price", "taxes_id"]
    )
    assert tee[0]["list_price"] == 12.0 and tee[0]["taxes_id"] == tax
    xmlids = await odoo.execute(
        "ir.model.data",
        "search_read",
        [("module", "=", "storelink"), ("model", "=", "product.template")],
        ["name", "res_id"],
        order="name",
    )
    assert [(x["name"], x["res_id"]) for x in xmlids] == [
        ("sku_1", first["ids"][0]),
        ("sku_2", first["ids"][1]),
    ]
    broken = await odoo.execute(
        "product.template", "load", fields, [["storelink.sku_3", "Hat", "SKU-3", "x", ""]]
    )
    assert broken["ids"] is False and broken["messages"][0]["type"] == "error"
    assert (
        await odoo.execute("product.template", "search_count", [("default_code", "=", "SKU-3")])
        == 0
    )


async def test_access_checks_per_version(odoo: Odoo) -> None:
    version = odoo.emulator.version
    uid = odoo.emulator.add_user("clerk", "pw", ["stock.group_stock_user"])
    as_clerk: dict[str, Any] = {"uid": uid, "password": "pw"}
    assert await odoo.execute("stock.quant", "check_access_rights", "read", **as_clerk) is True
    assert (
        await odoo.execute(
            "pos.order", "check_access_rights", "read", raise_exception=False, **as_clerk
        )
        is False
    )
    if version >= 18:
        assert await odoo.execute("stock.quant", "has_access", [], "read", **as_clerk) is True
        assert await odoo.execute("pos.order", "has_access", [], "write", **as_clerk) is False
        with pytest.raises(RpcError) as caught:
            await odoo.execute("pos.order", "check_access", [], "read", **as_clerk)
        assert caught.value.name == "odoo.exceptions.AccessError"
        assert await odoo.execute("res.users", "has_group", [uid], "stock.group_stock_user") is True
        assert (
            await odoo.execute("res.users", "has_group", [uid], "stock.group_stock_manager")
            is False
        )
    else:
        assert (
            await odoo.execute("res.users", "has_group", "stock.group_stock_user", **as_clerk)
            is True
        )
        assert (
            await odoo.execute("res.users", "has_group", "base.group_system", **as_clerk) is False
        )
    odoo.emulator.set_user_groups("clerk", ["base.group_user"])
    with pytest.raises(RpcError) as denied:
        await odoo.execute("stock.quant", "search", [], **as_clerk)
    assert denied.value.name == "odoo.exceptions.AccessError"


async def test_uninstalled_module_models_disappear(odoo: Odoo) -> None:
    states = await odoo.execute(
        "ir.module.module",
        "search_read",
        [("name", "in", ["point_of_sale", "stock", "purchase"])],
        ["name", "state"],
    )
    assert {s["name"]: s["state"] for s in states} == {
        "point_of_sale": "installed",
        "stock": "installed",
        "purchase": "uninstalled",
    }
    odoo.emulator.uninstall_module("point_of_sale")
    installed = await odoo.execute(
        "ir.module.module",
        "search_count",
        [("name", "=", "point_of_sale"), ("state", "=", "installed")],
    )
    assert installed == 0
    with pytest.raises(RpcError) as caught:
        await odoo.execute("pos.order", "search", [])
    assert caught.value.message == "Object pos.order doesn't exist"
    assert await odoo.execute("stock.quant", "search", []) == []


async def test_storable_product_type_per_version(odoo: Odoo) -> None:
    version = odoo.emulator.version
    template = await odoo.execute(
        "product.template", "create", {"name": "Tee", "default_code": "T", **storable(version)}
    )
    variant = await odoo.execute(
        "product.product", "search_read", [("product_tmpl_id", "=", template)], ["type", "name"]
    )
    assert len(variant) == 1 and variant[0]["name"] == "Tee"
    if version <= 17:
        assert variant[0]["type"] == "product"
        with pytest.raises(RpcError):
            await odoo.execute("product.template", "write", [template], {"is_storable": True})
    else:
        assert variant[0]["type"] == "consu"
        with pytest.raises(RpcError) as caught:
            await odoo.execute("product.template", "write", [template], {"type": "product"})
        assert "Wrong value" in caught.value.message


async def test_a_failing_call_changes_nothing(odoo: Odoo) -> None:
    before = len(odoo.emulator.records("res.partner"))
    with pytest.raises(RpcError):
        await odoo.execute("res.partner", "create", [{"name": "Fine"}, {"name": "Bad", "nope": 1}])
    assert len(odoo.emulator.records("res.partner")) == before
    # records() hands out copies: changing them does not touch the database
    copy = odoo.emulator.records("res.partner")[0]
    copy["name"] = "Changed"
    assert odoo.emulator.records("res.partner")[0]["name"] != "Changed"


async def test_write_date_reads_to_the_second_but_compares_exactly() -> None:
    # like PostgreSQL behind Odoo: microseconds are stored, the wire shows seconds
    now = [datetime(2026, 1, 2, 3, 4, 5, 250000, tzinfo=UTC)]
    async for served in running(OdooEmulator(version="17", clock=lambda: now[0])):
        first = await served.execute("res.partner", "create", {"name": "First"})
        now[0] += timedelta(milliseconds=500)
        second = await served.execute("res.partner", "create", {"name": "Second"})
        rows = await served.execute("res.partner", "read", [first, second], ["write_date"])
        assert [r["write_date"] for r in rows] == ["2026-01-02 03:04:05"] * 2
        mine = ("id", "in", [first, second])
        after = await served.execute(
            "res.partner", "search", [("write_date", ">", "2026-01-02 03:04:05"), mine]
        )
        assert after == [first, second]
        exact = await served.execute(
            "res.partner", "search", [("write_date", "=", "2026-01-02 03:04:05"), mine]
        )
        assert exact == []


async def test_in_leaf_picks_candidates_by_value_not_by_scanning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch's ``ref in [...]`` lookup must cost what it finds, not every record held (the
    connector's duplicate check before each POS batch; Odoo answers it from an index)."""
    import storelink.emulator.orm as orm

    checked: list[int] = []
    original = orm.matches

    def counting(term: Any, model: str, record: Any, env: Any) -> bool:
        checked.append(record["id"])
        return original(term, model, record, env)

    async for served in running(OdooEmulator(version="17")):
        await served.execute("res.partner", "create", [{"name": f"P{i}"} for i in range(40)])
        await _partners(served)
        monkeypatch.setattr(orm, "matches", counting)
        found = await _names(
            served, [("city", "in", ["Lyon", "Nice"])], context={"active_test": False}
        )
        assert set(found) == {"Alice Martin", "carol martin", "Dan Archived"}
        assert len(checked) == 3  # only the records holding one of the values were looked at
