"""One hub worker process of a scale-out sandbox run.

``python -m storelink.sandbox.hub_worker SETTINGS READY FD`` runs a full
:class:`~storelink.hub.Hub` (API and background workers) with the settings in
the JSON file ``SETTINGS``, serving on the inherited listening socket ``FD``:
every worker of the run accepts on that one socket, which the sandbox holds
open, so the hub's address stays the same whichever workers are alive (as with
``storelink hub serve --workers N``). ``READY`` is written once the worker
serves. ``STORELINK_WORKER_ID`` names the worker to its leases.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from storelink.config import Settings


def settings_document(settings: Settings) -> str:
    """``settings`` as JSON a worker can load, secrets included (the file stays in the run's
    private data directory)."""

    def reveal(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        return str(value)

    return json.dumps(settings.model_dump(mode="python"), default=reveal)


def load_settings_document(path: Path) -> Settings:
    return Settings(**json.loads(path.read_text(encoding="utf-8")))


async def _serve(settings: Settings, ready: Path, fd: int) -> None:
    from storelink.hub import Hub
    from storelink.ops import stop_on_signals

    listener = socket.socket(fileno=fd)
    stop = stop_on_signals()
    async with Hub(settings, listen_socket=listener) as hub:
        await asyncio.to_thread(ready.write_text, hub.url, encoding="utf-8")
        await hub.run(stop)


def main(argv: list[str]) -> int:
    from storelink.ops import configure_logging

    settings_path, ready, fd = Path(argv[0]), Path(argv[1]), int(argv[2])
    settings = load_settings_document(settings_path)
    configure_logging(settings.observability)
    asyncio.run(_serve(settings, ready, fd))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
