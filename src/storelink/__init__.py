"""storelink: an integration hub for retailers that run Odoo."""

__version__ = "0.1.0"
