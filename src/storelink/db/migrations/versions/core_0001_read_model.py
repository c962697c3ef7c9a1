"""core: the hub's read model (stores, locations, products, prices, stock positions)

Revision ID: core_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from storelink.db.types import Amount, UtcDateTime

revision = "core_0001"
down_revision = None
branch_labels = ("core",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stores",
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("location", sa.String(32), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("pricelist", sa.String(32)),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_stores"),
    )
    op.create_table(
        "locations",
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("store", sa.String(32)),
        sa.PrimaryKeyConstraint("code", name="pk_locations"),
    )
    op.create_table(
        "products",
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("barcode", sa.String(32)),
        sa.Column("uom", sa.String(32), nullable=False),
        sa.Column("tax_class", sa.String(32), nullable=False),
        sa.Column("category", sa.String(128)),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("sku", name="pk_products"),
        sa.UniqueConstraint("barcode", name="uq_products_barcode"),
    )
    op.create_index("ix_products_revision", "products", ["revision"])
    op.create_table(
        "prices",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("scope_kind", sa.String(16), nullable=False),
        sa.Column("scope_code", sa.String(32), nullable=False),
        sa.Column("amount", Amount, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("valid_from", UtcDateTime, nullable=False),
        sa.Column("valid_to", UtcDateTime),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_prices"),
        sa.UniqueConstraint(
            "sku",
            "scope_kind",
            "scope_code",
            "version",
            name="uq_prices_sku_scope_kind_scope_code_version",
        ),
    )
    op.create_index("ix_prices_lookup", "prices", ["sku", "scope_kind", "scope_code"])
    op.create_index("ix_prices_revision", "prices", ["revision"])
    op.create_table(
        "stock_positions",
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("location", sa.String(32), nullable=False),
        sa.Column("on_hand", Amount, nullable=False),
        sa.Column("reserved", Amount, nullable=False),
        sa.Column("as_of", UtcDateTime, nullable=False),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("sku", "location", name="pk_stock_positions"),
    )
    op.create_index("ix_stock_positions_revision", "stock_positions", ["revision"])
