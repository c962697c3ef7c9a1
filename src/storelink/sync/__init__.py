"""The hub side of store sync: uploads, delta downloads, and the drain into Odoo.

Agents upload transactions to ``/v1/sync/stores/{code}/transactions`` (kept
durably with their events, once per store + uuid) and pull deltas of
products, prices and stock from ``/v1/sync/stores/{code}/deltas/{dataset}``.
The :class:`Drain` writes recorded transactions to Odoo at Odoo's pace and
publishes the resulting stock movements and positions.
"""

from storelink.sync.backoff import Backoff
from storelink.sync.deltas import read_delta
from storelink.sync.drain import Drain, DrainPolicy
from storelink.sync.revisions import clock, next_revision, raise_horizon
from storelink.sync.uploads import record_upload
from storelink.sync.wire import (
    Confirmation,
    Dataset,
    DeltaPage,
    StockRow,
    StoreTransaction,
    TransactionKind,
    UploadBatch,
    UploadResult,
)
from storelink.sync.writer import OdooWriter, WriteOutcome

__all__ = [
    "Backoff",
    "Confirmation",
    "Dataset",
    "DeltaPage",
    "Drain",
    "DrainPolicy",
    "OdooWriter",
    "StockRow",
    "StoreTransaction",
    "TransactionKind",
    "UploadBatch",
    "UploadResult",
    "WriteOutcome",
    "clock",
    "next_revision",
    "raise_horizon",
    "read_delta",
    "record_upload",
]
