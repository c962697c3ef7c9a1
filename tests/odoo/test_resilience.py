"""Retry classification and the circuit breaker, driven by a controllable clock."""

from __future__ import annotations

import httpx2
import pytest

from storelink.errors import CircuitOpenError, OdooTransportError, OdooUserError
from storelink.odoo.backend import Credentials, Endpoint
from storelink.odoo.backends import JsonRpcBackend
from storelink.odoo.breaker import CircuitBreaker, CircuitState
from storelink.odoo.client import OdooClient
from storelink.odoo.retry import RetryPolicy
from storelink.odoo.versions import Dialect
from storelink.ops.metrics import REGISTRY


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Script:
    """A fake Odoo answering from a list of outcomes, counting requests."""

    def __init__(self, outcomes: list[str]) -> None:
        self.outcomes = outcomes
        self.requests = 0

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests += 1
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        if outcome == "503":
            return httpx2.Response(503, text="Service Unavailable")
        if outcome == "user":
            return httpx2.Response(
                200,
                json={
                    "jsonrpc": "2.0",
                    "id": 1,
                    "error": {
                        "code": 200,
                        "message": "Odoo Server Error",
                        "data": {"name": "odoo.exceptions.UserError", "message": "No stock"},
                    },
                },
            )
        return httpx2.Response(200, json={"jsonrpc": "2.0", "id": 1, "result": [1]})


async def no_sleep(_: float) -> None:
    return None


def client_for(script: Script, breaker: CircuitBreaker, attempts: int = 4) -> OdooClient:
    backend = JsonRpcBackend(Endpoint("http://odoo", transport=httpx2.MockTransport(script)))
    # as if logged in: the client under test starts after authentication
    backend._credentials, backend._uid = Credentials("db", "admin", "pw"), 2
    return OdooClient(
        backend,
        Dialect("17"),
        2,
        retry=RetryPolicy(attempts=attempts, sleep=no_sleep),
        breaker=breaker,
    )


async def test_transient_failures_are_retried_until_success() -> None:
    script = Script(["503", "503", "ok"])
    client = client_for(script, CircuitBreaker("t-retry", threshold=10))
    assert await client.call("res.partner", "search", domain=[]) == [1]
    assert script.requests == 3
    assert client.round_trips == 3


async def test_business_errors_are_never_retried() -> None:
    script = Script(["user", "ok"])
    client = client_for(script, CircuitBreaker("t-business", threshold=10))
    with pytest.raises(OdooUserError, match="No stock"):
        await client.call("stock.picking", "button_validate", [1])
    assert script.requests == 1


async def test_retries_give_up_after_the_last_attempt() -> None:
    script = Script(["503"] * 10)
    client = client_for(script, CircuitBreaker("t-give-up", threshold=100), attempts=3)
    with pytest.raises(OdooTransportError):
        await client.call("res.partner", "search", domain=[])
    assert script.requests == 3


async def test_non_idempotent_calls_are_not_retried() -> None:
    script = Script(["503", "ok"])
    client = client_for(script, CircuitBreaker("t-once", threshold=100))
    with pytest.raises(OdooTransportError):
        await client.call("sale.order", "create", retry=False, vals_list=[{}])
    assert script.requests == 1


def gauge(target: str) -> float | None:
    return REGISTRY.get_sample_value("storelink_odoo_circuit_state", {"target": target})


async def test_breaker_opens_half_opens_and_closes() -> None:
    clock = Clock()
    breaker = CircuitBreaker("t-breaker", threshold=3, reset_s=30, clock=clock)
    script = Script(["503"] * 3)
    client = client_for(script, breaker, attempts=1)
    for _ in range(3):
        with pytest.raises(OdooTransportError):
            await client.call("res.partner", "search", domain=[])
    assert breaker.state is CircuitState.OPEN
    assert gauge("t-breaker") == CircuitState.OPEN

    # open: Odoo is not called at all
    with pytest.raises(CircuitOpenError):
        await client.call("res.partner", "search", domain=[])
    assert script.requests == 3

    clock.now += 30
    assert breaker.state is CircuitState.HALF_OPEN
    assert gauge("t-breaker") == CircuitState.HALF_OPEN
    assert await client.call("res.partner", "search", domain=[]) == [1]
    assert breaker.state is CircuitState.CLOSED
    assert gauge("t-breaker") == CircuitState.CLOSED


async def test_a_failed_trial_reopens_the_breaker() -> None:
    clock = Clock()
    breaker = CircuitBreaker("t-trial", threshold=1, reset_s=10, clock=clock)
    script = Script(["503", "503"])
    client = client_for(script, breaker, attempts=1)
    with pytest.raises(OdooTransportError):
        await client.call("res.partner", "search", domain=[])
    clock.now += 10
    with pytest.raises(OdooTransportError):
        await client.call("res.partner", "search", domain=[])
    assert breaker.state is CircuitState.OPEN
    clock.now += 5
    with pytest.raises(CircuitOpenError):
        await client.call("res.partner", "search", domain=[])
    assert script.requests == 2


async def test_business_errors_do_not_open_the_breaker() -> None:
    breaker = CircuitBreaker("t-user", threshold=2)
    client = client_for(Script(["user"] * 5), breaker, attempts=1)
    for _ in range(5):
        with pytest.raises(OdooUserError):
            await client.call("stock.picking", "button_validate", [1])
    assert breaker.state is CircuitState.CLOSED


def test_backoff_is_jittered_and_capped() -> None:
    policy = RetryPolicy(base_s=1.0, cap_s=4.0)
    delays = [policy.delay(attempt) for attempt in range(10) for _ in range(20)]
    assert all(0 <= d <= 4.0 for d in delays)
    assert len({round(d, 6) for d in delays}) > 100
