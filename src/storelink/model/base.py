"""The base every canonical entity derives from."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class CanonicalModel(BaseModel):
    """Immutable, strict about unknown fields, JSON round-trippable.

    Entities are values: to change one, make a new one with ``model_copy(update=…)``.
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        validate_default=True,
        ser_json_timedelta="iso8601",
    )
