"""The estate's store agents as OS processes (``--scale-out``), each ``storelink agent run``.

Each agent is the real command a store runs, with its own SQLite file and POS
API port; its line to the hub goes through a
:class:`~storelink.sandbox.proxy.CuttableLine` (the ``link_down`` fault), and
``kill_agent`` SIGKILLs it while its tills post — the till retries with the same
transaction uuid until the restarted agent answers, and everything the agent
acknowledged before the kill is on its disk (promise 1). The sandbox reads each
agent's state straight from its database file, as ``storelink agent status`` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

from storelink.edge import find_product, hub_responses, read_status
from storelink.edge.database import connect
from storelink.model import utcnow
from storelink.ops import async_client, get_logger
from storelink.sandbox.agents import HttpPos, StoreCredentials
from storelink.sandbox.links import Link
from storelink.sandbox.live import StoreView
from storelink.sandbox.processes import Child, free_port
from storelink.sandbox.proxy import CuttableLine
from storelink.sandbox.statuses import StatusCounts

log = get_logger("storelink.sandbox.agents")


class AgentProcess:
    """One store's agent process, its line to the hub and its tills' client."""

    def __init__(
        self, code: str, child: Child, line: CuttableLine, pos: HttpPos, database: Path
    ) -> None:
        self.code = code
        self.child = child
        self.line = line
        self.pos = pos
        self.database = database
        self._read: sqlite3.Connection | None = None

    def read(self) -> sqlite3.Connection:
        if self._read is None:
            self._read = connect(self.database)
        return self._read

    def close(self) -> None:
        if self._read is not None:
            self._read.close()


class AgentProcesses:
    """All agent processes of a run; open with :meth:`open`."""

    def __init__(self, agents: Mapping[str, AgentProcess], tills: StatusCounts, seed: int) -> None:
        self.agents = dict(agents)
        #: what the agents' POS APIs answered the tills
        self.statuses = tills
        self._rng = random.Random(seed ^ 0xA6E7)
        self._restarting: set[asyncio.Task[None]] = set()

    @property
    def pos(self) -> dict[str, HttpPos]:
        return {code: agent.pos for code, agent in self.agents.items()}

    @property
    def links(self) -> dict[str, Link]:
        return {code: agent.line.link for code, agent in self.agents.items()}

    @property
    def kills(self) -> int:
        return sum(agent.child.kills for agent in self.agents.values())

    def set_link(self, store: str, up: bool) -> None:
        self.agents[store].line.set_up(up)

    def hub_answers(self) -> list[dict[str, int]]:
        """What the hub answered each agent, by status, from the agents' own databases."""
        return [hub_responses(agent.read()) for agent in self.agents.values()]

    async def kill(self, store: str | None, pause_s: float) -> str:
        """SIGKILL one store's agent (``store``, or one drawn at random); it restarts after
        ``pause_s`` in the background. Returns which store."""
        alive = sorted(code for code, agent in self.agents.items() if agent.child.running)
        if not alive:
            return ""
        victim = store if store in alive else self._rng.choice(alive)
        await self.agents[victim].child.kill()
        log.info("sandbox.agent_killed", store=victim, restart_in_s=pause_s)
        task = asyncio.create_task(self._restart_later(victim, pause_s))
        self._restarting.add(task)
        task.add_done_callback(self._restarting.discard)
        return victim

    async def _restart_later(self, store: str, pause_s: float) -> None:
        await asyncio.sleep(pause_s)
        await self.agents[store].child.start()

    async def settle(self) -> None:
        """Wait until every killed agent is back."""
        while self._restarting:
            await asyncio.gather(*self._restarting)

    def views(self) -> list[StoreView]:
        now = utcnow()
        views = []
        for code, agent in sorted(self.agents.items()):
            status = read_status(agent.read(), code, now)
            views.append(
                StoreView(
                    code=code,
                    online=agent.line.link.up and status.online and agent.child.running,
                    queue_depth=status.queue_depth,
                    sync_lag_s=status.oldest_unsent_age_s or 0.0,
                )
            )
        return views

    def catalog(
        self, skus: list[str]
    ) -> tuple[dict[str, dict[str, Decimal]], dict[str, dict[str, Decimal]]]:
        now = utcnow()
        stock: dict[str, dict[str, Decimal]] = {}
        prices: dict[str, dict[str, Decimal]] = {}
        for code, agent in self.agents.items():
            stock[code], prices[code] = {}, {}
            for sku in skus:
                view = find_product(agent.read(), now, sku=sku)
                if view is None:
                    continue
                stock[code][sku] = view.available
                if view.price is not None:
                    prices[code][sku] = view.price.amount
        return stock, prices

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        codes: list[str],
        *,
        hub_port: int,
        credentials: Mapping[str, StoreCredentials],
        data_dir: Path,
        download_interval_s: float,
        seed: int,
    ) -> AsyncIterator[AgentProcesses]:
        tills = StatusCounts()
        agents: dict[str, AgentProcess] = {}
        clients = []
        running: AgentProcesses | None = None
        try:
            for code in codes:
                line = await CuttableLine(Link(code), "127.0.0.1", hub_port).start()
                port = free_port()
                database = data_dir / f"agent-{code}.db"
                client = async_client(base_url=f"http://127.0.0.1:{port}", timeout=30.0)
                clients.append(client)
                pos = HttpPos(client, tills)
                argv = [
                    sys.executable,
                    "-m",
                    "storelink.cli",
                    "agent",
                    "run",
                    "--store",
                    code,
                    "--hub",
                    line.url,
                    "--port",
                    str(port),
                    "--database",
                    str(database),
                ]
                env = {
                    "STORELINK_AGENT__CLIENT_ID": credentials[code].client_id,
                    "STORELINK_AGENT__CLIENT_SECRET": credentials[code].client_secret,
                    "STORELINK_AGENT__UPLOAD_INTERVAL_S": "0.5",
                    "STORELINK_AGENT__DOWNLOAD_INTERVAL_S": str(download_interval_s),
                    "STORELINK_AGENT__HUB_TIMEOUT_S": "10",
                    "STORELINK_AGENT__BACKOFF_BASE_S": "0.2",
                    "STORELINK_AGENT__BACKOFF_CAP_S": "2",
                    "STORELINK_OBSERVABILITY__LOG_LEVEL": "error",
                }
                child = Child(
                    f"agent {code}",
                    argv,
                    env=env,
                    ready=pos.healthy,
                    log=data_dir / f"agent-{code}.log",
                )
                agents[code] = AgentProcess(code, child, line, pos, database)
            # start them all at once: each takes a second of imports, the machine has cores
            await asyncio.gather(*(agent.child.start() for agent in agents.values()))
            running = cls(agents, tills, seed)
            yield running
        finally:
            if running is not None:
                for task in list(running._restarting):
                    task.cancel()
                await asyncio.gather(*running._restarting, return_exceptions=True)
            await asyncio.gather(
                *(agent.child.stop() for agent in agents.values()), return_exceptions=True
            )
            for agent in agents.values():
                agent.close()
                await agent.line.aclose()
            for client in clients:
                with contextlib.suppress(Exception):
                    await client.aclose()
