"""This process's name among hub workers: the holder it writes into the lease table.

``STORELINK_WORKER_ID`` wins (a supervisor naming its children), then
``hub.worker_id`` from the settings, else ``hostname:pid:random`` made once per
process (made again after a ``fork``, whose child is another worker). A configured
id must differ per process; if two processes share one anyway, leases stay safe
(a lease is never re-entered, so each tenure still has its own fencing token, see
:mod:`storelink.db.leases`) but they compete as one worker in the drain's fair share.
"""

from __future__ import annotations

import os
import secrets
import socket

ENV = "STORELINK_WORKER_ID"

_generated: dict[int, str] = {}


def worker_id(configured: str | None = None) -> str:
    """This process's worker id (see the module docstring)."""
    named = os.environ.get(ENV) or configured
    if named:
        return named
    pid = os.getpid()
    if pid not in _generated:
        _generated[pid] = f"{socket.gethostname()}:{pid}:{secrets.token_hex(3)}"
    return _generated[pid]
