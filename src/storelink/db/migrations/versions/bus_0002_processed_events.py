"""bus: processed event ids (consumer dedup)

Revision ID: bus_0002
Revises: bus_0001
"""

import sqlalchemy as sa
from alembic import op

from storelink.db.types import UtcDateTime

revision = "bus_0002"
down_revision = "bus_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "processed_events",
        sa.Column("group_name", sa.String(128), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("processed_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("group_name", "event_id", name="pk_processed_events"),
    )
    op.create_index("ix_processed_events_processed_at", "processed_events", ["processed_at"])
