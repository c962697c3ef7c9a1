"""The estate's store agents, run in-process, each with its own SQLite and POS API port.

Every agent is a real :class:`~storelink.edge.Agent` (POS API served by
uvicorn, uploader, downloader); only its hub client goes through a
:class:`~storelink.sandbox.links.LinkTransport` so the sandbox can cut its line.
Tills reach an agent over HTTP through :class:`HttpPos`, like a real till.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2

from storelink.edge import (
    Agent,
    AgentConfig,
    HttpHubClient,
    find_product,
    hub_responses,
    read_status,
)
from storelink.errors import SyncError
from storelink.hub import bind
from storelink.model import Return, Sale, utcnow
from storelink.ops import async_client
from storelink.sandbox.links import DuplicateUpload, Link, LinkTransport
from storelink.sandbox.live import StoreView
from storelink.sandbox.statuses import StatusCounts, retry_after_s

#: how long a till keeps resending one request before giving up (the POS API is on the
#: store's LAN; an agent killed mid-run is back within seconds)
TILL_PATIENCE_S = 60.0
#: how long the agents may take to start serving their POS APIs
STARTUP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class StoreCredentials:
    client_id: str
    client_secret: str


class HttpPos:
    """A till's view of its store: the agent's local POS API over HTTP."""

    def __init__(self, client: httpx2.AsyncClient, statuses: StatusCounts | None = None) -> None:
        self._client = client
        #: every answer this till got from its store's agent
        self.statuses = statuses if statuses is not None else StatusCounts()

    async def price(self, sku: str) -> Decimal:
        response = await self._send("GET", f"/v1/products/{sku}")
        if response.status_code != 200:
            raise SyncError(f"price lookup of {sku} answered {response.status_code}", sku=sku)
        price = response.json()["price"]
        if price is None:
            raise SyncError(f"{sku} has no price at this store", sku=sku)
        return Decimal(price["amount"])

    async def healthy(self) -> bool:
        try:
            return (await self._client.get("/healthz")).status_code == 200
        except httpx2.TransportError:
            return False

    async def record_sale(self, sale: Sale) -> bool:
        body = sale.model_dump(mode="json", exclude={"id", "store"})
        body["uuid"] = str(sale.id)
        return (await self._send("POST", "/v1/sales", json=body)).status_code == 201

    async def record_return(self, return_: Return) -> bool:
        body = return_.model_dump(mode="json", exclude={"id", "store"})
        body["uuid"] = str(return_.id)
        return (await self._send("POST", "/v1/returns", json=body)).status_code == 201

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx2.Response:
        """Send until answered, like a till does: a lost answer (a keep-alive connection the
        server just closed, a timeout, an agent process killed and restarting) is retried
        with the same transaction uuid, which the POS API turns into the first answer, never
        a second sale; a 503/429 is retried after the wait its ``Retry-After`` asks for."""
        delay = 0.05
        deadline = asyncio.get_running_loop().time() + TILL_PATIENCE_S
        while True:
            try:
                response = await self._client.request(method, path, **kwargs)
            except httpx2.TransportError:
                self.statuses.failed()
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            self.statuses.saw(response)
            wait = retry_after_s(response)
            if wait is None or asyncio.get_running_loop().time() + wait > deadline:
                return response
            await asyncio.sleep(wait)


@dataclass
class RunningAgent:
    code: str
    agent: Agent
    link: Link
    url: str
    pos: HttpPos
    task: asyncio.Task[None]


class StoreAgents:
    """All agents of a run; open with :meth:`open`."""

    #: in-process agents cannot be SIGKILLed (that needs ``--scale-out``)
    kills = 0

    def __init__(
        self, agents: Mapping[str, RunningAgent], stop: asyncio.Event, statuses: StatusCounts
    ) -> None:
        self.agents = dict(agents)
        self._stop = stop
        #: what the agents' POS APIs answered the tills
        self.statuses = statuses

    @property
    def pos(self) -> dict[str, HttpPos]:
        return {code: running.pos for code, running in self.agents.items()}

    @property
    def links(self) -> dict[str, Link]:
        return {code: running.link for code, running in self.agents.items()}

    def set_link(self, store: str, up: bool) -> None:
        self.agents[store].link.up = up

    def hub_answers(self) -> list[dict[str, int]]:
        """What the hub answered each agent, by status, from the agents' own databases."""
        return [hub_responses(item.agent.database.read) for item in self.agents.values()]

    async def settle(self) -> None:
        """Nothing to wait for: no agent of this run is ever killed."""

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        codes: list[str],
        *,
        hub_url: str,
        credentials: Mapping[str, StoreCredentials],
        data_dir: Path,
        defect: DuplicateUpload | None = None,
        download_interval_s: float = 2.0,
    ) -> AsyncIterator[StoreAgents]:
        stop = asyncio.Event()
        statuses = StatusCounts()
        running: dict[str, RunningAgent] = {}
        clients: list[httpx2.AsyncClient] = []
        listeners: list[socket.socket] = []
        try:
            for n, code in enumerate(codes):
                # held until the estate closes: no other socket can take the port meanwhile
                listener = bind("127.0.0.1", 0)
                listeners.append(listener)
                port = int(listener.getsockname()[1])
                config = AgentConfig(
                    store=code,
                    hub_url=hub_url,
                    database=data_dir / f"agent-{code}.db",
                    port=port,
                    client_id=credentials[code].client_id,
                    client_secret=credentials[code].client_secret,
                    upload_interval_s=0.5,
                    download_interval_s=download_interval_s,
                    hub_timeout_s=10.0,
                    backoff_base_s=0.2,
                    backoff_cap_s=2.0,
                )
                link = Link(code)
                hub = HttpHubClient(
                    hub_url,
                    client_id=config.client_id,
                    client_secret=config.client_secret,
                    timeout_s=config.hub_timeout_s,
                    transport=LinkTransport(link, defect=defect if n == 0 else None),
                )
                agent = Agent(config, hub=hub)
                url = f"http://127.0.0.1:{port}"
                client = async_client(base_url=url, timeout=30.0)
                clients.append(client)
                task = asyncio.create_task(agent.run(stop, sock=listener), name=f"agent-{code}")
                running[code] = RunningAgent(
                    code, agent, link, url, HttpPos(client, statuses), task
                )
            agents = cls(running, stop, statuses)
            await agents._wait_serving()
            yield agents
        finally:
            stop.set()
            for item in running.values():
                with contextlib.suppress(Exception):
                    await item.task
                await item.agent.aclose()
            for client in clients:
                await client.aclose()
            for listener in listeners:
                listener.close()

    async def _wait_serving(self) -> None:
        async with asyncio.timeout(STARTUP_TIMEOUT_S):
            for item in self.agents.values():
                while True:
                    if item.task.done():
                        item.task.result()
                    if await item.pos.healthy():
                        break
                    await asyncio.sleep(0.02)

    def views(self) -> list[StoreView]:
        """Each store's link, queue depth and sync lag, from the agents' own databases."""
        now = utcnow()
        views = []
        for code, item in sorted(self.agents.items()):
            status = read_status(item.agent.database.read, code, now)
            views.append(
                StoreView(
                    code=code,
                    online=item.link.up and status.online,
                    queue_depth=status.queue_depth,
                    sync_lag_s=status.oldest_unsent_age_s or 0.0,
                )
            )
        return views

    def catalog(
        self, skus: list[str]
    ) -> tuple[dict[str, dict[str, Decimal]], dict[str, dict[str, Decimal]]]:
        """Each store's local available stock and current price per SKU, as its tills see them."""
        now = utcnow()
        stock: dict[str, dict[str, Decimal]] = {}
        prices: dict[str, dict[str, Decimal]] = {}
        for code, item in self.agents.items():
            stock[code], prices[code] = {}, {}
            for sku in skus:
                view = find_product(item.agent.database.read, now, sku=sku)
                if view is None:
                    continue
                stock[code][sku] = view.available
                if view.price is not None:
                    prices[code][sku] = view.price.amount
        return stock, prices
