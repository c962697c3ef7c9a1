"""Authentication and object-level authorisation for every ``/v1`` route.

Routes declare who may call them with a guard, and scope objects with the
``ensure_*`` helpers, which answer 404 (never 403) for objects outside the
caller's store or channel so that their existence does not leak::

    @router.get("/v1/sync/stores/{code}/delta")
    async def delta(code: str, principal: Principal = Depends(require_role(Role.STORE))):
        ensure_store_access(principal, code)
"""

from __future__ import annotations

from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from storelink.api.principal import Principal, Role
from storelink.api.ratelimit import Rate
from storelink.api.state import HubState
from storelink.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
)

_bearer = HTTPBearer(auto_error=False, description="A token from POST /v1/oauth/token")

#: roles that read everything (support only reads, enforced by each write route's guard)
ESTATE_WIDE = frozenset({Role.ADMIN, Role.SUPPORT})


async def authenticate(
    request: Request, response: Response, credentials: HTTPAuthorizationCredentials | None
) -> Principal:
    """The caller behind a valid bearer JWT, within its rate limit (sets the
    ``RateLimit-*`` headers on ``response``)."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:  # a second guard on one route: one check, one rate-limit token
        return known
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationError("a bearer token is required")
    state: HubState = request.app.state.hub
    principal = await state.tokens.verify(credentials.credentials)
    default = state.settings.api.rate_limits.get(principal.role.value)
    if principal.rate_per_s is not None and principal.burst is not None:
        rate: Rate | None = Rate(principal.rate_per_s, principal.burst)
    elif default is not None:
        rate = Rate(default.per_s, default.burst)
    else:
        rate = None
    if rate is not None:
        decision = await state.rate_limiter.take(principal.client_id, rate)
        if not decision.allowed:
            raise RateLimitedError(
                "rate limit exceeded",
                retry_after=decision.retry_after_s,
                headers=decision.headers(),
                client_id=principal.client_id,
            )
        response.headers.update(decision.headers())
    request.state.principal = principal
    return principal


async def current_principal(
    request: Request,
    response: Response,
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
) -> Principal:
    """FastAPI dependency: the caller behind a valid bearer JWT, within its rate limit."""
    return await authenticate(request, response, credentials)


class RoleGuard:
    """A dependency admitting only ``roles``; the route matrix test reads ``roles`` back.

    It authenticates itself rather than depending on :func:`current_principal`: every
    level of FastAPI's dependency tree costs a noticeable share of a lookup.
    """

    def __init__(self, roles: frozenset[Role]) -> None:
        self.roles = roles

    async def __call__(
        self,
        request: Request,
        response: Response,
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ) -> Principal:
        principal = await authenticate(request, response, credentials)
        if principal.role not in self.roles:
            raise PermissionDeniedError(
                f"role {principal.role.value!r} may not call this route",
                role=principal.role.value,
            )
        return principal


def require_role(*roles: Role) -> RoleGuard:
    """Guard for a route; ``integration_admin`` is always admitted."""
    return RoleGuard(frozenset(roles) | {Role.ADMIN})


def can_see_store(principal: Principal, store_code: str) -> bool:
    return principal.role in ESTATE_WIDE or (
        principal.role is Role.STORE and principal.store == store_code
    )


def can_see_channel(principal: Principal, channel: str) -> bool:
    return principal.role in ESTATE_WIDE or (
        principal.role in (Role.CHANNEL, Role.PARTNER) and principal.channel == channel
    )


def ensure_store_access(principal: Principal, store_code: str) -> None:
    """Raise NotFoundError unless ``principal`` may see store ``store_code``."""
    if not can_see_store(principal, store_code):
        raise NotFoundError(f"no store {store_code!r}", store=store_code)


def ensure_channel_access(principal: Principal, channel: str) -> None:
    """Raise NotFoundError unless ``principal`` may see channel ``channel``'s objects."""
    if not can_see_channel(principal, channel):
        raise NotFoundError(f"no channel {channel!r}", channel=channel)


def sees_pii(principal: Principal) -> bool:
    """Whether personal data is shown in clear to ``principal`` (support sees it masked)."""
    return principal.role in (Role.ADMIN, Role.CHANNEL)
