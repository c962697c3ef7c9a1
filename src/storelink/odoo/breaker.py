"""A circuit breaker in front of Odoo, with its state as a Prometheus gauge.

Closed: calls pass; ``threshold`` consecutive transient failures open it.
Open: calls fail fast with :class:`CircuitOpenError` for ``reset_s`` seconds.
Half-open: one trial call passes; its success closes the breaker, its failure
opens it again. Business errors prove Odoo is up, so they count as success.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import IntEnum

from prometheus_client import Counter, Gauge

from storelink.errors import CircuitOpenError
from storelink.ops.metrics import REGISTRY

CIRCUIT_STATE = Gauge(
    "storelink_odoo_circuit_state",
    "Odoo circuit breaker state (0 closed, 1 half-open, 2 open)",
    ["target"],
    registry=REGISTRY,
)
CIRCUIT_OPENED = Counter(
    "storelink_odoo_circuit_opened_total",
    "Times the Odoo circuit breaker opened",
    ["target"],
    registry=REGISTRY,
)


class CircuitState(IntEnum):
    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class CircuitBreaker:
    """Guards calls to one Odoo target. ``clock`` is monotonic seconds (tests pass their own)."""

    def __init__(
        self,
        target: str,
        *,
        threshold: int = 5,
        reset_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.target = target
        self.threshold = threshold
        self.reset_s = reset_s
        self._clock = clock
        self._failures = 0
        self._opened_at = 0.0
        self._state = CircuitState.CLOSED
        self._trial_running = False
        CIRCUIT_STATE.labels(target).set(CircuitState.CLOSED)

    @property
    def state(self) -> CircuitState:
        if self._state is CircuitState.OPEN and self._clock() - self._opened_at >= self.reset_s:
            self._set(CircuitState.HALF_OPEN)
        return self._state

    def before_call(self) -> None:
        """Raise :class:`CircuitOpenError` unless a call may go to Odoo now."""
        state = self.state
        if state is CircuitState.OPEN:
            retry_in = self.reset_s - (self._clock() - self._opened_at)
            raise CircuitOpenError(
                f"Odoo circuit is open after {self._failures} failures; retry in {retry_in:.1f}s",
                target=self.target,
                retry_in_s=retry_in,
            )
        if state is CircuitState.HALF_OPEN:
            if self._trial_running:
                raise CircuitOpenError(
                    "Odoo circuit is half-open and a trial call is running", target=self.target
                )
            self._trial_running = True

    def record_success(self) -> None:
        self._trial_running = False
        self._failures = 0
        if self._state is not CircuitState.CLOSED:
            self._set(CircuitState.CLOSED)

    def record_failure(self) -> None:
        self._trial_running = False
        self._failures += 1
        if self._state is CircuitState.HALF_OPEN or self._failures >= self.threshold:
            self._opened_at = self._clock()
            if self._state is not CircuitState.OPEN:
                CIRCUIT_OPENED.labels(self.target).inc()
            self._set(CircuitState.OPEN)

    def _set(self, state: CircuitState) -> None:
        self._state = state
        CIRCUIT_STATE.labels(self.target).set(state)
