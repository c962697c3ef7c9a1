"""Transcripts on disk: ``<dir>/<series>/meta.json`` and one ``NN-step.json`` per step.

``meta.json`` holds ``server_version`` (as the server reported it), ``series``
(``"17"``), ``protocol`` and ``recorded_at`` (a date); each step file holds
``{"step": name, "entries": [...]}`` with the normalised entries of
:mod:`~storelink.odoo.conformance.tape`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

META = "meta.json"


@dataclass
class Transcript:
    meta: dict[str, Any]
    steps: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def series(self) -> str:
        return str(self.meta["series"])


def _dump(value: Any) -> str:
    return json.dumps(value, indent=1, ensure_ascii=False) + "\n"


def write(transcript: Transcript, folder: Path) -> list[Path]:
    """Write ``transcript`` into ``folder`` (created), replacing step files of an older run."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("[0-9][0-9]-*.json"):
        if stale.stem not in transcript.steps:
            stale.unlink()
    written = [folder / META]
    (folder / META).write_text(_dump(transcript.meta), encoding="utf-8")
    for name, entries in transcript.steps.items():
        path = folder / f"{name}.json"
        path.write_text(_dump({"step": name, "entries": entries}), encoding="utf-8")
        written.append(path)
    return written


def load(folder: Path) -> Transcript:
    """The transcript recorded in ``folder``."""
    meta = json.loads((folder / META).read_text(encoding="utf-8"))
    steps: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(folder.glob("[0-9][0-9]-*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        steps[str(document["step"])] = list(document["entries"])
    return Transcript(meta, steps)


def recorded(root: Path) -> list[Path]:
    """The version folders under ``root`` that hold a transcript."""
    return sorted(p.parent for p in root.glob(f"*/{META}"))
