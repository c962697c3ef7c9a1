"""Expected errors end as one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from storelink.cli import main


def test_runtime_failure_exits_1_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # nothing listens on port 1: the migration cannot connect
    monkeypatch.setenv("STORELINK_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert main(["db", "upgrade"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: migrations failed:")


def test_usage_error_exits_2() -> None:
    assert main(["schema", "export"]) == 2


def test_db_upgrade_then_again_is_idempotent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORELINK_DATA_DIR", str(tmp_path))
    assert main(["db", "upgrade"]) == 0
    first = capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == first
    assert (tmp_path / "hub.db").exists()


def test_console_script_prints_no_traceback_for_bad_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[api]\nport = 0\n")
    result = subprocess.run(
        [sys.executable, "-m", "storelink.cli", "config", "check", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == "error: api.port: Input should be greater than or equal to 1"
