"""Liveness and readiness, as served at ``/healthz``.

Liveness is "the process answers". Readiness is every registered check passing;
a failing check reports its reason so an operator knows what to fix.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

#: a readiness check returns ``None`` when ready, or the reason it is not
ReadinessCheck = Callable[[], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class HealthReport:
    ready: bool
    reasons: dict[str, str]

    def as_dict(self) -> dict[str, object]:
        return {
            "status": "ok" if self.ready else "not_ready",
            "live": True,
            "ready": self.ready,
            "reasons": self.reasons,
        }


@dataclass
class Health:
    checks: dict[str, ReadinessCheck] = field(default_factory=dict)

    def register(self, name: str, check: ReadinessCheck) -> None:
        self.checks[name] = check

    async def report(self) -> HealthReport:
        reasons: dict[str, str] = {}
        for name, check in self.checks.items():
            try:
                reason = await check()
            except Exception as exc:  # a check that crashes is a reason, not a 500
                reason = f"{type(exc).__name__}: {exc}"
            if reason is not None:
                reasons[name] = reason
        return HealthReport(ready=not reasons, reasons=reasons)
