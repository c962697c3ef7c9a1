"""Idempotency-Key on every ``POST /v1/…`` (ASGI middleware, so every part's routes get it).

Routes idempotent by their content declare it (``openapi_extra={IDEMPOTENT_BY: …}``)
and are left alone.

The first request with a key claims it by inserting ``(client, key)`` in state
``in_progress`` — the primary key makes concurrent duplicates lose the race and
get 409, so one effect happens. A 2xx answer is stored and replayed for the same
key and body within ``api.idempotency_ttl_s`` (same status, headers and body,
plus ``Idempotent-Replayed: true``); the same key with another body or path is
422. Any other answer releases the key, so a corrected request may reuse it:
4xx changed nothing and 5xx is worth retrying.

Stored answer bodies are sealed with the vault key (AES-GCM, bound to the
client and key): they can hold what must not sit in clear, such as a new API
client's or webhook endpoint's secret, shown once, or a customer's details.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from datetime import timedelta

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import HTTPBearer
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import Headers
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from storelink.api.principal import Principal
from storelink.api.problems import TYPE_BASE, problem_response
from storelink.api.state import HubState
from storelink.api.tables import api_idempotency
from storelink.errors import AuthenticationError

HEADER = "Idempotency-Key"
#: ``openapi_extra`` key of a POST route that is idempotent by its content (a store upload,
#: keyed by transaction uuid): it needs no key, and storing its answers would only add two
#: write transactions per request
IDEMPOTENT_BY = "x-storelink-idempotent-by"
MAX_KEY_LENGTH = 255
IN_PROGRESS, DONE = "in_progress", "done"
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


class IdempotencyMiddleware:
    """Stores first responses of POSTs under their Idempotency-Key; see the module doc."""

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
        self._routes = routes
        self._post_paths: list[re.Pattern[str]] | None = None

    def _is_post_route(self, path: str) -> bool:
        # other methods and unknown paths are answered by the router (405/404), not here;
        # nor are routes that authenticate callers some other way (signed webhooks), as
        # the OpenAPI document says: only bearer-secured POSTs need a key
        if self._post_paths is None:
            self._post_paths = [
                context.original_route.path_regex
                for context in iter_route_contexts(self._routes())
                if isinstance(context.original_route, APIRoute)
                and "POST" in (context.original_route.methods or set())
                and _bearer_secured(context.original_route.dependant)
                and IDEMPOTENT_BY not in (context.original_route.openapi_extra or {})
            ]
        return any(pattern.match(path) for pattern in self._post_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not path.startswith("/v1/")
            or path in self.exempt
            or not self._is_post_route(path)
        ):
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
        fingerprint = _fingerprint(scope, body)
        outcome = await self._claim(principal.client_id, key, fingerprint)
        if outcome is not None:
            await _send_stored(outcome, scope, receive, send)
            return
        await self._run(scope, body, send, principal.client_id, key)

    async def _principal(self, headers: Headers) -> Principal | None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            return await self.hub.tokens.verify(token)
        except AuthenticationError:
            return None

    async def _claim(self, client_id: str, key: str, fingerprint: str) -> _Stored | None:
        """None when this request now owns the key; else what to answer instead."""
        for _ in range(2):
            now = self.hub.clock()
            try:
                async with self.hub.engine.begin() as connection:
                    await connection.execute(
                        insert(api_idempotency).values(
                            client_id=client_id,
                            key=key,
                            fingerprint=fingerprint,
                            state=IN_PROGRESS,
                            created_at=now,
                        )
                    )
                return None
            except IntegrityError:
                pass
            where = (api_idempotency.c.client_id == client_id) & (api_idempotency.c.key == key)
            async with self.hub.engine.begin() as connection:
                row = (await connection.execute(select(api_idempotency).where(where))).first()
                if row is None:
                    continue  # released meanwhile: claim again
                ttl = timedelta(seconds=self.hub.settings.api.idempotency_ttl_s)
                if row.created_at + ttl <= now:
                    await connection.execute(
                        delete(api_idempotency).where(
                            where & (api_idempotency.c.created_at == row.created_at)
                        )
                    )
                    continue
            if row.fingerprint != fingerprint:
                return _Stored.problem(
                    422,
                    "Idempotency-Key reused",
                    f"{HEADER} {key!r} was first used with a different request",
                    "idempotency-key-reused",
                )
            if row.state != DONE:
                return _Stored.problem(
                    409,
                    "Request in progress",
                    f"a request with {HEADER} {key!r} is still being processed; retry later",
                    "idempotency-key-in-progress",
                    retry_after=True,
                )
            return _Stored(
                status=int(row.status_code),
                headers=[
                    (k.encode("latin-1"), v.encode("latin-1")) for k, v in json.loads(row.headers)
                ]
                + [(b"idempotent-replayed", b"true")],
                body=self.hub.cipher.open(bytes(row.body), _record(client_id, key))
                if row.body
                else b"",
            )
        return _Stored.problem(
            409,
            "Request in progress",
            f"{HEADER} {key!r} is contended; retry later",
            "idempotency-key-in-progress",
            retry_after=True,
        )

    async def _run(self, scope: Scope, body: bytes, send: Send, client_id: str, key: str) -> None:
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

        where = (api_idempotency.c.client_id == client_id) & (api_idempotency.c.key == key)
        try:
            await self.app(scope, replay_receive, capture)
        except BaseException:
            async with self.hub.engine.begin() as connection:
                await connection.execute(delete(api_idempotency).where(where))
            raise
        async with self.hub.engine.begin() as connection:
            if 200 <= status < 300:
                await connection.execute(
                    update(api_idempotency)
                    .where(where)
                    .values(
                        state=DONE,
                        status_code=status,
                        headers=json.dumps(
                            [[k.decode("latin-1"), v.decode("latin-1")] for k, v in kept]
                        ),
                        body=self.hub.cipher.seal(b"".join(chunks), _record(client_id, key)),
                    )
                )
            else:
                await connection.execute(delete(api_idempotency).where(where))


class _Stored:
    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @classmethod
    def problem(
        cls, status: int, title: str, detail: str, slug: str, *, retry_after: bool = False
    ) -> _Stored:
        response = problem_response(
            status,
            title,
            detail=detail,
            type_=TYPE_BASE + slug,
            headers={"Retry-After": "1"} if retry_after else None,
        )
        return cls(status, list(response.raw_headers), bytes(response.body))


async def _send_stored(stored: _Stored, scope: Scope, receive: Receive, send: Send) -> None:
    headers = [(k, v) for k, v in stored.headers if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(stored.body)).encode()))
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body, "more_body": False})


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


def _record(client_id: str, key: str) -> str:
    # a sealed answer opens only as the answer of this client's key
    return f"api_idempotency:{client_id}:{key}"


def _fingerprint(scope: Scope, body: bytes) -> str:
    digest = hashlib.sha256()
    digest.update(scope["path"].encode())
    digest.update(b"?" + scope.get("query_string", b""))
    digest.update(b"\n" + body)
    return digest.hexdigest()
