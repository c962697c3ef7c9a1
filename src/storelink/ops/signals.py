"""Stopping long-running commands cleanly on SIGINT/SIGTERM.

Every long-running command (``hub serve``, ``agent run``, ``webhooks worker``)
runs until an :class:`asyncio.Event` is set, finishing the work in flight
instead of dying mid-transaction. This sets that event on the signals a
terminal (Ctrl-C) or a service manager (SIGTERM) sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM; call from inside the running loop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # not available on Windows' proactor loop: Ctrl-C then ends the process the usual way
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    return stop
