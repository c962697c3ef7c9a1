"""Column types that keep storelink's data exact on every database.

* :class:`UtcDateTime`: timezone-aware UTC in and out (SQLite keeps no zone).
* :class:`Amount`: a :class:`~decimal.Decimal` with 4 decimal places. PostgreSQL
  stores ``NUMERIC(18,4)``; SQLite, which has no exact decimal type, stores
  an integer count of ten-thousandths, so money never passes through a float.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, Numeric
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

SCALE = 4
_UNITS = Decimal(10) ** SCALE
_QUANTUM = Decimal(1).scaleb(-SCALE)


class UtcDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; refuses naive ones; returns aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Amount(TypeDecorator[Decimal]):
    """An exact decimal with 4 places (money and quantities)."""

    impl = Numeric(18, SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(18, SCALE, asdecimal=True))

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("float given to an Amount column; use Decimal")
        exact = Decimal(value).quantize(_QUANTUM)
        if dialect.name == "sqlite":
            return int(exact * _UNITS)
        return exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / _UNITS).quantize(_QUANTUM)
        return Decimal(value).quantize(_QUANTUM)


#: A 64-bit auto-increment primary key; on SQLite an INTEGER so it aliases the rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")
