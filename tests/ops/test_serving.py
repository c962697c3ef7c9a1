"""``serve_app`` on a socket the program holds: the port stays taken across a restart."""

from __future__ import annotations

import socket

import httpx2
import pytest
from fastapi import FastAPI

from storelink.ops.serving import bind, serve_app


def _app(name: str) -> FastAPI:
    app = FastAPI()

    @app.get("/who")
    async def who() -> dict[str, str]:
        return {"name": name}

    return app


async def test_a_held_socket_keeps_the_port_between_two_servers() -> None:
    listener = bind("127.0.0.1", 0)
    try:
        async with (
            serve_app(_app("first"), sock=listener) as first_url,
            httpx2.AsyncClient() as client,
        ):
            assert (await client.get(f"{first_url}/who")).json() == {"name": "first"}
        # between the two servers the port is still listening: a client's connection is
        # queued (not refused), and no other socket could bind the port meanwhile
        with socket.create_connection(listener.getsockname(), timeout=2):
            pass
        with socket.socket() as clash, pytest.raises(OSError):
            clash.bind(listener.getsockname())
        async with (
            serve_app(_app("second"), sock=listener) as second_url,
            httpx2.AsyncClient() as client,
        ):
            assert (await client.get(f"{second_url}/who")).json() == {"name": "second"}
        assert first_url == second_url
    finally:
        listener.close()
