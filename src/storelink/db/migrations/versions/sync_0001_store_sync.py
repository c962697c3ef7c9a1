"""sync: uploaded store transactions, the read-model revision clock, store contacts

Revision ID: sync_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from storelink.db.types import BigId, UtcDateTime

revision = "sync_0001"
down_revision = None
branch_labels = ("sync",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_transactions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("store", sa.String(32), nullable=False),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("flagged", sa.Boolean, nullable=False),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("written_at", UtcDateTime),
        sa.Column("applied_revision", sa.BigInteger),
        sa.PrimaryKeyConstraint("id", name="pk_sync_transactions"),
        sa.UniqueConstraint("store", "uuid", name="uq_sync_transactions_store_uuid"),
    )
    op.create_index("ix_sync_transactions_status", "sync_transactions", ["status", "id"])
    op.create_index(
        "ix_sync_transactions_applied", "sync_transactions", ["store", "applied_revision"]
    )
    state = op.create_table(
        "sync_state",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.Column("horizon", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sync_state"),
    )
    op.bulk_insert(state, [{"id": 1, "revision": 0, "horizon": 0}])
    op.create_table(
        "store_contacts",
        sa.Column("store", sa.String(32), nullable=False),
        sa.Column("last_contact_at", UtcDateTime, nullable=False),
        sa.Column("last_upload_at", UtcDateTime),
        sa.Column("last_download_at", UtcDateTime),
        sa.PrimaryKeyConstraint("store", name="pk_store_contacts"),
    )
