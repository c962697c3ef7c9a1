"""``storelink config check``: the effective configuration, or one line per problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storelink.cli import main
from storelink.config import load_settings

BROKEN = {
    "syntax": ('database_url = "sqlite+aiosqlite:///x.db\n', [r"not valid TOML"]),
    "unknown_key": ('[odoo]\nurll = "http://odoo:8069"\n', ["error: odoo.urll: unknown key"]),
    "wrong_type": (
        '[api]\nport = "eighty"\n',
        ["error: api.port: Input should be a valid integer, unable to parse string as an integer"],
    ),
    "bad_scheme": (
        'database_url = "mysql://root@localhost/x"\nbus_url = "kafka://k:9092"\n',
        [
            "error: database_url: must start with one of sqlite+aiosqlite://, postgresql+psycopg://",
            'error: bus_url: must be "embedded" or a nats:// URL',
        ],
    ),
    "odoo_without_credentials": (
        '[odoo]\nurl = "https://odoo.example.com"\ndatabase = "prod"\n',
        ["error: odoo: odoo.password or odoo.api_key is required when odoo.url is set"],
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_file_gives_one_line_per_problem_and_exit_2(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, expected = BROKEN[case]
    path = tmp_path / f"{case}.toml"
    path.write_text(text)
    assert main(["config", "check", str(path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == len(expected), lines
    for line, want in zip(lines, expected, strict=True):
        assert line.startswith("error: ")
        assert want in line


def test_missing_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", str(tmp_path / "nope.toml")]) == 2
    assert (
        capsys.readouterr().err.strip()
        == f"error: {tmp_path / 'nope.toml'}: no such configuration file"
    )


def test_good_file_prints_effective_configuration_with_secrets_masked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ok.toml"
    path.write_text(
        'database_url = "postgresql+psycopg://hub:s3cret@db:5432/hub"\n'
        '[odoo]\nurl = "https://odoo.example.com"\ndatabase = "prod"\npassword = "hunter2"\n'
    )
    monkeypatch.setenv("STORELINK_API__PORT", "9000")
    assert main(["config", "check", str(path)]) == 0
    out = capsys.readouterr().out
    shown = json.loads(out)
    assert shown["odoo"]["password"] == "********"
    assert shown["database_url"] == "postgresql+psycopg://hub:********@db:5432/hub"
    assert shown["api"]["port"] == 9000  # the environment overrides the file
    assert "hunter2" not in out and "s3cret" not in out


def test_environment_overrides_file_for_nested_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[odoo]\ntimeout_s = 10\n")
    monkeypatch.setenv("STORELINK_ODOO__TIMEOUT_S", "42")
    assert load_settings(path).odoo.timeout_s == 42


def test_defaults_are_embedded_under_storelink_data() -> None:
    settings = load_settings()
    assert settings.effective_database_url == "sqlite+aiosqlite:///storelink-data/hub.db"
    assert settings.bus_url == "embedded"
    assert settings.odoo.url is None
