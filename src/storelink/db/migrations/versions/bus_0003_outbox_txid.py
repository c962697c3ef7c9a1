"""bus: outbox rows remember their writing transaction (PostgreSQL commit-order gate)

Revision ID: bus_0003
Revises: bus_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "bus_0003"
down_revision = "bus_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("txid", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("txid")
