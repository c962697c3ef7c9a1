"""The hub as the sandbox runs it: started, restarted mid-run, stopped.

A restart is real: the running :class:`~storelink.hub.Hub` stops its workers,
closes its server, event log and engine; then a fresh ``Hub`` opens the same
database on the same port. Agents see connection errors in between and keep
queueing, exactly as with a hub process restarted by an operator.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

import httpx2
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.bus import EventLog
from storelink.config import Settings
from storelink.hub import Hub
from storelink.sandbox.links import Link, LinkTransport


class HubProcess:
    """Owns one running :class:`Hub` at a time."""

    def __init__(
        self,
        settings: Settings,
        *,
        odoo_link: Link | None = None,
        listen_socket: socket.socket | None = None,
    ) -> None:
        self.settings = settings
        #: every incarnation serves on this one socket: the port stays the hub's across restarts
        self.listen_socket = listen_socket
        #: the hub's line to Odoo; cutting it is the "Odoo connection down" fault
        self.odoo_link = odoo_link or Link("odoo")
        self.restarts = 0
        self._round_trips_before = 0
        self._odoo_transport = httpx2.AsyncHTTPTransport()
        self._hub: Hub | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def hub(self) -> Hub:
        if self._hub is None:
            raise RuntimeError("the hub is not running")
        return self._hub

    @property
    def up(self) -> bool:
        return self._hub is not None

    # -- what the estate run reads (the same names as a scale-out HubCluster's) -------------

    #: an in-process hub is never SIGKILLed (that needs ``--scale-out``)
    kills = 0

    @property
    def url(self) -> str:
        return self.hub.url

    @property
    def engine(self) -> AsyncEngine:
        engine = self.hub.engine
        assert engine is not None
        return engine

    @property
    def event_log(self) -> EventLog:
        event_log = self.hub.log
        assert event_log is not None
        return event_log

    @property
    def capture_failing(self) -> dict[str, str]:
        odoo = self.hub.odoo if self._hub is not None else None
        return odoo.capture_failing if odoo is not None else {}

    @property
    def breaker(self) -> str:
        if self._hub is None or self._hub.odoo is None:
            return "n/a"
        connector = self._hub.odoo.connector
        if connector is None:
            return "connecting"
        return connector.client.breaker.state.name.lower()

    def set_odoo(self, up: bool) -> None:
        self.odoo_link.up = up

    async def settle(self) -> None:
        """Nothing to wait for: this hub is never killed, only restarted in order."""

    async def start(self) -> Hub:
        started: asyncio.Future[Hub] = asyncio.get_running_loop().create_future()
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self._serve(started, self._stop))
        try:
            self._hub = await started
        except BaseException:
            await self._task
            raise
        return self._hub

    async def _serve(self, started: asyncio.Future[Hub], stop: asyncio.Event) -> None:
        try:
            async with Hub(
                self.settings, odoo_transport=self._transport, listen_socket=self.listen_socket
            ) as hub:
                started.set_result(hub)
                await hub.run(stop)
        except BaseException as exc:
            if not started.done():
                started.set_exception(exc)
                return
            raise

    def _transport(self) -> httpx2.AsyncBaseTransport:
        return LinkTransport(self.odoo_link, self._odoo_transport, close_inner=False)

    async def aclose(self) -> None:
        """Stop the hub for good and release the line to Odoo."""
        await self.stop()
        await self._odoo_transport.aclose()

    @property
    def odoo_round_trips(self) -> int:
        """Calls the hub made to Odoo, across every restart."""
        return self._round_trips_before + self._current_round_trips()

    def _current_round_trips(self) -> int:
        if self._hub is None or self._hub.odoo is None or self._hub.odoo.connector is None:
            return 0
        return self._hub.odoo.connector.round_trips

    async def stop(self) -> None:
        self._round_trips_before += self._current_round_trips()
        self._stop.set()
        task, self._task, self._hub = self._task, None, None
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def restart(self) -> Hub:
        await self.stop()
        self.restarts += 1
        return await self.start()
