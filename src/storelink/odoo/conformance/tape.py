"""The tape a scenario is recorded on: steps, each a list of entries in the order they happened.

An entry is a plain JSON object with a ``kind``:

* ``call`` — one exchange with Odoo (see :mod:`~storelink.odoo.conformance.transport`);
* ``check`` — a value the scenario read back after an action (quantities on
  hand, order states, amounts, counts by key), compared by value on replay;
* ``outcome`` — how one action ended: ``{"ok": true}`` or the storelink error
  type and message it raised (the scenario then goes on with the next action).

Every entry carries the ``action`` it belongs to.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from storelink.errors import StorelinkError

T = TypeVar("T")


class Tape:
    """Entries per step; :meth:`run` records an action's outcome, :meth:`check` a read-back."""

    def __init__(self) -> None:
        self.steps: dict[str, list[dict[str, Any]]] = {}
        self._step = "00-setup"
        self._action = "setup"

    def start(self, step: str) -> None:
        self._step = step
        self._action = "setup"
        self.steps.setdefault(step, [])

    def add(self, entry: dict[str, Any]) -> None:
        self.steps.setdefault(self._step, []).append({"action": self._action, **entry})

    def check(self, name: str, value: Any) -> None:
        """Record ``value`` (plain JSON) as what ``name`` reads back now."""
        self.add({"kind": "check", "check": name, "value": value})

    async def run(
        self,
        action: str,
        operation: Callable[[], Awaitable[T]],
        summary: Callable[[T], Any] | None = None,
    ) -> T | None:
        """Run ``operation`` as ``action``; its result, or ``None`` when it raised.

        With ``summary``, what it makes of the result is recorded as check ``action``.
        """
        previous, self._action = self._action, action
        try:
            result = await operation()
        except Exception as exc:
            self.add({"kind": "outcome", "ok": False, "error": _error(exc)})
            return None
        else:
            self.add({"kind": "outcome", "ok": True})
            if summary is not None:
                self.check(action, summary(result))
            return result
        finally:
            self._action = previous

    async def probe(self, name: str, read: Callable[[], Awaitable[Any]]) -> None:
        """Run ``read`` as action ``name`` and record what it returned as check ``name``."""
        previous, self._action = self._action, name
        try:
            value = await read()
        except Exception as exc:
            self.add({"kind": "outcome", "ok": False, "error": _error(exc)})
        else:
            self.check(name, value)
        finally:
            self._action = previous


def _error(exc: Exception) -> dict[str, Any]:
    error: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, StorelinkError) and exc.context.get("odoo_exception"):
        error["odoo_exception"] = exc.context["odoo_exception"]
    return error
