"""``POST /v1/oauth/token``: the OAuth2 client-credentials grant (RFC 6749 §4.4).

Credentials come as form fields or HTTP Basic; failures are problem+json
documents that also carry RFC 6749's ``error`` code. The endpoint is exempt from
Idempotency-Key (standard OAuth2 clients do not send one; issuing is harmless).
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from storelink.api.problems import TYPE_BASE, problem_response, problem_responses
from storelink.api.state import HubState, hub_state
from storelink.errors import AuthenticationError

TOKEN_PATH = "/v1/oauth/token"

router = APIRouter(tags=["identity"])


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int


_FORM_SCHEMA = {
    "type": "object",
    "required": ["grant_type"],
    "properties": {
        "grant_type": {"type": "string", "enum": ["client_credentials"]},
        "client_id": {"type": "string"},
        "client_secret": {"type": "string"},
    },
}


def _oauth_error(status: int, error: str, detail: str) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Basic realm="storelink"'} if status == 401 else None
    return problem_response(
        status,
        "Token request refused",
        detail=detail,
        type_=TYPE_BASE + f"oauth-{error.replace('_', '-')}",
        headers=headers,
        extensions={"error": error},
    )


def _basic(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, sep, secret = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (client_id, secret) if sep else None


@router.post(
    TOKEN_PATH,
    summary="Get an access token (client credentials)",
    response_model=TokenResponse,
    responses=problem_responses(400, 401),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": _FORM_SCHEMA}},
        }
    },
)
async def token(request: Request, state: HubState = Depends(hub_state)) -> JSONResponse:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return _oauth_error(
            400, "invalid_request", "send an application/x-www-form-urlencoded body"
        )
    body = (await request.body()).decode("utf-8", errors="replace")
    form = {name: values[0] for name, values in parse_qs(body).items() if values}
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "grant_type must be client_credentials")
    credentials = _basic(request) or (form.get("client_id", ""), form.get("client_secret", ""))
    if not credentials[0] or not credentials[1]:
        return _oauth_error(401, "invalid_client", "client_id and client_secret are required")
    try:
        issued = await state.tokens.issue(*credentials)
    except AuthenticationError as exc:
        return _oauth_error(401, "invalid_client", exc.message)
    payload = TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in)
    return JSONResponse(payload.model_dump(), headers={"Cache-Control": "no-store"})
