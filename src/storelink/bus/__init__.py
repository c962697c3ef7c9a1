"""The event backbone: transactional outbox, event log backends, relay and consumers.

* :func:`enqueue` writes events in the caller's database transaction;
* :class:`Relay` moves committed outbox rows into the :class:`EventLog`;
* :func:`open_event_log` opens the configured log (embedded SQLite or NATS JetStream);
* :class:`Consumer` runs a handler per event for a durable consumer group, once per
  event id, in order per ``partitionkey``, with retries and dead letters.
"""

from storelink.bus.backend import (
    AppendResult,
    DeadLetter,
    Delivery,
    EventLog,
    GroupStats,
    LoggedEvent,
    LogStats,
    Subscription,
    matches,
)
from storelink.bus.consumer import Consumer, Handler, current_connection
from storelink.bus.eventlog import open_event_log
from storelink.bus.outbox import enqueue
from storelink.bus.relay import Relay
from storelink.bus.retry import RetryPolicy

__all__ = [
    "AppendResult",
    "Consumer",
    "DeadLetter",
    "Delivery",
    "EventLog",
    "GroupStats",
    "Handler",
    "LogStats",
    "LoggedEvent",
    "Relay",
    "RetryPolicy",
    "Subscription",
    "current_connection",
    "enqueue",
    "matches",
    "open_event_log",
]
