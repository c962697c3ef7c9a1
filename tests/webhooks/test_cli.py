"""``storelink webhooks …`` end to end through the real CLI entry point."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from storelink.cli import main


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STORELINK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "300")  # rich wraps tables at the terminal width
    monkeypatch.setenv("STORELINK_WEBHOOKS__ALLOW_HTTP", "true")
    monkeypatch.setenv("STORELINK_WEBHOOKS__ALLOWED_HOSTS", '["127.0.0.1"]')
    assert main(["db", "upgrade"]) == 0
    return tmp_path


def _out(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().out


def test_endpoint_lifecycle_and_dlq(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _out(capsys)
    assert main(["webhooks", "endpoints", "add", "http://127.0.0.1:9/h", "-e", "storelink.*"]) == 0
    added = _out(capsys)
    endpoint = re.search(r"endpoint (ep_\w+)", added)
    assert endpoint is not None and re.search(r"secret whsec_\S+", added)
    endpoint_id = endpoint.group(1)

    assert main(["webhooks", "endpoints", "disable", endpoint_id, "--reason", "partner asked"]) == 0
    assert main(["webhooks", "endpoints", "list"]) == 0
    listing = _out(capsys)
    assert endpoint_id in listing and "partner asked" in listing
    assert main(["webhooks", "endpoints", "enable", endpoint_id]) == 0
    assert main(["webhooks", "endpoints", "rotate-secret", endpoint_id]) == 0
    assert re.search(r"secret whsec_\S+", _out(capsys))
    assert main(["webhooks", "attempts", endpoint_id]) == 0
    assert main(["webhooks", "dlq", "list"]) == 0
    assert main(["webhooks", "dlq", "retry"]) == 0
    assert "requeued 0" in _out(capsys)
    assert (
        main(["webhooks", "replay", "--endpoint", endpoint_id, "--all", "--since", "2026-01-01"])
        == 0
    )
    assert main(["webhooks", "prune", "--before", "2020-01-01T00:00:00Z"]) == 0
    assert "pruned 0" in _out(capsys)
    assert main(["webhooks", "sources", "add", "loyalty"]) == 0
    assert re.search(r"secret whsec_\S+", _out(capsys))
    assert main(["webhooks", "sources", "list"]) == 0
    assert "loyalty" in _out(capsys)


def test_bad_input_is_one_line_and_non_zero(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["webhooks", "endpoints", "add", "ftp://example.com/x"]) == 1
    assert main(["webhooks", "endpoints", "enable", "ep_missing"]) == 1
    assert main(["webhooks", "replay", "--since", "yesterday"]) == 2
    assert main(["webhooks", "sources", "add", "Bad Name"]) == 1
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 4 and all(line.startswith("error: ") for line in errors)
