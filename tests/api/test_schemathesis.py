"""schemathesis v4 against the live hub (uvicorn on 127.0.0.1) with an admin token.

Zero 5xx and zero responses that break the OpenAPI document. Every check runs
except ``positive_data_acceptance``: some rules are not expressible in JSON Schema
(opaque pagination cursors, payments adding up to the lines, exactly one of
store/channel) so schema-valid requests may rightly be refused with a 422.
The same command is in the README; the lead's CI runs this test.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.api import Principal, Role, create_app
from storelink.config import Settings
from tests.api.seed import seed_read_model
from tests.services import free_port

MAX_EXAMPLES = "8"


def st_command(url: str, token: str, report: Path) -> list[str]:
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or "st"
    return [
        st, "run", f"{url}/v1/openapi.json",
        "--header", f"Authorization: Bearer {token}",
        "--checks", "all",
        "--exclude-checks", "positive_data_acceptance",
        "--max-examples", MAX_EXAMPLES,
        "--seed", "7",
        "--wait-for-schema", "15",
        "--generation-database", "none",
        "--no-color",
        "--report", "junit",
        "--report-junit-path", str(report),
    ]  # fmt: skip


@pytest.mark.slow
async def test_schemathesis_finds_nothing(
    tmp_path: Path, sqlite_url: str, sqlite_engine: AsyncEngine
) -> None:
    generous = {role.value: {"per_s": 100_000, "burst": 100_000} for role in Role}
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=sqlite_url,
        api={"rate_limits": generous},
        observability={"log_level": "warning"},
    )
    app = create_app(settings, engine=sqlite_engine, migrate=False)
    await seed_read_model(sqlite_engine, app.state.hub.clock())
    token = (
        await app.state.hub.tokens.mint(Principal("admin-schemathesis", Role.ADMIN))
    ).access_token
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        # st waits for the schema itself (--wait-for-schema): no polling here
        process = await asyncio.create_subprocess_exec(
            *st_command(f"http://127.0.0.1:{port}", token, tmp_path / "junit.xml"),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=tmp_path,  # st keeps a cache directory where it runs
        )
        output, _ = await asyncio.wait_for(process.communicate(), timeout=240)
    finally:
        server.should_exit = True
        await serving
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-6000:]
    assert "passed" in text and "Tested:" in text
