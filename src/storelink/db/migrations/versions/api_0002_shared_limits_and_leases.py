"""api: leases on in-progress Idempotency-Key claims; token buckets shared by hub workers

Claims written before this revision have no lease; they count as expired, since
their workers were stopped for the upgrade.

Revision ID: api_0002
Revises: api_0001
"""

import sqlalchemy as sa
from alembic import op

from storelink.db.types import UtcDateTime

revision = "api_0002"
down_revision = "api_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_idempotency") as batch:
        batch.add_column(sa.Column("owner", sa.String(160)))
        batch.add_column(sa.Column("lease_token", sa.String(32)))
        batch.add_column(sa.Column("lease_expires_at", UtcDateTime))
    op.create_table(
        "api_rate_limit_buckets",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("tokens", sa.Float, nullable=False),
        sa.Column("updated_s", sa.Float, nullable=False),
        sa.Column("granted", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_api_rate_limit_buckets"),
    )


def downgrade() -> None:
    op.drop_table("api_rate_limit_buckets")
    with op.batch_alter_table("api_idempotency") as batch:
        batch.drop_column("lease_expires_at")
        batch.drop_column("lease_token")
        batch.drop_column("owner")
