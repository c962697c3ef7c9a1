"""odoo: change-capture cursors

Revision ID: odoo_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from storelink.db.types import UtcDateTime

revision = "odoo_0001"
down_revision = None
branch_labels = ("odoo",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "odoo_cursors",
        sa.Column("feed", sa.String(64), nullable=False),
        sa.Column("write_date", UtcDateTime),
        sa.Column("record_id", sa.BigInteger, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("poll_requested_at", UtcDateTime),
        sa.PrimaryKeyConstraint("feed", name="pk_odoo_cursors"),
    )


def downgrade() -> None:
    op.drop_table("odoo_cursors")
