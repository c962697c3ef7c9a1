"""Role x route matrix, generated from the app's own routes (nothing hand-listed).

Every ``/v1`` route must carry a :class:`RoleGuard`; each role is then checked
against each route: admitted roles are never refused, the rest get 403, no
token gets 401, and scoped roles asking for another store's or channel's
objects get 404 (never 403, so existence does not leak).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from storelink.api import HubState, Role, RoleGuard, create_app
from storelink.api.oauth import TOKEN_PATH
from storelink.config import Settings
from tests.api.conftest import Minter
from tests.api.seed import SKU, seed_read_model

OWN = {"store": "S001", "channel": "web"}
FOREIGN_STORE, FOREIGN_CHANNEL = "S002", "other"
SCOPED_FOR = {Role.STORE: {"store": "S001"}, Role.CHANNEL: OWN, Role.PARTNER: OWN}


def guard_of(dependant: Dependant) -> RoleGuard | None:
    for sub in dependant.dependencies:
        if isinstance(sub.call, RoleGuard):
            return sub.call
        found = guard_of(sub)
        if found is not None:
            return found
    return None


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    guard: RoleGuard | None
    params: tuple[str, ...]


def all_v1_routes(app: FastAPI) -> list[Case]:
    cases = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.path.startswith("/v1/"):
            continue
        if route.path == TOKEN_PATH:
            continue
        for method in sorted(route.methods):
            params = tuple(re.findall(r"{(\w+)}", route.path))
            cases.append(Case(method, route.path, guard_of(route.dependant), params))
    return cases


def v1_routes(app: FastAPI) -> list[Case]:
    """Routes for bearer-token callers (each must carry a RoleGuard)."""
    return [case for case in all_v1_routes(app) if case.guard is not None]


async def test_unguarded_routes_are_hidden_callbacks_that_refuse_strangers(
    app: FastAPI, client: httpx2.AsyncClient
) -> None:
    # a route without a RoleGuard authenticates its caller some other way (a secret in
    # the path for Odoo's webhooks, a Standard Webhooks signature for partners): it must
    # refuse a caller who has neither
    unguarded = [case for case in all_v1_routes(app) if case.guard is None]
    for case in unguarded:
        answer = await client.request(case.method, fill(case.path, MISSING), json={})
        assert answer.status_code in (401, 403, 404), (case.path, answer.status_code)


@dataclass
class World:
    """Objects owned by the caller's scope and by a foreign one, for each path parameter."""

    own: dict[str, str]
    foreign: dict[str, str]


async def build_world(client: httpx2.AsyncClient, hub: HubState, auth: Minter) -> World:
    await seed_read_model(hub.engine, hub.clock())
    admin = await auth(Role.ADMIN)
    ids: dict[str, dict[str, str]] = {"own": {}, "foreign": {}}
    for side, channel, store in (
        ("own", "web", "S001"),
        ("foreign", FOREIGN_CHANNEL, FOREIGN_STORE),
    ):
        order = await client.post(
            "/v1/orders",
            json={
                "channel": channel,
                "external_ref": f"R-{side}",
                "currency": "EUR",
                "lines": [{"sku": SKU, "quantity": "1", "unit_price": "2.00"}],
            },
            headers={**admin, "Idempotency-Key": f"o-{side}"},
        )
        assert order.status_code == 201, order.text
        ret = await client.post(
            "/v1/returns",
            json={
                "id": str(uuid.uuid4()),
                "store": store,
                "occurred_at": "2026-03-01T10:00:00Z",
                "currency": "EUR",
                "lines": [{"sku": SKU, "quantity": "1", "refund_amount": "2.00"}],
                "refunds": [{"method": "cash", "amount": "2.00"}],
            },
            headers={**admin, "Idempotency-Key": f"r-{side}"},
        )
        assert ret.status_code == 201, ret.text
        customer = await client.post(
            "/v1/customers",
            json={"channel": channel, "name": "Ada Lovelace"},
            headers={**admin, "Idempotency-Key": f"c-{side}"},
        )
        assert customer.status_code == 201, customer.text
        ids[side] = {
            "order_id": order.json()["order"]["id"],
            "return_id": ret.json()["record"]["id"],
            "customer_id": customer.json()["id"],
            "code": store,
            "sku": SKU,
            "barcode": "4006381333931",
            "client_id": "nobody",
            "dataset": "products",
        }
    ids["foreign"]["code"] = FOREIGN_STORE
    return World(own=ids["own"], foreign=ids["foreign"])


#: path values naming nothing that exists
MISSING = {
    "order_id": "ord_missing",
    "return_id": str(uuid.UUID(int=1)),
    "customer_id": "cus_missing",
    "code": "S999",
    "sku": "NOPE",
    "barcode": "00000000",
    "client_id": "nobody",
    "dataset": "products",
}
#: a valid body for write routes whose scope check needs one to be reached
EXAMPLE_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PUT", "/v1/customers/{customer_id}"): {"name": "Grace Hopper"},
}


def fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"{(\w+)}", lambda m: values.get(m.group(1), "X1"), path)


async def call(
    client: httpx2.AsyncClient, case: Case, path: str, headers: dict[str, str]
) -> httpx2.Response:
    extra: dict[str, Any] = {}
    if case.method in ("POST", "PUT", "PATCH"):
        extra["json"] = EXAMPLE_BODIES.get((case.method, case.path), {})
        headers = {**headers, "Idempotency-Key": str(uuid.uuid4())}
    if case.path == "/v1/prices/{sku}":
        path += "?store=S001" if "Authorization" in headers else ""
    return await client.request(case.method, path, headers=headers, **extra)


async def test_route_matrix(
    app: FastAPI, client: httpx2.AsyncClient, hub: HubState, auth: Minter
) -> None:
    world = await build_world(client, hub, auth)
    cases = v1_routes(app)
    assert len(cases) >= 15
    failures: list[str] = []
    for case in cases:
        path = fill(case.path, world.own)
        anonymous = await call(client, case, path, {})
        if anonymous.status_code != 401:
            failures.append(f"{case.method} {case.path} without token -> {anonymous.status_code}")
        for role in Role:
            headers = await auth(role, **SCOPED_FOR.get(role, {}))
            answer = await call(client, case, path, headers)
            assert case.guard is not None
            admitted = role in case.guard.roles
            if not admitted and answer.status_code != 403:
                failures.append(
                    f"{role} {case.method} {case.path} -> {answer.status_code}, want 403"
                )
            if admitted and (answer.status_code in (401, 403) or answer.status_code >= 500):
                failures.append(
                    f"{role} {case.method} {case.path} -> {answer.status_code} {answer.text[:200]}"
                )
            foreign_params = [p for p in case.params if world.foreign.get(p) != world.own.get(p)]
            if admitted and role in SCOPED_FOR and foreign_params:
                foreign = await call(client, case, fill(case.path, world.foreign), headers)
                missing = await call(client, case, fill(case.path, MISSING), headers)
                # another scope's object must look exactly like one that does not exist
                # (a body that fails validation first is a 422 either way)
                want = 404 if case.method in ("GET", "DELETE") else missing.status_code
                if foreign.status_code != want or foreign.status_code == 403:
                    failures.append(
                        f"{role} {case.method} {case.path} foreign {foreign_params} -> "
                        f"{foreign.status_code}, want {want}"
                    )
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", list(Role))
def test_every_role_reaches_something(hub_settings: Settings, role: Role) -> None:
    # least privilege, but no role is useless: each is admitted to at least one route
    app = create_app(hub_settings, migrate=False)
    assert any(case.guard is not None and role in case.guard.roles for case in v1_routes(app))
