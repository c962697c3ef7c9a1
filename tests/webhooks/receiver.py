"""Real HTTP receivers on 127.0.0.1 (uvicorn) for webhook tests.

Every request is verified with the official ``standardwebhooks`` package against
the secrets the test says the receiver knows — never with storelink's own code.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

#: (status, headers) a receiver answers a hit with; None hangs until the client gives up
Answer = tuple[int, dict[str, str]] | None


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float
    #: per secret: whether standardwebhooks verified the request with it
    verified: dict[str, bool]
    #: the client's (address, port): one per TCP connection
    client: tuple[str, int] | None = None

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    """An ASGI app recording hits; ``answer(path, hit_index) -> Answer`` decides the response."""

    secrets: dict[str, list[str]] = field(default_factory=dict)
    answer: Callable[[str, int], Answer] = lambda path, index: (200, {})
    hits: list[Hit] = field(default_factory=list)
    port: int = 0
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def on(self, path: str) -> list[Hit]:
        return [hit for hit in self.hits if hit.path == path]

    async def wait_for(self, predicate: Callable[[], bool], within_s: float = 10.0) -> None:
        async with asyncio.timeout(within_s):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        path = scope["path"]
        verified: dict[str, bool] = {}
        for secret in self.secrets.get(path, []):
            try:
                Webhook(secret).verify(body, headers)
                verified[secret] = True
            except WebhookVerificationError:
                verified[secret] = False
        index = len(self.on(path))
        client = scope.get("client")
        self.hits.append(
            Hit(path, headers, body, time.time(), verified, tuple(client) if client else None)
        )
        self._changed.set()
        answer = self.answer(path, index)
        if answer is None:  # hang until the client gives up and disconnects
            while (await receive())["type"] != "http.disconnect":
                pass
            return
        status, extra = answer
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in extra.items()],
            }
        )
        await send({"type": "http.response.body", "body": b"ok" if status < 300 else b"nope"})


class Overlap:
    """Wraps a receiver's ASGI app, recording how many requests per path overlap."""

    def __init__(self, receiver: Receiver, *, answer_after_s: float = 0.01) -> None:
        self.receiver = receiver
        self.answer_after_s = answer_after_s
        self.in_flight: Counter[str] = Counter()
        self.most: Counter[str] = Counter()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        self.in_flight[path] += 1
        self.most[path] = max(self.most[path], self.in_flight[path])
        try:
            await asyncio.sleep(self.answer_after_s)  # a receiver that takes a moment
            await self.receiver(scope, receive, send)
        finally:
            self.in_flight[path] -= 1


@contextlib.asynccontextmanager
async def listen(app: Any, **options: Any) -> AsyncIterator[int]:
    """Serve the ASGI ``app`` with uvicorn on a free loopback port in this event loop
    (``options`` go to :class:`uvicorn.Config`, e.g. ``ssl_certfile``)."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="off",
        access_log=False,
        **options,
    )
    server = uvicorn.Server(config)
    # bound before serving: clients that connect early wait in the listen backlog
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        server.force_exit = True
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            async with asyncio.timeout(5):
                await task
        if not task.done():
            task.cancel()


@contextlib.asynccontextmanager
async def serve(receiver: Receiver, **options: Any) -> AsyncIterator[Receiver]:
    """Run ``receiver`` on a free loopback port (``options`` as for :func:`listen`)."""
    async with listen(receiver, **options) as port:
        receiver.port = port
        yield receiver
