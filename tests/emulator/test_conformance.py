"""The emulator answers the conformance scenario the way the recorded real Odoo did.

Each version folder under ``tests/odoo/conformance/`` holds a transcript recorded
from a real server (``storelink odoo record-conformance``). The same scenario is
played against the emulator of that version, through the same recorder and
normaliser, and compared exchange by exchange; the only differences allowed are
listed in :mod:`storelink.emulator.differences`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from storelink.cli import main
from storelink.emulator import ADMIN_LOGIN, ADMIN_PASSWORD, OdooEmulator, dispatch, serve_emulator
from storelink.emulator.differences import ACCEPTED
from storelink.emulator.store import system_clock
from storelink.odoo.client import ConnectOptions
from storelink.odoo.conformance import (
    Difference,
    Normaliser,
    Session,
    Transcript,
    compare,
    load,
    record,
    recorded,
    report,
)
from tests.services import free_port

ROOT = Path(__file__).resolve().parents[1] / "odoo" / "conformance"
FOLDERS = recorded(ROOT)
KEYWORD_CREATE = "create with vals_list as a keyword"


def an_hour_ago() -> datetime:
    return datetime.now(UTC) - timedelta(hours=1)


async def replay(series: str, only: Sequence[str] | None = None) -> Transcript:
    """The scenario played against a fresh emulator of ``series``.

    Its seed is stamped an hour back, as a database restored from a template was
    made well before the scenario writes to it (change capture reads by write_date).
    """
    emulator = OdooEmulator(version=series, clock=an_hour_ago)
    emulator.set_clock(system_clock)
    async with serve_emulator(emulator) as url:
        options = ConnectOptions(
            url=url, database="storelink", login=ADMIN_LOGIN, password=ADMIN_PASSWORD
        )
        return await record(options, only=only)


def test_transcripts_are_committed_for_17_and_18() -> None:
    assert {folder.name for folder in FOLDERS} >= {"17", "18"}


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
async def test_emulator_answers_like_real_odoo(folder: Path) -> None:
    real = load(folder)
    replayed = await replay(real.series)
    differences = compare(real, replayed, ACCEPTED)
    assert not differences, (
        f"the Odoo {real.series} emulator differs from real Odoo {real.meta['server_version']} "
        f"in {len(differences)} places (step #entry [action] call path: real | emulator):\n"
        + report(differences)
    )


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
async def test_accepting_keyword_vals_list_again_is_caught(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A regression letting ``create`` take ``vals_list`` by keyword fails the replay."""
    real, step = load(folder), "15-wrong-calls"

    async def keyword_create_differences() -> list[Difference]:
        replayed = await replay(real.series, only=[step])
        found = compare(real, replayed, ACCEPTED, steps=[step])
        return [d for d in found if d.action == KEYWORD_CREATE]

    assert await keyword_create_differences() == []
    original = dispatch._call

    def lenient(
        db: Any,
        uid: int,
        model: str,
        method: str,
        args: list[Any],
        kwargs: dict[str, Any],
        **kw: Any,
    ) -> Any:
        if method == "create" and not args and "vals_list" in kwargs:
            args = [kwargs.pop("vals_list")]
        return original(db, uid, model, method, args, kwargs, **kw)

    monkeypatch.setattr(dispatch, "_call", lenient)
    caught = await keyword_create_differences()
    assert any(d.call == "res.partner.create" and d.path == "answer.error" for d in caught), caught
    assert "real builtins.IndexError | emulator None" in report(caught)


SERVER_UUID = "0d6e0b8e-9f1e-4c55-8a59-52a1f1c0a2b3"


def test_normaliser_replaces_what_differs_between_servers() -> None:
    normaliser = Normaliser(Session("odoo17_conf", "secret", "http://127.0.0.1:8069"))
    entry = {
        "kind": "call",
        "service": "object",
        "method": "execute_kw",
        "call": "pos.order.search_read",
        "args": [
            "odoo17_conf", 2, "secret", "pos.order", "search_read", [],
            {"domain": [["session_id", "in", [41, 42]], ["uuid", "=", SERVER_UUID]]},
        ],
        "answer": {
            "result": [
                {"id": 7, "session_id": [41, "POS/00012"], "lines": [3, 4], "name": "Shop/0001",
                 "write_date": "2024-07-09 10:00:01", "date": "2024-07-09"}
            ]
        },
    }  # fmt: skip
    out = normaliser.entry(entry)
    assert out["args"][:3] == ["<db>", "<uid>", "<password>"]
    assert out["args"][6]["domain"] == [
        ["session_id", "in", ["<pos.session#1>", "<pos.session#2>"]],
        ["uuid", "=", "<uuid>"],
    ]
    (row,) = out["answer"]["result"]
    assert row == {
        "id": "<pos.order#1>",
        "session_id": ["<pos.session#1>", "POS/<n>"],
        "lines": ["<pos.order.line#1>", "<pos.order.line#2>"],
        "name": "Shop/<n>",
        "write_date": "<datetime>",
        "date": "<date>",
    }


def test_normaliser_keeps_a_missing_result_missing_and_hides_tracebacks() -> None:
    normaliser = Normaliser(Session("db", "pw", ""))
    error = {
        "code": 200,
        "data": {"name": "builtins.ValueError", "debug": "Traceback …", "message": "x"},
    }
    out = normaliser.entry(
        {"kind": "call", "service": "object", "args": [], "answer": {"jsonrpc": "2.0"}}
    )
    assert "result" not in out["answer"]
    failed = normaliser.entry(
        {"kind": "call", "service": "object", "args": [], "answer": {"error": error}}
    )
    assert failed["answer"]["error"]["data"]["debug"] == "<traceback>"


def test_record_conformance_fails_in_one_line_when_odoo_is_unreachable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code = main(["odoo", "record-conformance", "--odoo-url", url, "--odoo-db", "x",
                 "--odoo-password", "admin", "--out", str(tmp_path)])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("error: cannot reach Odoo"), err
    assert not list(tmp_path.iterdir())


async def test_record_conformance_fails_in_one_line_on_a_wrong_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator = OdooEmulator(version="17")
    async with serve_emulator(emulator) as url:
        args = ["odoo", "record-conformance", "--odoo-url", url, "--odoo-db", "storelink",
                "--odoo-password", "wrong", "--out", str(tmp_path)]  # fmt: skip
        code = await asyncio.to_thread(main, args)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err == ["error: Odoo refused login 'admin' on database 'storelink'"]
    assert not await asyncio.to_thread(lambda: list(tmp_path.iterdir()))
