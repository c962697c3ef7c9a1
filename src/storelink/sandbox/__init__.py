"""A simulated retail estate: stores, tills, channels, partners, flaky links and kills.

``storelink sandbox`` runs it end to end::

    from storelink.sandbox import SandboxOptions, run_sandbox

    result = await run_sandbox(SandboxOptions(stores=3, sales=200), console=Console())
    result.passed, result.document["sales_in_odoo"]

Names are imported on first use, so ``storelink.sandbox.options`` stays cheap to import
without pulling in the hub, the agents and the bus. The Odoo emulator it runs against
when no real Odoo is given lives in ``storelink.emulator``.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "Defect": "storelink.sandbox.options",
    "SandboxOptions": "storelink.sandbox.options",
    "SandboxResult": "storelink.sandbox.runner",
    "RunStats": "storelink.sandbox.runner",
    "run_sandbox": "storelink.sandbox.runner",
    "Estate": "storelink.sandbox.estate",
    "generate_estate": "storelink.sandbox.estate",
    "FaultSchedule": "storelink.sandbox.faults",
    "load_schedule": "storelink.sandbox.faults",
    "default_schedule": "storelink.sandbox.faults",
    "ChannelSimulator": "storelink.sandbox.channel",
    "ChannelObservation": "storelink.sandbox.verify",
    "Observations": "storelink.sandbox.verify",
    "Verification": "storelink.sandbox.verify",
    "verify": "storelink.sandbox.verify",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'storelink.sandbox' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
