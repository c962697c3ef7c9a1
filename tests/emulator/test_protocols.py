"""Odoo emulator: the three protocols and their real answer and error shapes, over HTTP."""

from __future__ import annotations

import asyncio
import xmlrpc.client

import pytest

from storelink.emulator import API_KEY, OdooEmulator
from tests.emulator.support import (
    DB,
    Odoo,
    RpcError,
    odoo,
    running,
    storable,
)

__all__ = ["odoo"]


async def test_version_over_jsonrpc_and_xmlrpc(odoo: Odoo) -> None:
    version = odoo.emulator.version
    expected = {
        "server_version": f"{version}.0",
        "server_version_info": [version, 0, 0, "final", 0, ""],
        "server_serie": f"{version}.0",
        "protocol_version": 1,
    }
    assert await odoo.jsonrpc("common", "version") == expected
    assert await odoo.xmlrpc("common", "version") == expected


async def test_authenticate_by_password_or_api_key(odoo: Odoo) -> None:
    assert await odoo.jsonrpc("common", "authenticate", DB, "admin", "admin", {}) == 2
    assert await odoo.jsonrpc("common", "authenticate", DB, "admin", API_KEY, {}) == 2
    assert await odoo.jsonrpc("common", "login", DB, "admin", "admin") == 2
    assert await odoo.jsonrpc("common", "authenticate", DB, "admin", "wrong", {}) is False
    assert await odoo.xmlrpc("common", "authenticate", DB, "admin", "wrong", {}) is False
    # the API key stands in for the password on execute_kw too
    partners = await odoo.execute("res.partner", "search", [], password=API_KEY)
    assert partners


async def test_unknown_database_is_a_psycopg2_operational_error(odoo: Odoo) -> None:
    with pytest.raises(RpcError) as caught:
        await odoo.jsonrpc("common", "authenticate", "nope", "admin", "admin", {})
    assert caught.value.name == "psycopg2.OperationalError"
    assert 'database "nope" does not exist' in caught.value.message


async def test_wrong_password_on_execute_kw_is_access_denied(odoo: Odoo) -> None:
    with pytest.raises(RpcError) as caught:
        await odoo.execute("res.partner", "search", [], password="wrong")
    error = caught.value.error
    assert error["code"] == 200 and error["message"] == "Odoo Server Error"
    assert error["data"]["name"] == "odoo.exceptions.AccessDenied"
    assert error["data"]["message"] == "Access Denied"
    assert "Traceback" in error["data"]["debug"]
    with pytest.raises(xmlrpc.client.Fault) as fault:
        await odoo.xmlrpc("object", "execute_kw", DB, 2, "wrong", "res.partner", "search", [[]])
    assert (fault.value.faultCode, fault.value.faultString) == (3, "Access Denied")


async def test_access_error_names_the_groups(odoo: Odoo) -> None:
    uid = odoo.emulator.add_user("clerk", "pw", ["base.group_user"])
    with pytest.raises(RpcError) as caught:
        await odoo.execute("stock.quant", "search_read", [], uid=uid, password="pw")
    assert caught.value.name == "odoo.exceptions.AccessError"
    assert "You are not allowed to access 'Quants' (stock.quant) records." in caught.value.message
    assert "Inventory / User" in caught.value.message

    def as_clerk() -> None:
        proxy = xmlrpc.client.ServerProxy(f"{odoo.url}/xmlrpc/2/object")
        proxy.execute_kw(DB, uid, "pw", "stock.quant", "search", [[]])

    with pytest.raises(xmlrpc.client.Fault) as fault:
        await asyncio.to_thread(as_clerk)
    assert fault.value.faultCode == 4
    assert "(stock.quant)" in fault.value.faultString


async def test_user_errors_and_programming_errors(odoo: Odoo) -> None:
    with pytest.raises(RpcError) as caught:
        await odoo.execute("no.such.model", "search", [])
    assert caught.value.name == "odoo.exceptions.UserError"
    assert caught.value.message == "Object no.such.model doesn't exist"
    with pytest.raises(xmlrpc.client.Fault) as fault:
        await odoo.xexecute("no.such.model", "search", [])
    assert fault.value.faultCode == 2

    with pytest.raises(RpcError) as caught:
        await odoo.execute("res.partner", "no_such_method")
    assert caught.value.name == "builtins.AttributeError"
    with pytest.raises(xmlrpc.client.Fault) as fault:
        await odoo.xexecute("res.partner", "no_such_method")
    # anything that is not a UserError travels as code 1 with the traceback
    assert fault.value.faultCode == 1
    assert "Traceback" in fault.value.faultString and "AttributeError" in fault.value.faultString

    with pytest.raises(RpcError) as caught:
        await odoo.execute("res.partner", "create", [{"no_such_field": 1}])
    assert caught.value.name == "builtins.ValueError"
    assert "Invalid field 'no_such_field' on model 'res.partner'" in caught.value.message


async def test_private_methods_are_refused(odoo: Odoo) -> None:
    with pytest.raises(RpcError) as caught:
        await odoo.execute("ir.model.data", "_xmlid_lookup", "base.main_company")
    assert caught.value.name == "odoo.exceptions.AccessError"
    assert "cannot be called remotely" in caught.value.message


