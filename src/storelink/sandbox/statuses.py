"""Every HTTP answer the estate's clients got, counted by status.

Tills count what their store's agent answered, the web channel what the hub
answered, and each agent counts what the hub answered it (in its own database,
see :func:`storelink.edge.hub_responses`). The verification sums them into the
three figures backpressure is judged by: ``http_5xx`` (server errors other than 503 —
a saturated hub must never produce one), ``http_503`` (busy, retry after) and
``http_429`` (over a client's limit).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

import httpx2

#: seconds a client waits when a 503/429 carries no usable Retry-After
DEFAULT_RETRY_AFTER_S = 1.0
#: the longest Retry-After a sandbox client honours (a bad header must not stall a run)
MAX_RETRY_AFTER_S = 30.0


class StatusCounts(Counter[str]):
    """Answers by status code (``"200"``, ``"503"`` …); ``"error"`` for no answer at all."""

    def saw(self, response: httpx2.Response) -> None:
        self[str(response.status_code)] += 1

    def failed(self) -> None:
        self["error"] += 1


def retry_after_s(response: httpx2.Response) -> float | None:
    """The wait a 503/429 asks for (delta-seconds form), None for other answers."""
    if response.status_code not in (429, 503):
        return None
    try:
        wait = float(response.headers.get("retry-after", ""))
    except ValueError:
        return DEFAULT_RETRY_AFTER_S
    return min(max(wait, 0.0), MAX_RETRY_AFTER_S)


def combined(counts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """Every counter given, added up (the verification turns it into the report's figures)."""
    total: Counter[str] = Counter()
    for each in counts:
        total.update(each)
    return dict(total)
