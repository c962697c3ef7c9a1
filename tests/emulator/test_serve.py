"""Odoo emulator: the blocking ``serve`` the ``storelink odoo emulate`` command runs."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx2


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_answers_until_stopped() -> None:
    port = _free_port()
    code = (
        f"from storelink.emulator import serve; serve(host='127.0.0.1', port={port}, version='18')"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 1,
            "params": {"service": "common", "method": "version", "args": []},
        }
        deadline = time.monotonic() + 20
        answer = None
        while answer is None:
            assert process.poll() is None, "the emulator exited"
            try:
                answer = httpx2.post(f"http://127.0.0.1:{port}/jsonrpc", json=payload, timeout=2)
            except httpx2.TransportError:
                assert time.monotonic() < deadline, "the emulator never answered"
                time.sleep(0.1)
        assert answer.json()["result"]["server_version"] == "18.0"
    finally:
        process.terminate()
        process.wait(timeout=10)
