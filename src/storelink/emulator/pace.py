"""Answering as slowly as a real Odoo: the measured latency model applied to each call.

With a :class:`~storelink.odoo.latency.LatencyModel` (``storelink odoo emulate
--latency real``), every RPC call takes as long as the real server of that
series took for the same call and size: the emulator does the work, then waits
out the rest of the modelled time. Calls are served ``workers`` at a time
(a real ``--workers 0`` Odoo answers one call at a time), and the wait happens
while holding that turn, so a queue builds up the way it does in front of a
real server. The call and its size are read from the request and the answer
exactly as the measuring side reads them (:func:`storelink.odoo.conformance.transport.decode`
and :func:`storelink.odoo.latency.sized_call`), so both count the same way.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

from storelink.emulator.protocols import Reply
from storelink.odoo.conformance.transport import decode
from storelink.odoo.latency import LatencyModel, call_size, sized_call


class Pace:
    """Holds calls to the modelled time, ``model.workers`` at a time."""

    def __init__(self, model: LatencyModel) -> None:
        self.model = model
        self._turns: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def seconds(self, path: str, body: bytes, reply: Reply) -> float:
        """The modelled time of the call ``body`` sent to ``path`` that got ``reply``."""
        if path.startswith("/json/2/"):
            _, _, _, model, method = path.split("/", 4)
            try:
                params = json.loads(body or b"{}")
                result = json.loads(reply.body or b"null")
            except ValueError:
                return self.model.default.seconds(1)
            size = call_size(method, [], result, params if isinstance(params, dict) else {})
            return self.model.seconds(f"{model}.{method}", size)
        return self.model.seconds(*sized_call(decode(path, body, reply.status, reply.body)))

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._turns is None or self._loop is not loop:
            self._turns, self._loop = asyncio.Semaphore(self.model.workers), loop
        return self._turns

    async def answer(self, work: Callable[[], Reply], path: str, body: bytes) -> Reply:
        """Run ``work`` in its turn and hold the answer until the modelled time has passed."""
        async with self._semaphore():
            started = time.perf_counter()
            reply = work()
            remaining = self.seconds(path, body, reply) - (time.perf_counter() - started)
            if remaining > 0:
                await asyncio.sleep(remaining)
        return reply
