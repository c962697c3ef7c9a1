"""HTTP routes: inbound intake and the management of webhook endpoints.

``POST /v1/inbound/{source}`` is authenticated by its Standard Webhooks
signature (no bearer token). ``/v1/webhooks/…`` needs a bearer token: partners
and channels see and manage only their own channel's endpoints, support reads
everything, ``integration_admin`` manages everything. Inbound sources belong to
no channel: only ``integration_admin`` rotates their secrets.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, ConfigDict, Field

from storelink.api.principal import Principal, Role
from storelink.api.problems import TYPE_BASE, problem_response, problem_responses
from storelink.api.security import require_role
from storelink.api.state import HubState, hub_state
from storelink.errors import PermissionDeniedError, ReplayedWebhookError
from storelink.webhooks import recovery
from storelink.webhooks.clock import CallableClock
from storelink.webhooks.endpoints import Endpoint, EndpointSpec, EndpointStore
from storelink.webhooks.intake import Intake
from storelink.webhooks.secrets import SecretBox
from storelink.webhooks.ssrf import URLPolicy

router = APIRouter(tags=["webhooks"])

_managers = require_role(Role.PARTNER, Role.CHANNEL)
_readers = require_role(Role.PARTNER, Role.CHANNEL, Role.SUPPORT)
_admins = require_role()


class InboundAccepted(BaseModel):
    event_id: str
    type: str
    duplicate: bool


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2048, examples=["https://partner.example/hooks"])
    event_types: list[str] = Field(default=["*"], min_length=1, max_length=50)
    sources: list[str] = Field(default_factory=list, max_length=50)
    description: str = Field(default="", max_length=256)
    rate_limit: float | None = Field(default=None, gt=0, le=10_000)
    max_concurrency: int | None = Field(default=None, ge=1, le=1000)
    ordered: bool = False
    #: only integration admins may create endpoints for a channel other than their own
    owner: str | None = Field(default=None, max_length=128)


class EndpointOut(BaseModel):
    id: str
    owner: str | None
    url: str
    description: str
    event_types: list[str]
    sources: list[str]
    rate_limit: float | None
    max_concurrency: int
    ordered: bool
    enabled: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, endpoint: Endpoint) -> EndpointOut:
        return cls(
            id=endpoint.id,
            owner=endpoint.owner,
            url=endpoint.url,
            description=endpoint.description,
            event_types=list(endpoint.event_types),
            sources=list(endpoint.sources),
            rate_limit=endpoint.rate_limit,
            max_concurrency=endpoint.max_concurrency,
            ordered=endpoint.ordered,
            enabled=endpoint.enabled,
            disabled_reason=endpoint.disabled_reason,
            disabled_at=endpoint.disabled_at,
            created_at=endpoint.created_at,
        )


class EndpointCreated(EndpointOut):
    secret: str


class SecretOut(BaseModel):
    secret: str


class SourceRotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: seconds the old secret is still accepted; default ``webhooks.rotation_overlap_s``
    overlap_s: float | None = Field(default=None, ge=0, le=30 * 86_400)


class DisableIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="disabled through the API", min_length=1, max_length=256)


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: datetime
    #: "failed" replays dead-lettered deliveries only; "all" everything since ``since``
    scope: Literal["failed", "all"] = "failed"


class ReplayOut(BaseModel):
    requeued: int


class AttemptOut(BaseModel):
    delivery_id: int
    attempt: int
    attempted_at: datetime
    outcome: str
    status_code: int | None
    latency_ms: float
    response_excerpt: str | None
    error: str | None


class DeliveryOut(BaseModel):
    id: int
    event_id: str
    event_type: str
    event_time: datetime
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None


def _store(state: HubState) -> EndpointStore:
    settings = state.settings.webhooks
    return EndpointStore(
        state.engine,
        policy=URLPolicy.from_settings(settings),
        clock=CallableClock(state.clock),
        rotation_overlap_s=settings.rotation_overlap_s,
        default_concurrency=settings.max_concurrency,
        secret_box=SecretBox.from_settings(state.settings),
    )


def _intake(state: HubState) -> Intake:
    return Intake(
        state.engine,
        clock=CallableClock(state.clock),
        secret_box=SecretBox.from_settings(state.settings),
        rotation_overlap_s=state.settings.webhooks.rotation_overlap_s,
    )


def _scope(principal: Principal) -> str | None:
    """The owner a principal is confined to; None for estate-wide roles."""
    if principal.role in (Role.ADMIN, Role.SUPPORT):
        return None
    if principal.channel is None:
        raise PermissionDeniedError("this client is bound to no channel")
    return principal.channel


@router.post(
    "/v1/inbound/{source}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=InboundAccepted,
    summary="Accept a signed event or command from a registered source",
    responses=problem_responses(401, 404, 409, 422),
)
async def inbound(source: str, request: Request, state: HubState = Depends(hub_state)) -> object:
    try:
        accepted = await _intake(state).accept(source, request.headers, await request.body())
    except ReplayedWebhookError as exc:
        return problem_response(
            409,
            "ReplayedWebhookError",
            detail=exc.message,
            type_=TYPE_BASE + "replayed-webhook",
            instance=request.url.path,
        )
    return InboundAccepted(
        event_id=accepted.event.id, type=accepted.event.type, duplicate=accepted.duplicate
    )


@router.post(
    "/v1/webhooks/endpoints",
    status_code=status.HTTP_201_CREATED,
    response_model=EndpointCreated,
    summary="Create a webhook endpoint (the secret is shown only here)",
)
async def create_endpoint(
    body: EndpointIn,
    principal: Principal = Depends(_managers),
    state: HubState = Depends(hub_state),
) -> EndpointCreated:
    owner = _scope(principal)
    if owner is None:
        owner = body.owner
    elif body.owner not in (None, owner):
        raise PermissionDeniedError("endpoints can only be created for your own channel")
    endpoint, secret = await _store(state).add(
        EndpointSpec(
            url=body.url,
            event_types=tuple(body.event_types),
            sources=tuple(body.sources),
            description=body.description,
            rate_limit=body.rate_limit,
            max_concurrency=body.max_concurrency,
            ordered=body.ordered,
            owner=owner,
        )
    )
    return EndpointCreated(**EndpointOut.of(endpoint).model_dump(), secret=secret)


@router.get("/v1/webhooks/endpoints", summary="List webhook endpoints")
async def list_endpoints(
    principal: Principal = Depends(_readers), state: HubState = Depends(hub_state)
) -> list[EndpointOut]:
    return [EndpointOut.of(e) for e in await _store(state).all(owner=_scope(principal))]


@router.get("/v1/webhooks/endpoints/{endpoint_id}", summary="One webhook endpoint")
async def get_endpoint(
    endpoint_id: str,
    principal: Principal = Depends(_readers),
    state: HubState = Depends(hub_state),
) -> EndpointOut:
    return EndpointOut.of(await _store(state).get(endpoint_id, owner=_scope(principal)))


@router.post("/v1/webhooks/endpoints/{endpoint_id}/disable", summary="Disable an endpoint")
async def disable_endpoint(
    endpoint_id: str,
    body: DisableIn,
    principal: Principal = Depends(_managers),
    state: HubState = Depends(hub_state),
) -> EndpointOut:
    store = _store(state)
    return EndpointOut.of(await store.disable(endpoint_id, body.reason, owner=_scope(principal)))


@router.post("/v1/webhooks/endpoints/{endpoint_id}/enable", summary="Enable an endpoint")
async def enable_endpoint(
    endpoint_id: str,
    principal: Principal = Depends(_managers),
    state: HubState = Depends(hub_state),
) -> EndpointOut:
    return EndpointOut.of(await _store(state).enable(endpoint_id, owner=_scope(principal)))


@router.post(
    "/v1/webhooks/endpoints/{endpoint_id}/rotate-secret",
    summary="Add a new signing secret; the old one keeps signing during the overlap",
)
async def rotate_secret(
    endpoint_id: str,
    principal: Principal = Depends(_managers),
    state: HubState = Depends(hub_state),
) -> SecretOut:
    return SecretOut(secret=await _store(state).rotate_secret(endpoint_id, owner=_scope(principal)))


@router.post(
    "/v1/webhooks/sources/{source}/rotate-secret",
    summary="Give an inbound source a new secret; the old one is accepted during the overlap",
)
async def rotate_source_secret(
    source: str,
    body: SourceRotateIn | None = None,
    principal: Principal = Depends(_admins),
    state: HubState = Depends(hub_state),
) -> SecretOut:
    overlap_s = None if body is None else body.overlap_s
    return SecretOut(secret=await _intake(state).rotate_secret(source, overlap_s=overlap_s))


@router.get("/v1/webhooks/endpoints/{endpoint_id}/attempts", summary="The attempt log")
async def list_attempts(
    endpoint_id: str,
    limit: int = 100,
    principal: Principal = Depends(_readers),
    state: HubState = Depends(hub_state),
) -> list[AttemptOut]:
    await _store(state).get(endpoint_id, owner=_scope(principal))
    records = await recovery.attempts(state.engine, endpoint_id, limit=min(max(limit, 1), 1000))
    return [AttemptOut.model_validate(r, from_attributes=True) for r in records]


@router.get(
    "/v1/webhooks/endpoints/{endpoint_id}/deliveries",
    summary="Deliveries of an endpoint (status=dead lists the dead letters)",
)
async def list_deliveries(
    endpoint_id: str,
    delivery_status: Literal["pending", "delivering", "delivered", "dead"] | None = None,
    limit: int = 100,
    principal: Principal = Depends(_readers),
    state: HubState = Depends(hub_state),
) -> list[DeliveryOut]:
    await _store(state).get(endpoint_id, owner=_scope(principal))
    records = await recovery.deliveries(
        state.engine,
        endpoint_id=endpoint_id,
        status=delivery_status,
        limit=min(max(limit, 1), 1000),
    )
    return [DeliveryOut.model_validate(r, from_attributes=True) for r in records]


@router.post(
    "/v1/webhooks/endpoints/{endpoint_id}/replay",
    summary="Requeue dead-lettered (scope=failed) or all (scope=all) deliveries since a time",
)
async def replay_endpoint(
    endpoint_id: str,
    body: ReplayIn,
    principal: Principal = Depends(_managers),
    state: HubState = Depends(hub_state),
) -> ReplayOut:
    await _store(state).get(endpoint_id, owner=_scope(principal))
    clock = CallableClock(state.clock)
    if body.scope == "failed":
        count = await recovery.replay_failed(
            state.engine, since=body.since, endpoint_id=endpoint_id, clock=clock
        )
    else:
        count = await recovery.replay_endpoint(
            state.engine, endpoint_id, since=body.since, clock=clock
        )
    return ReplayOut(requeued=count)


@router.post(
    "/v1/webhooks/deliveries/{delivery_id}/replay",
    summary="Send one delivery again (same webhook-id)",
)
async def replay_delivery(
    delivery_id: int,
    principal: Principal = Depends(_managers),
    state: HubState = Depends(hub_state),
) -> ReplayOut:
    delivery = await recovery.get_delivery(state.engine, delivery_id)
    await _store(state).get(delivery.endpoint_id, owner=_scope(principal))
    count = await recovery.replay_delivery(
        state.engine, delivery_id, clock=CallableClock(state.clock)
    )
    return ReplayOut(requeued=count)
