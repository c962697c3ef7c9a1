"""``storelink odoo emulate`` and ``storelink odoo install-webhooks`` as a user runs them."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import httpx2
import pytest

from storelink.cli import main
from tests.odoo.conftest import Emulated
from tests.services import free_port, port_open


def test_emulate_serves_the_requested_version() -> None:
    pytest.importorskip("storelink.emulator")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "storelink.cli", "odoo", "emulate", "--port", str(port),
         "--version", "18"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not port_open("127.0.0.1", port):
            assert process.poll() is None, "the emulator exited"
            assert time.monotonic() < deadline, "the emulator did not start"
            time.sleep(0.05)
        answer = httpx2.post(
            f"http://127.0.0.1:{port}/jsonrpc",
            json={"jsonrpc": "2.0", "method": "call", "id": 1,
                  "params": {"service": "common", "method": "version", "args": []}},
        ).json()  # fmt: skip
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert answer["result"]["server_version_info"][0] == 18


def test_emulate_refuses_an_unknown_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["odoo", "emulate", "--version", "15"]) == 2
    assert "--version must be 16, 17, 18 or 19" in capsys.readouterr().err


async def test_install_webhooks_command(
    odoo17: Emulated, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORELINK_ODOO__WEBHOOK_TOKEN", "tok")
    args = ["odoo", "install-webhooks", "--hub-url", "http://127.0.0.1:8420", "--url", odoo17.url,
            "--db", "storelink", "--user", "admin", "--password", "admin"]  # fmt: skip
    first = await asyncio.to_thread(main, args)
    out = capsys.readouterr().out
    second = await asyncio.to_thread(main, args)
    again = capsys.readouterr().out
    assert first == 0 and second == 0
    assert "product.product: automation" in out and "created" in out
    assert "already installed" in again and " created" not in again
    rules = odoo17.read("base.automation", [], ["name", "trigger"])
    assert {r["trigger"] for r in rules} == {"on_create_or_write"}
    actions = odoo17.read("ir.actions.server", [["state", "=", "webhook"]], ["webhook_url"])
    assert {a["webhook_url"] for a in actions} == {"http://127.0.0.1:8420/v1/odoo/webhook/tok"}
