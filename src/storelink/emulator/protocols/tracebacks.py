"""Formatting a server-side exception the way Odoo's ``serialize_exception`` does."""

from __future__ import annotations

import traceback
from typing import Any

from storelink.emulator.exceptions import wire_name


def debug_text(exc: BaseException) -> str:
    """The traceback text Odoo puts in ``debug`` / XML-RPC fault strings."""
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    text = "".join(lines)
    # name the exception like the real server would (module-qualified)
    last = lines[-1] if lines else ""
    qualified = f"{wire_name(exc).removeprefix('builtins.')}: {exc}\n"
    return text[: len(text) - len(last)] + qualified


def serialize_exception(exc: BaseException) -> dict[str, Any]:
    return {
        "name": wire_name(exc),
        "debug": debug_text(exc),
        "message": str(exc),
        "arguments": [str(exc)],
        "context": {},
    }
