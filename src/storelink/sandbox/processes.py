"""Child OS processes of a scale-out run: started, SIGKILLed, started again.

A :class:`Child` is one long-running program (a hub worker, a store agent, the
bus server). :meth:`Child.kill` is a real ``SIGKILL`` — no handler runs, nothing
is flushed — and :meth:`Child.start` launches the same command line again, so a
restarted process finds exactly what the killed one left on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from storelink.errors import SandboxError

#: how long a child may take to answer its readiness probe
START_TIMEOUT_S = 60.0


def free_port() -> int:
    """A loopback port free right now (for a child that binds its own listening socket)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Child:
    """One restartable child process; ``ready`` probes that it serves."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        ready: Callable[[], Awaitable[bool]],
        log: Path | None = None,
        pass_fds: Sequence[int] = (),
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = {**os.environ, **(env or {})}
        self.ready = ready
        self.log = log
        self.pass_fds = tuple(pass_fds)
        self.starts = 0
        self.kills = 0
        self._process: asyncio.subprocess.Process | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running and self._process is not None else None

    async def start(self, *, wait: bool = True) -> None:
        """Launch the command; with ``wait``, return once ``ready`` answers True."""
        # a log file opened for the child to inherit: a quick local open, not I/O worth a thread
        output = open(self.log, "ab") if self.log is not None else None  # noqa: SIM115, ASYNC230
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self.argv,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output or asyncio.subprocess.DEVNULL,
                stderr=output or asyncio.subprocess.DEVNULL,
                pass_fds=self.pass_fds,
                # its own process group: a Ctrl-C at the terminal reaches the sandbox alone,
                # which then stops its children in order
                start_new_session=True,
            )
        finally:
            if output is not None:
                output.close()
        self.starts += 1
        if wait:
            await self.wait_ready()

    async def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> None:
        try:
            async with asyncio.timeout(timeout_s):
                while not await self.ready():
                    if not self.running:
                        raise SandboxError(
                            f"{self.name} exited with {self._returncode()} while starting"
                            + (f" (log: {self.log})" if self.log else ""),
                            process=self.name,
                        )
                    await asyncio.sleep(0.05)
        except TimeoutError as exc:
            raise SandboxError(
                f"{self.name} did not become ready within {timeout_s:.0f} s", process=self.name
            ) from exc

    def _returncode(self) -> int | None:
        return self._process.returncode if self._process is not None else None

    async def kill(self) -> None:
        """SIGKILL, then reap; nothing of the process's own shutdown runs."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGKILL)
        await process.wait()
        self.kills += 1

    async def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM and wait (SIGKILL after ``timeout_s``): the orderly end of a run."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            async with asyncio.timeout(timeout_s):
                await process.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
