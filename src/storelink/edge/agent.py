"""One store's agent: local database, POS API, uploader and downloader in one process."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from storelink.config import Settings
from storelink.edge.database import LocalDatabase
from storelink.edge.downloader import Downloader
from storelink.edge.hub import HttpHubClient, HubClient
from storelink.edge.pos import PosState, create_pos_app
from storelink.edge.queue import UploadQueue
from storelink.edge.recorder import Recorder
from storelink.edge.replica import Replica
from storelink.edge.responses import HubResponses
from storelink.edge.uploader import Uploader
from storelink.errors import UsageError
from storelink.model import utcnow
from storelink.ops.logging import get_logger
from storelink.ops.serving import serve_app
from storelink.sync.backoff import Backoff

_log = get_logger("storelink.edge.agent")


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """Everything an agent needs, resolved from settings and the command line."""

    store: str
    hub_url: str
    database: Path
    host: str = "127.0.0.1"
    port: int = 8421
    client_id: str | None = None
    client_secret: str | None = None
    upload_batch_size: int = 200
    upload_interval_s: float = 1.0
    download_interval_s: float = 10.0
    download_page_size: int = 500
    hub_timeout_s: float = 10.0
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        store: str | None = None,
        hub_url: str | None = None,
        port: int | None = None,
        database: Path | None = None,
    ) -> AgentConfig:
        agent = settings.agent
        code = store or agent.store
        if not code:
            raise UsageError("agent: no store code; pass --store or set agent.store")
        url = hub_url or (str(agent.hub_url) if agent.hub_url else None)
        if not url:
            raise UsageError("agent: no hub URL; pass --hub or set agent.hub_url")
        secret = agent.client_secret.get_secret_value() if agent.client_secret else None
        return cls(
            store=code,
            hub_url=url,
            database=database or agent.database or settings.data_dir / f"agent-{code}.db",
            host=agent.host,
            port=port or agent.port,
            client_id=agent.client_id,
            client_secret=secret,
            upload_batch_size=agent.upload_batch_size,
            upload_interval_s=agent.upload_interval_s,
            download_interval_s=agent.download_interval_s,
            download_page_size=agent.download_page_size,
            hub_timeout_s=agent.hub_timeout_s,
            backoff_base_s=agent.backoff_base_s,
            backoff_cap_s=agent.backoff_cap_s,
        )


class Agent:
    """Wires the parts; ``run(stop)`` serves the POS API and syncs until ``stop`` is set."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        hub: HubClient | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.config = config
        self.database = LocalDatabase(config.database)
        self.replica = Replica(self.database)
        self.queue = UploadQueue(self.database)
        self.hub: HubClient = hub or HttpHubClient(
            config.hub_url,
            client_id=config.client_id,
            client_secret=config.client_secret,
            timeout_s=config.hub_timeout_s,
        )
        #: what the hub answered, by status, kept in the agent's database
        self.responses = HubResponses(self.database)
        if isinstance(self.hub, HttpHubClient):
            self.hub.count_into(self.responses)
        self.recorder = Recorder(
            self.database,
            config.store,
            location=lambda: self.replica.state("location") or config.store,
            clock=clock,
        )

        def backoff() -> Backoff:
            return Backoff(base_s=config.backoff_base_s, cap_s=config.backoff_cap_s)

        self.uploader = Uploader(
            config.store,
            self.queue,
            self.replica,
            self.hub,
            batch_size=config.upload_batch_size,
            backoff=backoff(),
            clock=clock,
        )
        self.downloader = Downloader(
            config.store,
            self.replica,
            self.hub,
            page_size=config.download_page_size,
            backoff=backoff(),
            clock=clock,
        )
        self.app = create_pos_app(
            PosState(
                store=config.store,
                database=self.database,
                recorder=self.recorder,
                clock=clock,
                on_write=self.uploader.wake.set,
            )
        )

    async def run(self, stop: asyncio.Event, *, sock: socket.socket | None = None) -> None:
        """Serve and sync until ``stop``; on ``sock`` (a listening socket, left open) if given,
        else on ``host:port`` from the config. The POS API stops last, after the syncing."""
        async with serve_app(self.app, host=self.config.host, port=self.config.port, sock=sock):
            tasks = [
                asyncio.create_task(
                    self.uploader.run(stop, idle_s=self.config.upload_interval_s), name="uploader"
                ),
                asyncio.create_task(
                    self.downloader.run(stop, idle_s=self.config.download_interval_s),
                    name="downloader",
                ),
            ]
            _log.info("agent started", store=self.config.store, port=self.config.port)
            try:
                done, _ = await asyncio.wait(
                    [asyncio.ensure_future(stop.wait()), *tasks],
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for task in done:
                    if task in tasks and task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]
            finally:
                stop.set()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def aclose(self) -> None:
        await self.hub.aclose()
        await self.responses.aclose()
        self.database.close()
