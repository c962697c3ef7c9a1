"""Configuration: one TOML file plus ``STORELINK_*`` environment variables.

Environment variables override the file; nested keys use a double underscore
(``STORELINK_ODOO__URL``). Everything defaults to embedded operation under
``./storelink-data/``: SQLite for state, the embedded event log, the Odoo
emulator when no Odoo URL is set.
"""

from storelink.config.loader import describe, load_settings, mask_secrets
from storelink.config.settings import Settings

__all__ = ["Settings", "describe", "load_settings", "mask_secrets"]
