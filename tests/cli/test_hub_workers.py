"""``storelink hub serve --workers N``: N hub processes on one port, supervised.

The first test runs the real command on a fresh PostgreSQL database and NATS
prefix: both workers answer on the one port (each names itself in the
``Storelink-Worker`` header), a SIGKILLed worker is restarted while the other
keeps answering, and SIGTERM stops them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import pytest

from storelink.bus.backends.nats import NatsEventLog
from storelink.cli import main
from storelink.config.sections import BusSettings
from storelink.ops.serving import WORKER_HEADER, bind
from tests.services import free_port

STARTED = re.compile(r"hub worker (\d+) started: pid (\d+), id (\S+)")
WITHIN_S = 60.0


@dataclass
class Supervised:
    """The ``hub serve --workers`` process and what it printed so far."""

    process: asyncio.subprocess.Process
    url: str
    lines: list[str] = field(default_factory=list)
    printed: asyncio.Event = field(default_factory=asyncio.Event)

    async def read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip())
            self.printed.set()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Until ``predicate()`` holds, re-checked whenever a line is printed."""
        async with asyncio.timeout(WITHIN_S):
            while not predicate():
                assert self.process.returncode is None, "\n".join(self.lines)
                self.printed.clear()
                await self.printed.wait()

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def serving(self) -> int:
        """How many worker processes said they serve (restarts included)."""
        return sum(line.startswith("hub serving on ") for line in self.lines)

    def started(self) -> dict[int, tuple[int, str]]:
        """Worker index -> (pid, worker id) of its latest start."""
        found: dict[int, tuple[int, str]] = {}
        for line in self.lines:
            if match := STARTED.search(line):
                found[int(match[1])] = (int(match[2]), match[3])
        return found


async def answering_workers(url: str, wanted: set[str]) -> set[str]:
    """Worker ids seen on fresh connections to ``/healthz`` until all of ``wanted`` answered;
    every request must succeed."""
    seen: set[str] = set()
    deadline = time.monotonic() + WITHIN_S
    while not wanted <= seen:
        assert time.monotonic() < deadline, f"only {seen} answered, wanted {wanted}"
        # a new connection each time: the workers take turns accepting connections
        async with httpx2.AsyncClient(base_url=url, timeout=30) as client:
            response = await client.get("/healthz")
        assert response.status_code == 200, response.text
        seen.add(response.headers[WORKER_HEADER])
    return seen


async def until_gone(pid: int) -> None:
    deadline = time.monotonic() + WITHIN_S
    while _alive(pid):
        assert time.monotonic() < deadline, f"pid {pid} still running"
        await asyncio.sleep(0.05)  # polling a process we are not the parent of


