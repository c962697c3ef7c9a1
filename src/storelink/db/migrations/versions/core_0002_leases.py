"""core: named leases with fencing tokens, shared by hub worker processes

Revision ID: core_0002
Revises: core_0001
"""

import sqlalchemy as sa
from alembic import op

from storelink.db.types import UtcDateTime

revision = "core_0002"
down_revision = "core_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("token", sa.BigInteger, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.Column("acquired_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )


def downgrade() -> None:
    op.drop_table("leases")
