"""RFC 9457 ``application/problem+json`` for every error the hub answers with.

Each :class:`~storelink.errors.StorelinkError` maps to a status by its most
specific class; request validation errors list every bad field with a JSON
pointer into the body (``/lines/0/quantity``) or the parameter it concerns.
:func:`install` wires the handlers into an app.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from storelink import errors
from storelink.ops.logging import get_logger

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://storelink.dev/problems/"

_log = get_logger("storelink.api")

#: status per error class; the most specific class in an error's MRO wins
STATUS: dict[type[errors.StorelinkError], int] = {
    errors.StorelinkError: 500,
    errors.ConfigError: 500,
    errors.UsageError: 400,
    errors.ValidationError: 422,
    errors.NotFoundError: 404,
    errors.ConflictError: 409,
    errors.IdempotencyConflictError: 422,
    errors.AuthError: 403,
    errors.AuthenticationError: 401,
    errors.PermissionDeniedError: 403,
    errors.RateLimitedError: 429,
    errors.StorageError: 503,
    errors.BusError: 503,
    errors.OdooError: 502,
    errors.OdooTransportError: 503,
    errors.CircuitOpenError: 503,
    errors.OdooBusinessError: 422,
    errors.WebhookError: 422,
    errors.SignatureError: 401,
    errors.DeliveryError: 502,
    errors.SyncError: 409,
    errors.HubUnreachableError: 503,
    # a delta cursor the hub cannot resume: the agent must resync in full
    errors.CursorExpiredError: 410,
}


class FieldProblem(BaseModel):
    """One bad field: ``pointer`` into the body, or the ``parameter`` and where it is."""

    model_config = ConfigDict(extra="forbid")

    detail: str
    pointer: str | None = None
    parameter: str | None = None
    location: str | None = Field(default=None, alias="in")


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldProblem] | None = None


def status_for(error: errors.StorelinkError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def _slug(name: str) -> str:
    out = "".join(f"-{c.lower()}" if c.isupper() else c for c in name).lstrip("-")
    return out.removesuffix("-error")


def problem_response(
    status: int,
    title: str,
    *,
    detail: str | None = None,
    type_: str | None = None,
    instance: str | None = None,
    field_errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_ or "about:blank",
        "title": title,
        "status": status,
    }
    if detail is not None:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    if field_errors:
        body["errors"] = field_errors
    body.update(extensions or {})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def pointer(location: tuple[Any, ...] | list[Any]) -> str:
    """JSON pointer (RFC 6901) of a pydantic error location inside the body."""
    parts = [str(part).replace("~", "~0").replace("/", "~1") for part in location]
    return "/" + "/".join(parts) if parts else ""


def field_problems(exc: RequestValidationError) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for error in exc.errors():
        loc = list(error.get("loc", ()))
        where = loc[0] if loc else "body"
        message = str(error.get("msg", "invalid"))
        if where == "body":
            out.append({"pointer": pointer(loc[1:]), "detail": message})
        else:
            name = ".".join(str(part) for part in loc[1:])
            out.append({"parameter": name, "in": str(where), "detail": message})
    return out


async def _storelink_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.StorelinkError)
    status = status_for(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, errors.RateLimitedError):
        headers.update(exc.context.get("headers") or {})
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    if isinstance(exc, errors.AuthenticationError):
        headers["WWW-Authenticate"] = 'Bearer realm="storelink"'
    field_errors = None
    if isinstance(exc, errors.ValidationError) and exc.field:
        field = exc.field if exc.field.startswith("/") else pointer(exc.field.split("."))
        field_errors = [{"pointer": field, "detail": exc.message}]
    if status >= 500:
        _log.error("request failed", error=type(exc).__name__, detail=exc.message)
    # 5xx details could reveal internals (DSNs, hosts); say only what kind of failure it was
    detail = (
        exc.message
        if status < 500
        else f"{type(exc).__name__}: the hub could not complete this request"
    )
    return problem_response(
        status,
        type(exc).__name__,
        detail=detail,
        type_=TYPE_BASE + _slug(type(exc).__name__),
        instance=request.url.path,
        field_errors=field_errors,
        headers=headers or None,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return problem_response(
        422,
        "Request validation failed",
        detail="the request does not match the API schema; see errors",
        type_=TYPE_BASE + "validation",
        instance=request.url.path,
        field_errors=field_problems(exc),
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == 405:
        # Starlette lists only the first matching route's methods; a path served by
        # several routes (GET and PUT apart) allows the union
        headers["Allow"] = ", ".join(sorted(_allowed_methods(request)))
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem_response(
        exc.status_code,
        detail or "HTTP error",
        detail=detail,
        instance=request.url.path,
        headers=headers,
    )


def _allowed_methods(request: Request) -> set[str]:
    path = request.url.path
    methods: set[str] = set()
    for context in iter_route_contexts(request.app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.path_regex.match(path):
            methods |= route.methods or set()
    return methods


#: seconds a client is asked to wait when the hub is saturated
BUSY_RETRY_AFTER_S = 1


def is_saturation(exc: Exception) -> bool:
    """The hub is out of capacity, not broken: SQLite's writer turn or the pool ran out."""
    if isinstance(exc, SQLAlchemyTimeoutError):  # QueuePool limit reached, connection timed out
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


def busy_response(path: str, exc: Exception) -> JSONResponse:
    """503 with ``Retry-After``: what a saturated hub answers instead of a 500."""
    _log.warning("hub saturated", path=path, error=type(exc).__name__)
    return problem_response(
        503,
        "Hub busy",
        detail="the hub is at capacity right now; retry after the given seconds",
        type_=TYPE_BASE + "busy",
        instance=path,
        headers={"Retry-After": str(BUSY_RETRY_AFTER_S)},
    )


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """Saturation answers 503 with ``Retry-After`` (clients back off); anything else is a 500."""
    if not is_saturation(exc):
        return await _unexpected(request, exc)
    return busy_response(request.url.path, exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    _log.exception("unhandled error", path=request.url.path, error=type(exc).__name__)
    return problem_response(
        500,
        "Internal Server Error",
        detail="an unexpected error occurred; it has been logged",
        instance=request.url.path,
    )


def install(app: FastAPI) -> None:
    """Answer every error raised in ``app`` with problem+json."""
    app.add_exception_handler(errors.StorelinkError, _storelink_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_error)
    app.add_exception_handler(SQLAlchemyTimeoutError, _database_error)
    app.add_exception_handler(Exception, _unexpected)


#: ``responses=`` entries documenting the problem answers of a route
def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "model": Problem,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