def _alive(pid: int) -> bool:
    """Running (an exited process its new parent has not reaped yet counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
async def supervised(tmp_path: Path, postgres_url: str, nats_url: str) -> AsyncIterator[Supervised]:
    port = free_port()
    prefix = f"t{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "STORELINK_DATA_DIR": str(tmp_path),
        "STORELINK_DATABASE_URL": postgres_url,
        "STORELINK_BUS_URL": nats_url,
        "STORELINK_BUS__NATS_PREFIX": prefix,
        "STORELINK_API__PORT": str(port),
        "STORELINK_OBSERVABILITY__LOG_LEVEL": "warning",
    }
    env.pop("STORELINK_CONFIG", None)
    env.pop("STORELINK_WORKER_ID", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "storelink.cli", "hub", "serve", "--workers", "2"),
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    hub = Supervised(process, f"http://127.0.0.1:{port}")
    reader = asyncio.create_task(hub.read())
    try:
        yield hub
    finally:
        children = [pid for pid, _ in hub.started().values()]
        if process.returncode is None:
            process.kill()
            await process.wait()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        reader.cancel()
        cleaner = await NatsEventLog.open(nats_url, BusSettings(nats_prefix=prefix))
        await cleaner.delete_all()
        await cleaner.close()


@pytest.mark.postgres
@pytest.mark.nats
async def test_workers_share_the_port_a_killed_one_comes_back_and_sigterm_stops_all(
    supervised: Supervised,
) -> None:
    hub = supervised
    await hub.wait_for(lambda: hub.serving() == 2)
    first = hub.started()
    ids = {worker_id for _, worker_id in first.values()}
    assert len(ids) == 2
    assert all(
        re.fullmatch(rf"{re.escape(socket.gethostname())}:{hub.process.pid}:[01]", i) for i in ids
    )
    await answering_workers(hub.url, ids)  # both children serve the one port

    killed, killed_id = first[0]
    os.kill(killed, signal.SIGKILL)
    await hub.wait_for(lambda: f"hub worker 0 (pid {killed}) was killed by SIGKILL" in hub.text)
    # the other worker keeps the port answering, whatever the restart is doing
    await answering_workers(hub.url, {first[1][1]})
    await hub.wait_for(lambda: hub.started()[0][0] != killed and hub.serving() == 3)
    restarted, same_id = hub.started()[0]
    assert restarted != killed and same_id == killed_id
    await answering_workers(hub.url, ids)  # the new worker 0 serves again

    hub.process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(WITHIN_S):
        assert await hub.process.wait() == 0
    for pid in (restarted, first[1][0]):
        await until_gone(pid)
    # each worker stopped on its own (after SIGTERM), not killed at the end of the grace
    for index, pid in ((0, restarted), (1, first[1][0])):
        assert f"hub worker {index} (pid {pid}) stopped" in hub.lines
    assert hub.lines.count("hub stopped") == 3  # both workers, then the supervisor
    assert hub.lines[-1] == "hub stopped"


def test_workers_on_embedded_storage_is_one_line_naming_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORELINK_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("STORELINK_DATABASE_URL", raising=False)
    monkeypatch.delenv("STORELINK_BUS_URL", raising=False)
    assert main(["hub", "serve", "--workers", "2"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: hub serve --workers 2:")
    assert "database_url is SQLite" in line and "bus_url is the embedded event log" in line
    assert "set database_url to postgresql+psycopg://" in line and "bus_url to nats://" in line
    assert not (tmp_path / "hub.db").exists()  # refused before touching anything

    monkeypatch.setenv("STORELINK_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/x")
    assert main(["hub", "serve", "--workers", "3"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "bus_url is the embedded event log" in line and "SQLite" not in line


def test_a_worker_whose_supervisor_was_killed_stops_by_itself(tmp_path: Path) -> None:
    # a stand-in supervisor: starts one child that watches it, prints its pid, waits
    child = (
        "import asyncio, os\n"
        "from storelink.ops.supervisor import stop_when_orphaned\n"
        "async def main():\n"
        "    stop = asyncio.Event()\n"
        "    await stop_when_orphaned(int(os.environ['PARENT']), stop)\n"
        "asyncio.run(main())\n"
    )
    parent = (
        "import os, subprocess, sys\n"
        f"child = subprocess.Popen([sys.executable, '-c', {child!r}],"
        " env={**os.environ, 'PARENT': str(os.getpid())})\n"
        "print(child.pid, flush=True)\n"
        "child.wait()\n"
    )
    supervisor = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE)
    assert supervisor.stdout is not None
    orphan = int(supervisor.stdout.readline())
    try:
        supervisor.kill()
        supervisor.wait(timeout=10)
        asyncio.run(until_gone(orphan))
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(orphan, signal.SIGKILL)


def test_reuse_port_lets_separate_processes_bind_one_port() -> None:
    first = bind("127.0.0.1", 0, reuse_port=True)
    port = first.getsockname()[1]
    try:
        with pytest.raises(OSError):
            bind("127.0.0.1", port).close()  # without it the port is taken
        second = bind("127.0.0.1", port, reuse_port=True)
        second.close()
    finally:
        first.close()
