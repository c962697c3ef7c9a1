"""A TCP line the sandbox can cut: between a process and what it talks to.

In a scale-out run the agents and hub workers are separate processes, so the
in-process :class:`~storelink.sandbox.links.LinkTransport` cannot reach their
HTTP clients. Each such line instead goes through a :class:`CuttableLine`: a
loopback TCP forwarder. While it is down it resets every open connection and
refuses new ones — to the process on either side that is exactly a network
line dropping.
"""

from __future__ import annotations

import asyncio
import contextlib

from storelink.sandbox.links import Link

#: bytes copied per read
_CHUNK = 64 * 1024


class CuttableLine:
    """Forwards ``127.0.0.1:<port>`` to ``target``; ``link.up = False`` cuts it."""

    def __init__(self, link: Link, target_host: str, target_port: int) -> None:
        self.link = link
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> CuttableLine:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    def set_up(self, up: bool) -> None:
        """Open or cut the line; cutting resets every connection on it."""
        self.link.up = up
        if not up:
            for writer in list(self._open):
                _reset(writer)

    async def _serve(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        if not self.link.up:
            self.link.dropped += 1
            _reset(client)
            return
        try:
            target_reader, target = await asyncio.open_connection(*self.target)
        except OSError:
            _reset(client)
            return
        self._open |= {client, target}
        try:
            await asyncio.gather(
                _pipe(client_reader, target), _pipe(target_reader, client), return_exceptions=True
            )
        finally:
            self._open -= {client, target}
            for writer in (client, target):
                writer.close()

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._open):
                _reset(writer)
            with contextlib.suppress(Exception):
                await self._server.wait_closed()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
    finally:
        if writer.can_write_eof():
            with contextlib.suppress(OSError):
                writer.write_eof()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST, not FIN: the peer sees a dropped line, not an orderly close."""
    transport = writer.transport
    with contextlib.suppress(Exception):
        transport.abort()