async def test_create_returns_an_id_for_a_dict_and_ids_for_a_list(odoo: Odoo) -> None:
    single = await odoo.execute("res.partner", "create", {"name": "One"})
    many = await odoo.execute("res.partner", "create", [{"name": "Two"}, {"name": "Three"}])
    assert isinstance(single, int)
    assert isinstance(many, list) and len(many) == 2 and single not in many
    names = await odoo.execute("res.partner", "read", [single, *many], ["name"])
    assert [n["name"] for n in names] == ["One", "Two", "Three"]


async def test_xmlrpc_cannot_marshal_none_but_the_effect_is_committed(odoo: Odoo) -> None:
    version = odoo.emulator.version
    product = await odoo.xexecute(
        "product.product", "create", [{"name": "Mug", "default_code": "MUG", **storable(version)}]
    )
    stock = (await odoo.xexecute("stock.warehouse", "read", [1], ["lot_stock_id"]))[0]
    location = stock["lot_stock_id"][0]
    context = {"inventory_mode": True}
    quant = await odoo.xexecute(
        "stock.quant",
        "create",
        {"product_id": product[0], "location_id": location, "inventory_quantity": 7},
        context=context,
    )
    with pytest.raises(xmlrpc.client.Fault) as fault:
        await odoo.xexecute("stock.quant", "action_apply_inventory", [quant], context=context)
    assert fault.value.faultCode == 1
    assert "cannot marshal None unless allow_none is enabled" in fault.value.faultString
    applied = await odoo.xexecute("stock.quant", "read", [quant], ["quantity"])
    assert applied[0]["quantity"] == 7.0
    # over JSON-RPC the same None is just null
    await odoo.execute("stock.quant", "write", [quant], {"inventory_quantity": 9}, context=context)
    assert (
        await odoo.execute("stock.quant", "action_apply_inventory", [quant], context=context)
        is None
    )


async def test_json2_on_19() -> None:
    async for served in running(OdooEmulator(version="19")):
        response = await served.json2(
            "res.partner", "search_read", domain=[["id", "=", 1]], fields=["name"]
        )
        assert response.status_code == 200
        assert response.json() == [{"id": 1, "name": "My Company"}]

        created = await served.json2("res.partner", "create", vals_list=[{"name": "J2"}])
        assert created.status_code == 200 and isinstance(created.json(), list)
        (partner,) = created.json()
        written = await served.json2("res.partner", "write", ids=[partner], vals={"city": "Lyon"})
        assert written.status_code == 200 and written.json() is True
        read = await served.json2("res.partner", "read", ids=[partner], fields=["city"])
        assert read.json() == [{"id": partner, "city": "Lyon"}]

        bad_key = await served.json2("res.partner", "search", key="nope", domain=[])
        assert bad_key.status_code == 401
        assert bad_key.json()["name"] == "werkzeug.exceptions.Unauthorized"

        unknown = await served.json2("no.model", "search", domain=[])
        assert unknown.status_code == 404
        assert unknown.json()["name"] == "werkzeug.exceptions.NotFound"

        with_ids = await served.json2("res.partner", "search", ids=[1], domain=[])
        assert with_ids.status_code == 422

        unbound = await served.json2("res.partner", "search", nonsense=1)
        assert unbound.status_code == 422

        missing = await served.json2("res.partner", "write", ids=[99999], vals={"name": "x"})
        assert missing.status_code == 404
        assert missing.json()["name"] == "odoo.exceptions.MissingError"

        served.emulator.add_user("viewer", "pw", ["base.group_user"], api_key="viewer-key")
        denied = await served.json2("stock.quant", "search", key="viewer-key", domain=[])
        assert denied.status_code == 403
        assert denied.json()["name"] == "odoo.exceptions.AccessError"

        invalid = await served.json2("res.partner", "create", vals_list=[{"nope": 1}])
        assert invalid.status_code == 500

        # the legacy endpoints still answer on 19
        assert (await served.jsonrpc("common", "version"))["server_version"] == "19.0"


async def test_json2_is_absent_before_19() -> None:
    async for served in running(OdooEmulator(version="18")):
        response = await served.json2("res.partner", "search", domain=[])
        assert response.status_code == 404


async def test_historical_xmlrpc_endpoint_uses_string_fault_codes(odoo: Odoo) -> None:
    def call(*args: object) -> object:
        proxy = xmlrpc.client.ServerProxy(f"{odoo.url}/xmlrpc/object")
        return proxy.execute_kw(*args)

    assert await asyncio.to_thread(
        call, DB, 2, "admin", "res.partner", "search", [[["id", "=", 1]]]
    ) == [1]
    with pytest.raises(xmlrpc.client.Fault) as fault:
        await asyncio.to_thread(
            call, DB, 2, "admin", "res.partner", "write", [[99999], {"name": "x"}]
        )
    assert str(fault.value.faultCode).startswith("warning -- MissingError\n\n")
    with pytest.raises(xmlrpc.client.Fault) as fault:
        await asyncio.to_thread(call, DB, 2, "wrong", "res.partner", "search", [[]])
    assert (fault.value.faultCode, fault.value.faultString) == ("AccessDenied", "Access Denied")
