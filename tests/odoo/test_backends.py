"""Each protocol through the transport seam: wire format, error shapes, classification."""

from __future__ import annotations

import json
import xmlrpc.client
from typing import Any

import httpx2
import pytest

from storelink.errors import (
    OdooAccessError,
    OdooAuthenticationError,
    OdooBusinessError,
    OdooConcurrencyError,
    OdooMissingError,
    OdooTransportError,
    OdooUserError,
    OdooValidationError,
)
from storelink.odoo.backend import Call, Credentials, Endpoint
from storelink.odoo.backends import Json2Backend, JsonRpcBackend, XmlRpcBackend

CREDENTIALS = Credentials("storelink", "admin", "secret")


def jsonrpc_error(name: str, message: str) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "error": {
            "code": 200,
            "message": "Odoo Server Error",
            "data": {"name": name, "message": message, "arguments": [message], "debug": ""},
        },
    }


async def test_jsonrpc_sends_execute_kw_with_ids_as_first_argument() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        seen.append(body)
        assert request.url.path == "/jsonrpc"
        if body["params"]["method"] == "authenticate":
            return httpx2.Response(200, json={"jsonrpc": "2.0", "id": 1, "result": 7})
        return httpx2.Response(200, json={"jsonrpc": "2.0", "id": 2, "result": True})

    backend = JsonRpcBackend(Endpoint("http://odoo", transport=httpx2.MockTransport(handler)))
    assert await backend.authenticate(CREDENTIALS) == 7
    result = await backend.execute(
        Call("sale.order", "action_confirm", (3, 4), context={"lang": "en_US"})
    )
    await backend.aclose()
    assert result is True
    args = seen[1]["params"]["args"]
    assert seen[1]["params"]["service"] == "object"
    assert args[:5] == ["storelink", 7, "secret", "sale.order", "action_confirm"]
    assert args[5] == [[3, 4]]
    assert args[6] == {"context": {"lang": "en_US"}}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("odoo.exceptions.UserError", OdooUserError),
        ("odoo.exceptions.ValidationError", OdooValidationError),
        ("odoo.exceptions.AccessError", OdooAccessError),
        ("odoo.exceptions.MissingError", OdooMissingError),
        ("psycopg2.errors.SerializationFailure", OdooConcurrencyError),
    ],
)
async def test_jsonrpc_errors_are_classified_with_odoos_message(
    name: str, expected: type[Exception]
) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        if body["params"]["method"] == "authenticate":
            return httpx2.Response(200, json={"jsonrpc": "2.0", "id": 1, "result": 2})
        return httpx2.Response(200, json=jsonrpc_error(name, "the reason Odoo gives"))

    backend = JsonRpcBackend(Endpoint("http://odoo", transport=httpx2.MockTransport(handler)))
    await backend.authenticate(CREDENTIALS)
    with pytest.raises(expected) as caught:
        await backend.execute(Call("res.partner", "write", (1,), {"vals": {}}))
    await backend.aclose()
    assert "the reason Odoo gives" in str(caught.value)
    assert caught.value.context["model"] == "res.partner"  # type: ignore[attr-defined]


async def test_jsonrpc_refused_login_is_an_authentication_error() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json={"jsonrpc": "2.0", "id": 1, "result": False})

    backend = JsonRpcBackend(Endpoint("http://odoo", transport=httpx2.MockTransport(handler)))
    with pytest.raises(OdooAuthenticationError, match="refused login 'admin'"):
        await backend.authenticate(CREDENTIALS)
    await backend.aclose()


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_gateway_statuses_are_transport_errors(status: int) -> None:
    backend = JsonRpcBackend(
        Endpoint("http://odoo", transport=httpx2.MockTransport(lambda r: httpx2.Response(status)))
    )
    with pytest.raises(OdooTransportError) as caught:
        await backend.version()
    await backend.aclose()
    assert caught.value.retryable


async def test_connection_refused_is_a_transport_error() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    backend = XmlRpcBackend(Endpoint("http://odoo", transport=httpx2.MockTransport(handler)))
    with pytest.raises(OdooTransportError, match="cannot reach Odoo"):
        await backend.version()
    await backend.aclose()


def xml_answer(value: Any) -> httpx2.Response:
    return httpx2.Response(200, content=xmlrpc.client.dumps((value,), methodresponse=True))


def xml_fault(code: int, text: str) -> httpx2.Response:
    return httpx2.Response(200, content=xmlrpc.client.dumps(xmlrpc.client.Fault(code, text)))


