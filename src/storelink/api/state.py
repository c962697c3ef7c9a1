"""What the hub's request handlers share: settings, the database, clock, tokens, limits."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.api.ratelimit import RateLimiter, create_limiter
from storelink.api.reads import Reader
from storelink.api.tokens import SigningKeys, TokenService
from storelink.config import Settings
from storelink.model import utcnow
from storelink.ops.health import Health
from storelink.ops.pii import Cipher, Vault, load_vault_key

Clock = Callable[[], datetime]


def current_worker_id() -> str:
    """This hub process's name among the workers sharing one database (claims' owner).

    The one place that says it, to be pointed at the process-wide worker id
    (``hub.worker_id`` / ``STORELINK_WORKER_ID``) once the hub has one.
    """
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class HubState:
    settings: Settings
    engine: AsyncEngine
    health: Health = field(default_factory=Health)
    #: the hub's notion of now (tests pass a controllable clock)
    clock: Clock = utcnow
    #: who holds this process's claims and leases (tests give two hubs two names)
    worker_id: str = field(default_factory=current_worker_id)
    tokens: TokenService = field(init=False)
    rate_limiter: RateLimiter = field(init=False)
    vault: Vault = field(init=False)
    #: seals what the hub keeps at rest under the vault key (PII, stored answers)
    cipher: Cipher = field(init=False)
    #: lookups of the read model (inline on SQLite, see :mod:`storelink.api.reads`)
    reader: Reader = field(init=False)

    def __post_init__(self) -> None:
        cipher = self.cipher = Cipher(load_vault_key(self.settings))
        keys = SigningKeys(self.engine, cipher, self.clock)
        self.tokens = TokenService(
            self.engine,
            keys,
            audience=self.settings.api.token_audience,
            ttl_s=self.settings.api.token_ttl_s,
            clock=self.clock,
        )
        self.rate_limiter = create_limiter(
            self.settings.api, self.engine, lambda: self.clock().timestamp()
        )
        self.vault = Vault(cipher)
        self.reader = Reader(self.engine)

    async def aclose(self) -> None:
        """Release what the state opened itself (not the engine, which may be shared)."""
        self.reader.close()
        await self.rate_limiter.aclose()


async def hub_state(request: Request) -> HubState:
    """FastAPI dependency: the running hub's shared state."""
    state: HubState = request.app.state.hub
    return state
