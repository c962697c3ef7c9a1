"""Whole sandbox runs: a small estate through the default faults, and a deliberate defect.

These run the real thing in one process: the Odoo emulator over HTTP, the hub
(restarted mid-run), three store agents with their own SQLite and POS API,
partner receivers, and the verification reading Odoo back through its API.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from storelink.cli import main
from storelink.sandbox.options import Defect, SandboxOptions
from storelink.sandbox.runner import missing_parts, run_sandbox

MISSING = missing_parts(SandboxOptions())
pytestmark = pytest.mark.skipif(
    bool(MISSING), reason=f"parts not installed yet: {', '.join(MISSING)}"
)


def small(tmp_path: Path, **changes: object) -> SandboxOptions:
    options = SandboxOptions(
        stores=3,
        sales=200,
        seed=7,
        rate=100.0,
        faults="default",
        live=False,
        report=tmp_path / "report.json",
        data_dir=tmp_path / "data",
        converge_timeout_s=60.0,
    )
    return SandboxOptions(**{**options.__dict__, **changes})  # type: ignore[arg-type]


async def test_small_sandbox_with_default_faults_passes_every_check(tmp_path: Path) -> None:
    options = small(tmp_path)
    result = await run_sandbox(options, console=Console(file=io.StringIO()))
    report = json.loads((tmp_path / "report.json").read_text())
    assert report == result.document
    assert report["passed"] is True, report["failures"]
    assert report["failures"] == []
    assert report["odoo"] == "emulator 17 (fast)"
    assert report["sales_recorded"] == 200  # every till transaction was answered 201
    assert report["sales_in_odoo"] == 200
    assert report["duplicates"] == report["missing"] == 0
    assert report["stock_mismatches"] == report["price_mismatches"] == 0
    assert report["order_violations"] == 0
    assert report["webhooks_delivered"] > 200  # loyalty and flaky both take every sale
    # 5% of the sales went through the web channel's API, through the hub restart
    assert report["channel_orders_placed"] == 10
    assert report["channel_orders_in_odoo"] == 10
    assert report["channel_orders_duplicates"] == report["channel_orders_missing"] == 0
    assert report["odoo_round_trips"] > 0
    assert 0 < report["elapsed_s"] < 90


def test_duplicated_upload_is_caught_and_the_command_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORELINK_SANDBOX_DEFECT", Defect.DUPLICATE_UPLOAD.value)
    report = tmp_path / "report.json"
    code = main(
        [
            "sandbox",
            "--stores", "3",
            "--sales", "60",
            "--seed", "3",
            "--faults", "none",
            "--no-live",
            "--converge-timeout", "15",
            "--report", str(report),
            "--data-dir", str(tmp_path / "data"),
        ]
    )  # fmt: skip
    assert code == 1
    document = json.loads(report.read_text())
    assert document["passed"] is False
    failed = {f["check"]: f for f in document["failures"]}
    (stranger,) = failed["no_unknown_records"]["details"]
    assert stranger.startswith("sale S001/") and stranger.endswith("is in Odoo but no till made it")
    # every real sale still made it exactly once; the phantom is the only thing wrong
    assert set(failed) == {"no_unknown_records"}
    assert document["sales_in_odoo"] == document["sales_recorded"] == 60
    assert document["missing"] == document["duplicates"] == 0
