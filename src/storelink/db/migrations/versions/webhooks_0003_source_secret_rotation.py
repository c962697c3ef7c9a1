"""webhooks: inbound source secrets move to their own table so a source can rotate them

Each source keeps its current secret and, after a rotation, the old ones until
their overlap window ends (``expires_at``), like ``webhook_secrets``. The sealed
values are copied as they are: they are sealed for their source's name, not for
a table, so they still open.

Revision ID: webhooks_0003
Revises: webhooks_0002
"""

import sqlalchemy as sa
from alembic import op

from storelink.db.types import BigId, UtcDateTime

revision = "webhooks_0003"
down_revision = "webhooks_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_source_secrets",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime),
        sa.PrimaryKeyConstraint("id", name="pk_inbound_source_secrets"),
        sa.ForeignKeyConstraint(
            ["source"],
            ["inbound_sources.name"],
            name="fk_inbound_source_secrets_source_inbound_sources",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_inbound_source_secrets_source", "inbound_source_secrets", ["source"])
    op.execute(
        sa.text(
            "INSERT INTO inbound_source_secrets (source, sealed, created_at)"
            " SELECT name, sealed, created_at FROM inbound_sources"
        )
    )
    # a plain ALTER TABLE … DROP COLUMN (SQLite >= 3.35), not a batch copy: rebuilding
    # inbound_sources would drop the parent table and, with foreign keys on, cascade
    # the delete into the secrets just copied
    op.drop_column("inbound_sources", "sealed")
