"""webhooks: secrets sealed at rest (``sealed`` replaces the clear ``secret`` columns)

Sealing needs the vault key, which migrations do not have; nothing has shipped,
so rows written in clear by ``webhooks_0001`` (development databases only) are
dropped: rotate or re-add the affected endpoints and sources.

Revision ID: webhooks_0002
Revises: webhooks_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "webhooks_0002"
down_revision = "webhooks_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("webhook_secrets", "inbound_sources"):
        # a clear secret must not survive the migration, and NOT NULL needs no rows
        op.execute(sa.text(f"DELETE FROM {table}"))
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("sealed", sa.LargeBinary, nullable=False))
            batch.drop_column("secret")
