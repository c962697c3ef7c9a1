"""Field types shared by every canonical entity.

Money and quantities are :class:`~decimal.Decimal`, never ``float``: a float
such as ``0.1`` cannot be represented exactly and a till that rounds wrongly
owes the finance team an explanation. Timestamps are timezone-aware and kept
in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, PlainSerializer


def _reject_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError(
            "must be a decimal string or an integer, not a float (floats cannot hold money exactly)"
        )
    return value


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _finite(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite number")
    return value


_decimal_as_string = PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json")

#: A signed decimal amount of money (string or int in JSON, never a float).
Money = Annotated[
    Decimal,
    BeforeValidator(_reject_float),
    AfterValidator(_finite),
    _decimal_as_string,
    Field(json_schema_extra={"format": "decimal"}),
]
#: Money that may not be negative (prices, line amounts).
NonNegativeMoney = Annotated[Money, Field(ge=0)]
#: A signed decimal quantity (units, kilograms, litres).
Quantity = Annotated[
    Decimal,
    BeforeValidator(_reject_float),
    AfterValidator(_finite),
    _decimal_as_string,
    Field(json_schema_extra={"format": "decimal"}),
]
PositiveQuantity = Annotated[Quantity, Field(gt=0)]
#: A timezone-aware timestamp, normalised to UTC. Naive datetimes are rejected.
UtcDateTime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
#: ISO 4217 currency code.
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])]
#: A stock keeping unit code.
Sku = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._\-/]+$")]
#: A short code naming a store, location or channel.
Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")]


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)
