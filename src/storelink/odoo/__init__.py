"""The Odoo connector: transports, version dialects, batching, idempotent writes, capture.

::

    async with open_connector(settings.odoo) as odoo:
        await odoo.upsert_products(products)
        results = await odoo.record_store_sales(sales)

See :mod:`storelink.odoo.connector` for the entity-by-entity mapping and keys,
:mod:`storelink.odoo.capture` for change capture and :mod:`storelink.odoo.versions`
for every difference between Odoo 16, 17, 18 and 19.
"""

from storelink.odoo.adjustments import AdjustmentResult
from storelink.odoo.backend import Call, Credentials, Endpoint, RpcBackend
from storelink.odoo.breaker import CircuitBreaker, CircuitState
from storelink.odoo.capture import HINTS, ChangeCapture, Cursor, PollHints
from storelink.odoo.check import Readiness, check
from storelink.odoo.client import ConnectOptions, OdooClient, connect
from storelink.odoo.connector import OdooConnector, connect_options, open_connector, order_key
from storelink.odoo.feeds import Feed, default_feeds
from storelink.odoo.order_sync import OrderSync
from storelink.odoo.results import OrderResult, SaleResult, StoreBinding
from storelink.odoo.retry import RetryPolicy
from storelink.odoo.versions import Dialect, dialect_for

__all__ = [
    "HINTS",
    "AdjustmentResult",
    "Call",
    "ChangeCapture",
    "CircuitBreaker",
    "CircuitState",
    "ConnectOptions",
    "Credentials",
    "Cursor",
    "Dialect",
    "Endpoint",
    "Feed",
    "OdooClient",
    "OdooConnector",
    "OrderResult",
    "OrderSync",
    "PollHints",
    "Readiness",
    "RetryPolicy",
    "RpcBackend",
    "SaleResult",
    "StoreBinding",
    "check",
    "connect",
    "connect_options",
    "default_feeds",
    "dialect_for",
    "open_connector",
    "order_key",
]
