"""The store agent: keeps a store selling offline, loses nothing, syncs on reconnect.

Its own SQLite (WAL, ``synchronous=FULL``) holds the store's catalog, prices,
stock and the upload queue; the local POS API answers tills from it; the
:class:`Uploader` and :class:`Downloader` keep it in step with the hub.
"""

from storelink.edge.agent import Agent, AgentConfig
from storelink.edge.catalog import PriceView, ProductView, find_product
from storelink.edge.database import LocalDatabase
from storelink.edge.downloader import Downloader
from storelink.edge.hub import HttpHubClient, HubClient
from storelink.edge.pos import PosState, create_pos_app
from storelink.edge.queue import QueuedTransaction, UploadQueue
from storelink.edge.recorder import Recorded, Recorder
from storelink.edge.replica import Replica
from storelink.edge.requests import (
    AdjustmentRequest,
    CountRequest,
    ReturnRequest,
    SaleLineRequest,
    SaleRequest,
)
from storelink.edge.responses import HubResponses, hub_responses
from storelink.edge.status import AgentStatus, read_status
from storelink.edge.uploader import Uploader

__all__ = [
    "AdjustmentRequest",
    "Agent",
    "AgentConfig",
    "AgentStatus",
    "CountRequest",
    "Downloader",
    "HttpHubClient",
    "HubClient",
    "HubResponses",
    "LocalDatabase",
    "PosState",
    "PriceView",
    "ProductView",
    "QueuedTransaction",
    "Recorded",
    "Recorder",
    "Replica",
    "ReturnRequest",
    "SaleLineRequest",
    "SaleRequest",
    "UploadQueue",
    "Uploader",
    "create_pos_app",
    "find_product",
    "hub_responses",
    "read_status",
]
