"""Running ``storelink agent run`` as a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx2

from tests.services import free_port
from tests.sync.harness import wait_until


class AgentProcess:
    """One store's agent process; ``kill()`` is SIGKILL, ``start()`` restarts it on its files."""

    def __init__(
        self, store: str, hub_url: str, client: tuple[str, str], data_dir: Path, **env: str
    ) -> None:
        self.store = store
        self.hub_url = hub_url
        self.port = free_port()
        self.database = data_dir / f"agent-{store}.db"
        self.log = data_dir / f"agent-{store}.log"
        self.env = {
            **os.environ,
            "STORELINK_DATA_DIR": str(data_dir),
            "STORELINK_AGENT__CLIENT_ID": client[0],
            "STORELINK_AGENT__CLIENT_SECRET": client[1],
            "STORELINK_AGENT__UPLOAD_INTERVAL_S": "0.2",
            "STORELINK_AGENT__DOWNLOAD_INTERVAL_S": "0.3",
            "STORELINK_AGENT__BACKOFF_BASE_S": "0.05",
            "STORELINK_AGENT__BACKOFF_CAP_S": "0.5",
            "STORELINK_AGENT__HUB_TIMEOUT_S": "3",
            "STORELINK_OBSERVABILITY__LOG_LEVEL": "warning",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def spawn(self) -> None:
        command = [sys.executable, "-m", "storelink.cli", "agent", "run", "--store", self.store]
        command += ["--hub", self.hub_url, "--port", str(self.port)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=log)

    async def start(self) -> None:
        """Spawn the process and wait until its POS API answers with a synced catalog."""
        self.spawn()

        async def up() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                tail = self.log.read_text(errors="replace")[-3000:]
                raise AssertionError(f"agent exited with {self.process.returncode}:\n{tail}")
            try:
                async with httpx2.AsyncClient(base_url=self.url, timeout=1) as client:
                    status = (await client.get("/v1/status")).json()
            except httpx2.TransportError:
                return False
            # ready to sell once the catalog arrived at least once
            return all(status["last_sync"].values())

        await wait_until(up, within=30)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
