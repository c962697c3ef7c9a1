"""Keeping N worker processes running on one listening socket (``hub serve --workers N``).

The :class:`Supervisor` binds nothing itself: it is handed a listening socket and
passes it to every child (``pass_fds``), which accepts on it. Whichever children
are alive share the connections (each accepts when it is free), and the port
stays bound and listening while a child restarts: connections wait in the
socket's backlog instead of being refused, a dead child's unaccepted connections
are taken by the others, and no other program can take the port in between.
(``SO_REUSEPORT``, the alternative, gives each child its own queue: the kernel
spreads connections more evenly, but the connections queued on a child that
dies are reset, and any process of the same user may bind the port beside it.)

What it guarantees:

* every child is started with ``STORELINK_WORKER_ID=<host>:<supervisor pid>:<index>``
  (:data:`storelink.ops.identity.ENV`): distinct among the children of one
  supervisor, and the same for a restarted child as for the one it replaces;
* a child that exits (crash, ``kill -9``, anything but the supervisor stopping) is
  started again after a pause that doubles while it keeps dying young
  (:data:`RESTART_MIN_S` up to :data:`RESTART_MAX_S`), each exit logged;
* on stop (SIGTERM/SIGINT to the supervisor, see
  :func:`~storelink.ops.signals.stop_on_signals`) every child gets SIGTERM and is
  waited for, up to ``stop_grace_s``, then SIGKILLed: :meth:`Supervisor.run` returns
  only when no child is left.

What it does not: a supervisor killed with SIGKILL cannot stop its children; each
child watches for that with :func:`stop_when_orphaned` and stops by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from storelink.ops.identity import ENV
from storelink.ops.logging import get_logger

#: the first pause before a dead child is started again
RESTART_MIN_S = 0.5
#: the longest pause, reached while a child keeps dying young
RESTART_MAX_S = 10.0
#: a child that ran this long before dying gets the shortest pause again
STABLE_AFTER_S = 30.0
#: how long stopping children may take before they are SIGKILLed
STOP_GRACE_S = 30.0
#: how often a child looks whether its supervisor is still there
ORPHAN_CHECK_S = 0.5

log = get_logger("storelink.supervisor")


def child_worker_id(index: int, *, supervisor_pid: int | None = None) -> str:
    """The worker id of child ``index``: ``<host>:<supervisor pid>:<index>``."""
    return f"{socket.gethostname()}:{supervisor_pid or os.getpid()}:{index}"


def describe_exit(returncode: int) -> str:
    """``exited with 1`` / ``was killed by SIGKILL``."""
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-returncode).name}"
        return f"was killed by signal {-returncode}"
    return f"exited with {returncode}"


@dataclass
class Child:
    """One slot of the supervisor and the process currently filling it."""

    index: int
    worker_id: str
    process: asyncio.subprocess.Process | None = None
    starts: int = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None


@dataclass
class Supervisor:
    """Runs ``command`` ``workers`` times, each child accepting on ``listen_socket``.

    ``command(fd)`` builds a child's command line given the socket's file descriptor;
    ``say`` gets one human line per start and exit (the CLI prints them).
    """

    command: Callable[[int], Sequence[str]]
    workers: int
    listen_socket: socket.socket
    say: Callable[[str], None] = lambda line: None
    stop_grace_s: float = STOP_GRACE_S
    children: list[Child] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.children = [Child(n, child_worker_id(n)) for n in range(self.workers)]

    async def run(self, stop: asyncio.Event) -> None:
        """Keep every child running until ``stop`` is set; then stop them all and return."""
        async with asyncio.TaskGroup() as group:
            for child in self.children:
                group.create_task(self._keep(child, stop))

    async def _keep(self, child: Child, stop: asyncio.Event) -> None:
        pause = RESTART_MIN_S
        while not stop.is_set():
            started = time.monotonic()
            process = await self._start(child)
            stopping = asyncio.ensure_future(stop.wait())
            exited = asyncio.ensure_future(process.wait())
            await asyncio.wait({stopping, exited}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not exited.done():
                await self._stop(child, process, exited)
                return
            if time.monotonic() - started >= STABLE_AFTER_S:
                pause = RESTART_MIN_S
            how = describe_exit(process.returncode or 0)
            self.say(
                f"hub worker {child.index} (pid {process.pid}) {how}; restarting in {pause:g} s"
            )
            log.warning(
                "supervisor.child_exited",
                worker=child.worker_id,
                pid=process.pid,
                returncode=process.returncode,
                restart_in_s=pause,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=pause)
            pause = min(pause * 2, RESTART_MAX_S)

    async def _start(self, child: Child) -> asyncio.subprocess.Process:
        fd = self.listen_socket.fileno()
        process = await asyncio.create_subprocess_exec(
            *self.command(fd),
            env={**os.environ, ENV: child.worker_id},
            pass_fds=(fd,),
        )
        child.process, child.starts = process, child.starts + 1
        self.say(f"hub worker {child.index} started: pid {process.pid}, id {child.worker_id}")
        log.info("supervisor.child_started", worker=child.worker_id, pid=process.pid)
        return process

    async def _stop(
        self, child: Child, process: asyncio.subprocess.Process, exited: asyncio.Future[int]
    ) -> None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(exited), timeout=self.stop_grace_s)
        except TimeoutError:
            log.warning("supervisor.child_killed", worker=child.worker_id, pid=process.pid)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await exited
            how = f"did not stop within {self.stop_grace_s:g} s: killed"
        else:
            how = "stopped"
        self.say(f"hub worker {child.index} (pid {process.pid}) {how}")


async def stop_when_orphaned(supervisor_pid: int, stop: asyncio.Event) -> None:
    """Set ``stop`` once this process's parent is no longer ``supervisor_pid`` (the
    supervisor died without stopping its children: they must not serve on unsupervised)."""
    while not stop.is_set():
        if os.getppid() != supervisor_pid:
            log.warning("supervisor.gone", supervisor_pid=supervisor_pid)
            stop.set()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=ORPHAN_CHECK_S)
