"""The ``/v1`` OpenAPI document, completed with what the middleware layers add.

Idempotency and problem answers are enforced outside the routes, so they are
written into every operation here rather than repeated in each route.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from storelink.api.idempotency import HEADER, IDEMPOTENT_BY, MAX_KEY_LENGTH
from storelink.api.problems import PROBLEM_JSON, Problem

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_DESCRIPTIONS = {
    "400": "Bad request (unparsable body, missing Idempotency-Key)",
    "401": "Missing, expired or invalid bearer token",
    "403": "The caller's role may not call this route",
    "404": "No such object (or one the caller may not see)",
    "409": "Conflicts with an earlier request",
    "422": "Validation failed, or Idempotency-Key reused with another request",
    "429": "Rate limit exceeded",
}


def _problem(status: str) -> dict[str, Any]:
    return {
        "description": _DESCRIPTIONS.get(status, "Problem"),
        "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}},
    }


def _secured(operation: dict[str, Any]) -> bool:
    return any("HTTPBearer" in requirement for requirement in operation.get("security", []))


def install(app: FastAPI, *, exempt: frozenset[str]) -> None:
    """Replace ``app.openapi`` with the completed document (built once, then cached)."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            openapi_version="3.1.0",
            description="storelink hub API. `/v1` is stable: see the README's versioning policy.",
            routes=app.routes,
        )
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas.setdefault(
            "Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        )
        for name, definition in (
            Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            .get("$defs", {})
            .items()
        ):
            schemas.setdefault(name, definition)
        schemas["Problem"].pop("$defs", None)
        for path, item in document.get("paths", {}).items():
            for method, operation in item.items():
                if not isinstance(operation, dict):
                    continue
                responses = operation.setdefault("responses", {})
                # FastAPI's own 422 schema is replaced by the problem document we answer with
                if "422" in responses or method == "post":
                    responses["422"] = _problem("422")
                if "requestBody" in operation:
                    responses.setdefault("400", _problem("400"))
                if _secured(operation):
                    for status in ("401", "403", "404", "429"):
                        responses.setdefault(status, _problem(status))
                if (
                    method == "post"
                    and path.startswith("/v1/")
                    and path not in exempt
                    and _secured(operation)  # the middleware only asks bearer callers
                    and IDEMPOTENT_BY not in operation  # idempotent by content: no key
                ):
                    operation.setdefault("parameters", []).append(
                        {
                            "name": HEADER,
                            "in": "header",
                            "required": True,
                            "description": "Unique per intended effect; replays within 24 h "
                            "return the first response.",
                            "schema": {
                                "type": "string",
                                "minLength": 1,
                                "maxLength": MAX_KEY_LENGTH,
                            },
                        }
                    )
                    for status in ("400", "409"):
                        responses.setdefault(status, _problem(status))
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        app.openapi_schema = document
        return document

    app.openapi = build  # type: ignore[method-assign]
