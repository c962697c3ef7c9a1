"""The ASGI middleware that puts an Idempotency-Key on every bearer-secured ``POST /v1/…``.

See :mod:`storelink.api.idempotency` for what it guarantees.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Sequence

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import HTTPBearer
from starlette.datastructures import Headers
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from storelink.api.idempotency.claims import DONE, UNKNOWN, Answer, Claim, Claims, Record
from storelink.api.idempotency.takeover import Replay, Rerun, resolve
from storelink.api.principal import Principal
from storelink.api.problems import TYPE_BASE, problem_response
from storelink.api.state import HubState
from storelink.errors import AuthenticationError
from storelink.ops.logging import get_logger

HEADER = "Idempotency-Key"
#: ``openapi_extra`` key of a POST route that is idempotent by its content (a store upload,
#: keyed by transaction uuid): it needs no key, and storing its answers would only add two
#: write transactions per request
IDEMPOTENT_BY = "x-storelink-idempotent-by"
MAX_KEY_LENGTH = 255
#: answer headers that describe this exchange, not the stored outcome
_NOT_REPLAYED = frozenset(
    {
        b"content-length",
        b"x-correlation-id",
        b"traceparent",
        b"ratelimit-limit",
        b"ratelimit-remaining",
        b"ratelimit-reset",
        b"date",
        b"server",
    }
)

_log = get_logger("storelink.api.idempotency")


def fingerprint(path: str, query: bytes, body: bytes) -> str:
    """What makes two requests under one key the same request."""
    digest = hashlib.sha256()
    digest.update(path.encode())
    digest.update(b"?" + query)
    digest.update(b"\n" + body)
    return digest.hexdigest()


class IdempotencyMiddleware:
    """Runs each keyed POST once and keeps its first 2xx answer; see the package docstring."""

    def __init__(
        self,
        app: ASGIApp,
        hub: HubState,
        exempt: frozenset[str],
        routes: Callable[[], Sequence[BaseRoute]],
    ) -> None:
        self.app = app
        self.hub = hub
        self.exempt = exempt
        self.claims = Claims(hub)
        self._routes = routes
        self._post_routes: list[tuple[re.Pattern[str], APIRoute]] | None = None

    def _post_route(self, path: str) -> APIRoute | None:
        # other methods and unknown paths are answered by the router (405/404), not here;
        # nor are routes that authenticate callers some other way (signed webhooks), as
        # the OpenAPI document says: only bearer-secured POSTs need a key
        if self._post_routes is None:
            self._post_routes = [
                (route.path_regex, route)
                for context in iter_route_contexts(self._routes())
                if isinstance(route := context.original_route, APIRoute)
                and "POST" in (route.methods or set())
                and _bearer_secured(route.dependant)
                and IDEMPOTENT_BY not in (route.openapi_extra or {})
            ]
        return next((route for regex, route in self._post_routes if regex.match(path)), None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        route = (
            self._post_route(path)
            if scope["type"] == "http"
            and scope["method"] == "POST"
            and path.startswith("/v1/")
            and path not in self.exempt
            else None
        )
        if route is None:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        principal = await self._principal(headers)
        if principal is None:  # the route answers 401 itself
            await self.app(scope, receive, send)
            return
        key = headers.get(HEADER)
        if not key or len(key) > MAX_KEY_LENGTH:
            response = problem_response(
                400,
                "Idempotency-Key required",
                detail=f"every POST needs an {HEADER} header of 1..{MAX_KEY_LENGTH} characters",
                type_=TYPE_BASE + "idempotency-key-missing",
                instance=path,
                field_errors=[{"parameter": HEADER, "in": "header", "detail": "required"}],
            )
            await response(scope, receive, send)
            return
        body = await _read_body(receive)
        request = fingerprint(path, scope.get("query_string", b""), body)
        found = await self.claims.claim(principal.client_id, key, request)
        outcome = (
            found
            if isinstance(found, Claim)
            else await self._settle(found, key, request, route, principal, body)
        )
        if isinstance(outcome, Claim):
            await self._run(outcome, scope, body, send)
        else:
            await _send_answer(outcome, send)

    async def _principal(self, headers: Headers) -> Principal | None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            return await self.hub.tokens.verify(token)
        except AuthenticationError:
            return None

    async def _settle(
        self,
        record: Record | None,
        key: str,
        request: str,
        route: APIRoute,
        principal: Principal,
        body: bytes,
    ) -> Claim | Answer:
        """What to do about a key another request holds: a claim taken over, or an answer."""
        if record is None:
            return _in_progress(key, 1)
        if record.fingerprint != request:
            return Answer.problem(
                422,
                "Idempotency-Key reused",
                f"{HEADER} {key!r} was first used with a different request",
                "idempotency-key-reused",
            )
        now = self.hub.clock()
        if record.state == DONE and record.answer is not None:
            return record.answer.replayed()
        if record.state == UNKNOWN:
            return _outcome_unknown(key)
        left_s = record.lease_left_s(now)
        if left_s > 0:
            return _in_progress(key, max(1, math.ceil(left_s)))
        claim = await self.claims.take_over(record)
        if claim is None:  # renewed after all, or another resend took it over first
            return _in_progress(key, 1)
        resolution = await resolve(route, self.hub, principal, body)
        if isinstance(resolution, Rerun):
            return claim
        if isinstance(resolution, Replay):
            await self.claims.finish(claim, resolution.answer)
            return resolution.answer.replayed()
        await self.claims.give_up(claim)
        return _outcome_unknown(key)

    async def _run(self, claim: Claim, scope: Scope, body: bytes, send: Send) -> None:
        delivered = False

        async def replay_receive() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        status = 0
        kept: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                kept.extend(
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in _NOT_REPLAYED
                )
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            async with self.claims.renewing(claim):
                await self.app(scope, replay_receive, capture)
        except BaseException:
            await self.claims.release(claim)
            raise
        if not 200 <= status < 300:
            await self.claims.release(claim)
        elif not await self.claims.finish(claim, Answer(status, kept, b"".join(chunks))):
            _log.warning(
                "an Idempotency-Key claim was taken over while its request ran; "
                "its answer is not kept",
                client_id=claim.client_id,
            )


def _in_progress(key: str, retry_after_s: int) -> Answer:
    return Answer.problem(
        409,
        "Request in progress",
        f"a request with {HEADER} {key!r} is still being processed; retry after the given seconds",
        "idempotency-key-in-progress",
        retry_after_s=retry_after_s,
    )


def _outcome_unknown(key: str) -> Answer:
    return Answer.problem(
        409,
        "Outcome unknown",
        f"the first request with {HEADER} {key!r} was cut off when the hub worker running it "
        "stopped, and whether it took effect cannot be known. Check whether it did (read back "
        "or list what it would have created); if it did not, send it again with a new "
        f"{HEADER}. This key keeps this answer until it expires.",
        "idempotency-outcome-unknown",
    )


async def _send_answer(answer: Answer, send: Send) -> None:
    headers = [(k, v) for k, v in answer.headers if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(answer.body)).encode()))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body, "more_body": False})


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _bearer_secured(dependant: Dependant) -> bool:
    return any(
        isinstance(sub.call, HTTPBearer) or _bearer_secured(sub) for sub in dependant.dependencies
    )
