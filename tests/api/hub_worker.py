"""A hub worker process for the kill -9 tests: the hub API on a shared database, with a hold.

    python tests/api/hub_worker.py PORT MARKER before|after

Settings come from the environment (``STORELINK_*``). A POST holds ``before`` its
route runs, or ``after`` the route committed its effect (its answer kept from the
client); either way it writes MARKER and waits there, its Idempotency-Key claim
renewed by the middleware, until the process is SIGKILLed.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import uvicorn
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from storelink.api import create_app
from storelink.config import Settings


class Hold:
    """Innermost middleware: stops a POST for good at the chosen moment."""

    def __init__(self, app: ASGIApp, marker: Path, when: str) -> None:
        self.app = app
        self.marker = marker
        self.when = when

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if self.when == "after":

            async def kept(_message: Message) -> None:
                pass  # the answer never reaches the client

            await self.app(scope, receive, kept)
        self.marker.write_text(self.when)
        await asyncio.Event().wait()


def main() -> None:
    port, marker, when = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    app = create_app(Settings(), migrate=False)
    # the end of the list is innermost: inside the idempotency middleware, around the routes
    app.user_middleware.append(Middleware(Hold, marker=marker, when=when))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
