"""Fault injection: latency, 502/503/504, serialization failures, timeouts, a full outage."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

KINDS = ("502", "503", "504", "serialization", "timeout")
HTTP_KINDS = frozenset({"502", "503", "504"})


@dataclass
class Faults:
    """What goes wrong with the next requests; change it at any time, even while serving.

    * ``latency_s`` — added before every RPC answer.
    * ``outage`` — every RPC request gets ``503 Service Unavailable`` from the front proxy.
    * ``fail_next(n, kind)`` — the next ``n`` RPC requests fail:

      - ``"502"``/``"503"``/``"504"``: the proxy answers with that status; Odoo never sees the call;
      - ``"serialization"``: Odoo runs the call, PostgreSQL reports a serialization failure,
        the transaction rolls back (nothing changes) and, Odoo's service layer having
        used up its retries, ``psycopg2.errors.SerializationFailure`` reaches the client
        in the protocol's own error shape;
      - ``"timeout"``: the call *is executed and committed*, then the answer is held for
        ``hang_s`` seconds, so a client with a shorter timeout never hears about it.
    """

    latency_s: float = 0.0
    outage: bool = False
    hang_s: float = 5.0
    _pending: deque[str] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, n: int = 1, kind: str = "503") -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {KINDS}")
        with self._lock:
            self._pending.extend([kind] * n)

    def take_http(self) -> str | None:
        """The proxy-level fault (502/503/504/timeout) for the request arriving now, if next."""
        with self._lock:
            if self._pending and self._pending[0] != "serialization":
                return self._pending.popleft()
            return None

    def take_serialization(self) -> bool:
        """Whether the model call being run now must fail with a serialization error."""
        with self._lock:
            if self._pending and self._pending[0] == "serialization":
                self._pending.popleft()
                return True
            return False

    @property
    def pending(self) -> int:
        return len(self._pending)

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()
        self.latency_s = 0.0
        self.outage = False
