"""What the hub's request handlers share: settings, the database, health checks."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.config import Settings
from storelink.ops.health import Health


@dataclass
class HubState:
    settings: Settings
    engine: AsyncEngine
    health: Health = field(default_factory=Health)


def hub_state(request: Request) -> HubState:
    """FastAPI dependency: the running hub's shared state."""
    state: HubState = request.app.state.hub
    return state
