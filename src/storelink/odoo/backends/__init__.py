"""The protocols storelink speaks to Odoo, one module each, all :class:`RpcBackend`."""

from storelink.odoo.backends.json2 import Json2Backend
from storelink.odoo.backends.jsonrpc import JsonRpcBackend
from storelink.odoo.backends.xmlrpc import XmlRpcBackend

__all__ = ["Json2Backend", "JsonRpcBackend", "XmlRpcBackend"]
