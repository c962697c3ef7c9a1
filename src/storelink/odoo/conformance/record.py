"""Recording: play the scenario through a :class:`RecordingTransport`, normalise, keep.

::

    transcript = await record(ConnectOptions(url, "odoo17_conf", "admin", "admin"))
    write(transcript, Path("tests/odoo/conformance") / transcript.series)

Retries are off (one attempt per call), so the transcript holds exactly the
exchanges the scenario asked for, in order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx2

from storelink.odoo.client import ConnectOptions
from storelink.odoo.conformance.context import Run
from storelink.odoo.conformance.normalise import Normaliser, Session
from storelink.odoo.conformance.scenario import CONNECT, play
from storelink.odoo.conformance.tape import Tape
from storelink.odoo.conformance.transcript import Transcript
from storelink.odoo.conformance.transport import RecordingTransport
from storelink.odoo.retry import RetryPolicy


def _server_version(tape: Tape) -> str:
    for entry in tape.steps.get(CONNECT.name, []):
        if entry.get("call") == "common.version":
            result = (entry.get("answer") or {}).get("result") or {}
            return str(result.get("server_version", ""))
    return ""


async def record(
    options: ConnectOptions,
    *,
    inner: httpx2.AsyncBaseTransport | None = None,
    only: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Transcript:
    """Play the scenario against ``options.url``; the normalised transcript.

    ``inner`` is the transport the exchanges really travel on (plain HTTP by
    default); ``only`` names the steps to play after connecting; ``progress``
    hears each step's name as it starts.
    """
    tape = Tape()
    transport = RecordingTransport(inner or httpx2.AsyncHTTPTransport(), tape)
    options = replace(options, transport=transport, retry=RetryPolicy(attempts=1))
    run = Run(tape, transport, options)
    try:
        await play(run, only, progress)
    finally:
        if run.connector is not None:
            await run.connector.aclose()
        await transport.close_inner()
    session = Session(options.database, options.password or options.api_key or "", options.url)
    steps: dict[str, list[dict[str, Any]]] = {}
    for name, entries in tape.steps.items():
        steps[name] = Normaliser(session).step(entries)
    meta = {
        "server_version": _server_version(tape),
        "series": run.odoo.version,
        "protocol": run.odoo.protocol,
        "recorded_at": datetime.now(UTC).date().isoformat(),
    }
    return Transcript(meta, steps)
