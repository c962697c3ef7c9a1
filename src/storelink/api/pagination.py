"""Opaque cursors for keyset pagination (the cursor is the last key seen)."""

from __future__ import annotations

import base64
import binascii

from storelink.errors import ValidationError


def encode_cursor(last_key: str) -> str:
    return base64.urlsafe_b64encode(last_key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValidationError("cursor is not one this API handed out", field="cursor") from exc
