"""Tables of the odoo part: change-capture cursors."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table

from storelink.db.metadata import metadata
from storelink.db.types import UtcDateTime

#: One durable ``(write_date, record_id)`` cursor per polled Odoo model. Everything
#: written before second ``write_date`` has been captured, and within that second
#: every record with ``id <= record_id``. ``version`` grows on each advance so two
#: pollers racing on one model cannot both commit (compare-and-swap).
odoo_cursors = Table(
    "odoo_cursors",
    metadata,
    Column("feed", String(64), primary_key=True),
    Column("write_date", UtcDateTime),
    Column("record_id", BigInteger, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    #: set by the webhook intake: poll this feed now
    Column("poll_requested_at", UtcDateTime),
)
