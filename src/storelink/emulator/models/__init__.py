"""The models and business methods of each emulated Odoo version."""

from __future__ import annotations

from storelink.emulator.models import account, base, generic, pos, product, sale, stock
from storelink.emulator.registry import Registry

SUPPORTED_VERSIONS = (16, 17, 18, 19)


def build_registry(version: int) -> Registry:
    """Everything Odoo ``version`` offers that the emulator knows about."""
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(
            f"unsupported Odoo version {version}; expected one of {SUPPORTED_VERSIONS}"
        )
    registry = Registry(version)
    for module in (generic, base, product, stock, account, sale, pos):
        module.install(registry)
    return registry


__all__ = ["SUPPORTED_VERSIONS", "build_registry"]
