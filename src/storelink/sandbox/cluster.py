"""The hub of a scale-out run: ``--hub-workers N`` OS processes on PostgreSQL and NATS.

Every worker is a full hub (:mod:`storelink.sandbox.hub_worker`) accepting on
one listening socket the sandbox holds, so agents and the channel keep one hub
address while workers die and come back. Each worker reaches Odoo through its
own :class:`~storelink.sandbox.proxy.CuttableLine`: ``odoo_down`` cuts them all,
``odoo_partition`` one. ``kill_worker`` is a real SIGKILL mid-whatever-it-was-doing;
the leases the worker held run out and the others take its work over.

The sandbox itself watches the hub the way an operator would: through the
shared database and the event log (its own connections to both).
"""

from __future__ import annotations

import asyncio
import random
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from pydantic import HttpUrl
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.bus import EventLog, open_event_log
from storelink.config import Settings
from storelink.db import create_engine
from storelink.errors import SandboxError
from storelink.ops import get_logger
from storelink.sandbox.hub_worker import settings_document
from storelink.sandbox.links import Link
from storelink.sandbox.processes import Child
from storelink.sandbox.proxy import CuttableLine

log = get_logger("storelink.sandbox.cluster")


class HubCluster:
    """N hub worker processes behind one socket; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        *,
        workers: int,
        listen_socket: socket.socket,
        data_dir: Path,
        seed: int,
    ) -> None:
        if settings.odoo.url is None:
            raise SandboxError("a scale-out hub needs an Odoo URL")
        self.settings = settings
        self.listen_socket = listen_socket
        self.data_dir = data_dir
        self.url = f"http://127.0.0.1:{listen_socket.getsockname()[1]}"
        self.restarts = 0
        self._count = workers
        self._rng = random.Random(seed ^ 0xC1A5)
        self._lines: list[CuttableLine] = []
        self._children: list[Child] = []
        self._restarting: set[asyncio.Task[None]] = set()
        self._odoo_up = True
        self._engine: AsyncEngine | None = None
        self._log: EventLog | None = None

    # -- what the estate run reads ---------------------------------------------------------

    @property
    def up(self) -> bool:
        return any(child.running for child in self._children)

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise SandboxError("the hub cluster is not started")
        return self._engine

    @property
    def event_log(self) -> EventLog:
        if self._log is None:
            raise SandboxError("the hub cluster is not started")
        return self._log

    @property
    def kills(self) -> int:
        return sum(child.kills for child in self._children)

    @property
    def odoo_round_trips(self) -> int | None:
        return None  # counted inside each worker; not summed across processes

    @property
    def capture_failing(self) -> dict[str, str]:
        return {}

    @property
    def breaker(self) -> str:
        return "n/a"

    # -- life ----------------------------------------------------------------------------

    async def start(self) -> HubCluster:
        assert self.settings.odoo.url is not None
        odoo = self.settings.odoo.url
        self._engine = create_engine(self.settings.effective_database_url)
        self._log = await open_event_log(self.settings, self._engine)
        for n in range(self._count):
            line = await CuttableLine(
                Link(f"worker-{n}"), odoo.host or "127.0.0.1", odoo.port or 80
            ).start()
            self._lines.append(line)
            settings = self.settings.model_copy(
                update={"odoo": self.settings.odoo.model_copy(update={"url": HttpUrl(line.url)})}
            )
            document = self.data_dir / f"hub-worker-{n}.json"
            document.write_text(settings_document(settings), encoding="utf-8")
            ready = self.data_dir / f"hub-worker-{n}.ready"
            fd = self.listen_socket.fileno()
            child = Child(
                f"hub worker {n}",
                [
                    sys.executable,
                    "-m",
                    "storelink.sandbox.hub_worker",
                    str(document),
                    str(ready),
                    str(fd),
                ],
                env={"STORELINK_WORKER_ID": f"sandbox-worker-{n}"},
                ready=_file_exists(ready),
                log=self.data_dir / f"hub-worker-{n}.log",
                pass_fds=(fd,),
            )
            self._children.append(child)
        # the first worker migrates the database; the others start once it serves
        await self._start(0)
        await asyncio.gather(*(self._start(n) for n in range(1, self._count)))
        return self

    async def _start(self, n: int) -> None:
        (self.data_dir / f"hub-worker-{n}.ready").unlink(missing_ok=True)
        await self._children[n].start()

    async def kill_worker(self, worker: int | None, pause_s: float) -> int:
        """SIGKILL one running worker (``worker``, or one drawn at random); it comes back
        after ``pause_s`` in the background. Returns which."""
        alive = [n for n, child in enumerate(self._children) if child.running]
        if not alive:
            # every worker is down already: the next one back is the victim (each scheduled
            # kill is a real kill, not skipped)
            await self._one_back()
            alive = [n for n, child in enumerate(self._children) if child.running]
        victim = worker if worker is not None and worker in alive else self._rng.choice(alive)
        await self._children[victim].kill()
        log.info("sandbox.worker_killed", worker=victim, restart_in_s=pause_s)
        task = asyncio.create_task(self._restart_later(victim, pause_s))
        self._restarting.add(task)
        task.add_done_callback(self._restarting.discard)
        return victim

    async def _restart_later(self, n: int, pause_s: float) -> None:
        await asyncio.sleep(pause_s)
        await self._start(n)

    async def _one_back(self) -> None:
        while not any(child.running for child in self._children) and self._restarting:
            await asyncio.wait(self._restarting, return_when=asyncio.FIRST_COMPLETED)

    async def restart(self) -> None:
        """Every worker stopped (SIGTERM, in order) and started again (``hub_restart``)."""
        await self.settle()
        await asyncio.gather(*(child.stop() for child in self._children))
        self.restarts += 1
        await asyncio.gather(*(self._start(n) for n in range(self._count)))

    async def settle(self) -> None:
        """Wait until every killed worker is back."""
        while self._restarting:
            await asyncio.gather(*self._restarting)

    def set_odoo(self, up: bool) -> None:
        self._odoo_up = up
        for line in self._lines:
            line.set_up(up)

    def partition(self, worker: int | None, up: bool) -> int:
        """Cut (or mend) one worker's line to Odoo; returns which."""
        victim = worker if worker is not None else self._rng.randrange(self._count)
        self._lines[victim % self._count].set_up(up and self._odoo_up)
        return victim

    async def aclose(self) -> None:
        for task in list(self._restarting):
            task.cancel()
        await asyncio.gather(*self._restarting, return_exceptions=True)
        await asyncio.gather(*(child.stop() for child in self._children))
        for line in self._lines:
            await line.aclose()
        if self._log is not None:
            await self._log.close()
        if self._engine is not None:
            await self._engine.dispose()


def _file_exists(path: Path) -> Callable[[], Awaitable[bool]]:
    """A readiness probe: the worker writes ``path`` once it serves (the shared socket
    cannot tell which worker answered an HTTP probe)."""

    async def ready() -> bool:
        return await asyncio.to_thread(path.exists)

    return ready
