"""Storage: SQLAlchemy metadata, engine set-up and Alembic migrations.

SQLite (WAL, ``synchronous=FULL``) is the embedded default; PostgreSQL through
psycopg 3 when ``database_url`` says so. Each part keeps its tables in its own
``tables.py`` on the shared :data:`metadata` and its migrations on its own
Alembic branch (``branch_labels = ("<part>",)``); :func:`upgrade` applies all heads.
"""

from storelink.db.engine import create_engine, session_factory
from storelink.db.metadata import metadata
from storelink.db.migrate import current_heads, upgrade

__all__ = ["create_engine", "current_heads", "metadata", "session_factory", "upgrade"]