async def test_xmlrpc_round_trip_and_none_fault() -> None:
    calls: list[tuple[Any, ...]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        params, method = xmlrpc.client.loads(request.content)
        calls.append((request.url.path, method, params))
        if method == "authenticate":
            return xml_answer(5)
        if params[4] == "action_apply_inventory":
            return xml_fault(1, "cannot marshal None unless allow_none is enabled")
        return xml_answer([{"id": 1, "name": "Desk"}])

    backend = XmlRpcBackend(Endpoint("http://odoo", transport=httpx2.MockTransport(handler)))
    await backend.authenticate(CREDENTIALS)
    rows = await backend.execute(
        Call("product.product", "search_read", None, {"domain": [], "fields": ["name"]})
    )
    applied = await backend.execute(Call("stock.quant", "action_apply_inventory", (9,)))
    await backend.aclose()
    assert rows == [{"id": 1, "name": "Desk"}]
    assert applied is None
    assert calls[0][0] == "/xmlrpc/2/common"
    assert calls[1][0] == "/xmlrpc/2/object"
    assert calls[1][2][5:] == ([], {"domain": [], "fields": ["name"]})


@pytest.mark.parametrize(
    ("code", "text", "expected"),
    [
        (4, "You are not allowed to modify this document", OdooAccessError),
        (2, "Record does not exist or has been deleted.", OdooMissingError),
        (
            1,
            "Traceback (most recent call last):\n  ...\n"
            "psycopg2.errors.SerializationFailure: could not serialize access",
            OdooConcurrencyError,
        ),
        (2, "You can not delete a sent quotation or a confirmed sales order.", OdooUserError),
        (2, "The quantity must be positive", OdooUserError),
        (
            1,
            "Traceback (most recent call last):\n  ...\n"
            "ValueError: Invalid field res.partner.no_such_field in leaf",
            OdooBusinessError,
        ),
    ],
)
async def test_xmlrpc_faults_are_classified(code: int, text: str, expected: type) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        _, method = xmlrpc.client.loads(request.content)
        return xml_answer(5) if method == "authenticate" else xml_fault(code, text)

    backend = XmlRpcBackend(Endpoint("http://odoo", transport=httpx2.MockTransport(handler)))
    await backend.authenticate(CREDENTIALS)
    with pytest.raises(expected) as raised:
        await backend.execute(Call("stock.quant", "write", (1,), {"vals": {}}))
    await backend.aclose()
    assert type(raised.value) is expected


async def test_json2_sends_named_parameters_with_bearer_and_database() -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        if request.url.path == "/json/2/res.users/search_read":
            return httpx2.Response(200, json=[{"id": 2}])
        if request.url.path == "/json/2/sale.order/write":
            return httpx2.Response(
                422,
                json={
                    "name": "odoo.exceptions.ValidationError",
                    "message": "Invalid field 'nope' on model 'sale.order'",
                    "arguments": [],
                    "context": {},
                    "debug": "",
                },
            )
        return httpx2.Response(200, json=[11, 12])

    backend = Json2Backend(Endpoint("http://odoo", transport=httpx2.MockTransport(handler)))
    assert await backend.authenticate(Credentials("shop", "admin", "key-123")) == 2
    ids = await backend.execute(
        Call("res.partner", "create", None, {"vals_list": [{"name": "A"}, {"name": "B"}]})
    )
    with pytest.raises(OdooValidationError, match="Invalid field 'nope'"):
        await backend.execute(Call("sale.order", "write", (1,), {"vals": {"nope": 1}}))
    await backend.aclose()
    assert ids == [11, 12]
    create = seen[1]
    assert create.headers["authorization"] == "bearer key-123"
    assert create.headers["x-odoo-database"] == "shop"
    assert json.loads(create.content) == {"vals_list": [{"name": "A"}, {"name": "B"}]}
    assert json.loads(seen[2].content) == {"vals": {"nope": 1}, "ids": [1]}


async def test_json2_wrong_api_key_is_an_authentication_error() -> None:
    backend = Json2Backend(
        Endpoint(
            "http://odoo",
            transport=httpx2.MockTransport(lambda r: httpx2.Response(401, text="Unauthorized")),
        )
    )
    with pytest.raises(OdooAuthenticationError):
        await backend.authenticate(CREDENTIALS)
    await backend.aclose()


async def test_every_request_carries_a_traceparent_inside_a_span() -> None:
    from storelink.ops import setup_tracing, tracer

    setup_tracing()
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={"jsonrpc": "2.0", "id": 1, "result": {}})

    backend = JsonRpcBackend(Endpoint("http://odoo", transport=httpx2.MockTransport(handler)))
    with tracer("tests.odoo").start_as_current_span("test") as span:
        await backend.version()
    await backend.aclose()
    trace_id = format(span.get_span_context().trace_id, "032x")
    assert seen[0].headers["traceparent"].split("-")[1] == trace_id
