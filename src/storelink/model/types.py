"""Field types shared by every canonical entity.

Money and quantities are :class:`~decimal.Decimal`, never ``float``: a float
such as ``0.1`` cannot be represented exactly and a till that rounds wrongly
owes the finance team an explanation. Timestamps are timezone-aware and kept
in UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

_DECIMAL_TEXT = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


def _reject_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError(
            "must be a decimal string or an integer, not a float (floats cannot hold money exactly)"
        )
    if isinstance(value, str) and not _DECIMAL_TEXT.match(value):
        raise ValueError(f"must be a plain decimal like '12.50', not {value!r}")
    return value


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _finite(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite number")
    return value


_decimal_as_string = PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json")


def _decimal_schema(*, signed: bool) -> WithJsonSchema:
    # What the validators accept: an integer, or a decimal string. Never a JSON float.
    sign = "-?" if signed else ""
    integer: dict[str, object] = (
        {"type": "integer"} if signed else {"type": "integer", "minimum": 0}
    )
    return WithJsonSchema(
        {
            "anyOf": [
                integer,
                {"type": "string", "pattern": f"^{sign}[0-9]+(\\.[0-9]+)?$"},
            ],
            "format": "decimal",
        }
    )


#: A signed decimal amount of money (string or int in JSON, never a float).
Money = Annotated[
    Decimal,
    BeforeValidator(_reject_float),
    AfterValidator(_finite),
    _decimal_as_string,
    _decimal_schema(signed=True),
]
#: Money that may not be negative (prices, line amounts).
NonNegativeMoney = Annotated[
    Decimal,
    BeforeValidator(_reject_float),
    AfterValidator(_finite),
    Field(ge=0),
    _decimal_as_string,
    _decimal_schema(signed=False),
]
#: A signed decimal quantity (units, kilograms, litres).
Quantity = Money
#: A quantity that must be above zero.
PositiveQuantity = Annotated[
    Decimal,
    BeforeValidator(_reject_float),
    AfterValidator(_finite),
    Field(gt=0),
    _decimal_as_string,
    _decimal_schema(signed=False),
]
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
