"""``storelink odoo record-conformance``: record, write, and say what was written."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.console import Console

from storelink.odoo.client import ConnectOptions
from storelink.odoo.conformance.record import record
from storelink.odoo.conformance.transcript import write


def record_to(
    out: Path, url: str, database: str, login: str, password: str, console: Console
) -> Path:
    """Record against ``url`` into ``out/<series>/``; the folder written.

    A refused connection or login raises the connector's error (one line, exit 1).
    """
    options = ConnectOptions(url=url, database=database, login=login, password=password)

    def progress(step: str) -> None:
        console.print(f"recording {step}", markup=False)

    transcript = asyncio.run(record(options, progress=progress))
    folder = out / transcript.series
    write(transcript, folder)
    for name, entries in transcript.steps.items():
        calls = sum(1 for e in entries if e.get("kind") == "call")
        failed = [
            str(e["action"]) for e in entries if e.get("kind") == "outcome" and not e.get("ok")
        ]
        note = f"; failed: {', '.join(failed)}" if failed else ""
        console.print(f"{name}: {calls} calls{note}", markup=False)
    version = transcript.meta["server_version"]
    console.print(f"wrote {len(transcript.steps)} steps to {folder} (Odoo {version})", markup=False)
    return folder
