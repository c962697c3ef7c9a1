"""Who is calling: the authenticated principal and its role."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """Least-privilege roles (DESIGN promise 7)."""

    STORE = "store"  # its own store's data and sync endpoints
    CHANNEL = "channel"  # its channel's orders, customers, lookups
    PARTNER = "partner"  # its channel's webhook endpoints and lookups
    SUPPORT = "support"  # read-only, personal data masked
    ADMIN = "integration_admin"  # everything, configuration


@dataclass(frozen=True)
class Principal:
    """An authenticated API client. ``store``/``channel`` scope store and channel roles."""

    client_id: str
    role: Role
    store: str | None = None
    channel: str | None = None
    #: per-client rate limit override carried in the token (else the role's default)
    rate_per_s: float | None = None
    burst: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN
