"""The live view of a sandbox run (rich): stores, Odoo, events, webhooks, progress.

The runner builds a :class:`Snapshot` a few times a second and :func:`render`
turns it into a renderable for :class:`rich.live.Live`; keeping the view a pure
function of the snapshot makes it cheap to test and impossible to block the run.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text


@dataclass(frozen=True)
class StoreView:
    code: str
    online: bool
    #: transactions recorded at the store and not yet accepted by the hub
    queue_depth: int
    #: seconds since the store's oldest unsent transaction (0 when its queue is empty)
    sync_lag_s: float


@dataclass(frozen=True)
class Snapshot:
    phase: str
    elapsed_s: float
    posted: int
    total: int
    stores: tuple[StoreView, ...]
    odoo_breaker: str
    odoo_up: bool
    hub_up: bool
    events_per_s: float
    webhooks_ok: int
    webhooks_retrying: int
    webhooks_dead: int
    #: one line per fault window open right now
    active_faults: tuple[str, ...] = ()


def _stores_table(stores: tuple[StoreView, ...]) -> Table:
    table = Table(title="stores", title_justify="left", expand=False, padding=(0, 1))
    # long estates fold into several column groups so 50 stores still fit a laptop screen
    groups = max(1, min(4, (len(stores) + 12) // 13))
    for _ in range(groups):
        table.add_column("store")
        table.add_column("link")
        table.add_column("queue", justify="right")
        table.add_column("lag s", justify="right")
    rows = (len(stores) + groups - 1) // groups
    for r in range(rows):
        cells: list[RenderableType] = []
        for g in range(groups):
            n = g * rows + r
            if n >= len(stores):
                cells += ["", "", "", ""]
                continue
            s = stores[n]
            link = Text("online", "green") if s.online else Text("OFFLINE", "bold red")
            cells += [s.code, link, str(s.queue_depth), f"{s.sync_lag_s:.1f}"]
        table.add_row(*cells)
    return table


def render(snapshot: Snapshot) -> RenderableType:
    """The whole view for one snapshot."""
    status = Table.grid(padding=(0, 2))
    status.add_column()
    status.add_column()
    breaker_style = {"closed": "green", "half_open": "yellow", "open": "bold red"}
    status.add_row(
        "hub",
        Text("up", "green") if snapshot.hub_up else Text("RESTARTING", "bold yellow"),
    )
    odoo = Text("reachable" if snapshot.odoo_up else "DOWN", "green" if snapshot.odoo_up else "red")
    odoo.append(f"  breaker {snapshot.odoo_breaker}", breaker_style.get(snapshot.odoo_breaker, ""))
    status.add_row("odoo", odoo)
    status.add_row("events/s", f"{snapshot.events_per_s:,.0f}")
    webhooks = Text(f"{snapshot.webhooks_ok} ok  ", "green")
    webhooks.append(f"{snapshot.webhooks_retrying} retrying  ", "yellow")
    webhooks.append(f"{snapshot.webhooks_dead} dead", "red")
    status.add_row("webhooks", webhooks)
    status.add_row("faults", ", ".join(snapshot.active_faults) or "none")
    done = snapshot.posted / snapshot.total if snapshot.total else 1.0
    progress = Table.grid(padding=(0, 1))
    progress.add_row(
        Text(f"{snapshot.phase:<12}"),
        ProgressBar(total=100, completed=done * 100, width=40),
        Text(f"{snapshot.posted}/{snapshot.total} transactions  {snapshot.elapsed_s:6.1f}s"),
    )
    return Group(progress, status, _stores_table(snapshot.stores))
