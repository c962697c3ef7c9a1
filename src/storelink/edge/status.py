"""``storelink agent status``: what a store manager or support engineer needs to know."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storelink.edge.catalog import unstamp
from storelink.edge.responses import hub_responses
from storelink.sync.wire import Dataset


@dataclass(frozen=True, slots=True)
class AgentStatus:
    store: str
    #: the last call to the hub succeeded (uploads and downloads both)
    online: bool
    queue_depth: int
    #: seconds since the oldest unsent transaction was recorded (None when the queue is empty)
    oldest_unsent_age_s: float | None
    flagged: int
    last_upload_at: datetime | None
    #: last successful sync per data set
    last_sync: dict[str, datetime | None]
    last_error: str | None
    #: every answer the hub gave this agent, by status ("error": no answer at all)
    hub_responses: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "online": self.online,
            "queue_depth": self.queue_depth,
            "oldest_unsent_age_s": self.oldest_unsent_age_s,
            "flagged_for_review": self.flagged,
            "last_upload_at": _iso(self.last_upload_at),
            "last_sync": {name: _iso(at) for name, at in self.last_sync.items()},
            "last_error": self.last_error,
            "hub_responses": dict(self.hub_responses),
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def read_status(connection: sqlite3.Connection, store: str, now: datetime) -> AgentStatus:
    """The status as recorded in the agent's database (works while the agent is stopped)."""
    state = dict(connection.execute("SELECT key, value FROM agent_state").fetchall())
    depth, oldest = connection.execute(
        "SELECT count(*), min(recorded_at) FROM upload_queue WHERE sent_at IS NULL"
    ).fetchone()
    flagged = connection.execute("SELECT count(*) FROM upload_queue WHERE flagged = 1").fetchone()[
        0
    ]
    cursors = {
        row[0]: unstamp(row[1])
        for row in connection.execute("SELECT dataset, synced_at FROM cursors").fetchall()
    }
    online = state.get("upload_online", "1") == "1" and state.get("download_online") == "1"
    errors = [state.get("upload_error"), state.get("download_error")]
    return AgentStatus(
        store=store,
        online=online,
        queue_depth=int(depth),
        oldest_unsent_age_s=(now - unstamp(oldest)).total_seconds() if oldest else None,
        flagged=int(flagged),
        last_upload_at=unstamp(state["last_upload_at"]) if state.get("last_upload_at") else None,
        last_sync={dataset.value: cursors.get(dataset.value) for dataset in Dataset},
        last_error="; ".join(e for e in errors if e) or None,
        hub_responses=hub_responses(connection),
    )
