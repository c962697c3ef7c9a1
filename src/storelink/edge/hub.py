"""The agent's narrow seam to the hub: upload a batch, fetch a delta page.

:class:`HttpHubClient` speaks the hub's ``/v1/sync`` API with an OAuth2
client-credentials token; tests can plug in any :class:`HubClient`.
Anything that means "try again later" (no connection, timeout, 5xx, 429)
becomes :class:`~storelink.errors.HubUnreachableError`, carrying the hub's
``Retry-After`` as ``retry_after_s`` when it sent one (a saturated hub answers
503 with it); the agent's loop waits at least that long. Every answer it gets, and
every call that gets none, is counted (:meth:`HttpHubClient.count_into`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Protocol
from uuid import uuid4

import httpx2

from storelink.edge.queue import QueuedTransaction
from storelink.edge.responses import HubResponses
from storelink.errors import CursorExpiredError, HubUnreachableError, SyncError
from storelink.ops.http import async_client
from storelink.sync.wire import Dataset, DeltaPage, UploadResult

TOKEN_PATH = "/v1/oauth/token"


class HubClient(Protocol):
    async def upload(self, store: str, batch: Sequence[QueuedTransaction]) -> UploadResult: ...

    async def delta(self, store: str, dataset: Dataset, *, after: int, limit: int) -> DeltaPage: ...

    async def aclose(self) -> None: ...


class HttpHubClient:
    """The hub over HTTP. ``transport`` lets tests route requests without a socket."""

    def __init__(
        self,
        base_url: str,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        timeout_s: float = 10.0,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._http = async_client(
            base_url=base_url.rstrip("/"), timeout=timeout_s, transport=transport
        )
        self._token: str | None = None
        self._token_expires = 0.0
        self._responses: HubResponses | None = None

    def count_into(self, responses: HubResponses) -> None:
        """Count every status the hub answers (and every call it does not) in ``responses``."""
        self._responses = responses

    async def aclose(self) -> None:
        await self._http.aclose()

    async def upload(self, store: str, batch: Sequence[QueuedTransaction]) -> UploadResult:
        """POST one batch (an ``UploadBatch`` document built from the queued JSON)."""
        body = '{"transactions":[' + ",".join(item.wire for item in batch) + "]}"
        response = await self._call(
            "POST",
            f"/v1/sync/stores/{store}/transactions",
            content=body.encode(),
            # The upload is idempotent by itself (store + transaction uuid) and the hub asks
            # no Idempotency-Key for it; a fresh one per attempt is still sent so an agent
            # can talk to hubs from before that rule (it can never meet an old answer).
            headers={"idempotency-key": str(uuid4()), "content-type": "application/json"},
        )
        return UploadResult.model_validate_json(response.content)

    async def delta(self, store: str, dataset: Dataset, *, after: int, limit: int) -> DeltaPage:
        response = await self._call(
            "GET",
            f"/v1/sync/stores/{store}/deltas/{dataset.value}",
            params={"after": after, "limit": limit},
        )
        return DeltaPage.model_validate_json(response.content)

    async def _call(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx2.Response:
        for attempt in range(2):
            headers = {**(headers or {}), **await self._auth_headers()}
            response = await self._send(method, path, headers=headers, **kwargs)
            if response.status_code == 401 and attempt == 0 and self._client_id:
                self._token = None  # expired or rotated: fetch a new one once
                continue
            _raise_for(response, path)
            return response
        raise SyncError("the hub refused the agent's credentials", path=path)

    async def _auth_headers(self) -> dict[str, str]:
        if not self._client_id:
            return {}
        if self._token is None or time.monotonic() >= self._token_expires:
            response = await self._send(
                "POST",
                TOKEN_PATH,
                data={
                    "grant_type": "client_credentials",
                    "client_id": self._client_id,
                    "client_secret": self._client_secret or "",
                },
            )
            _raise_for(response, TOKEN_PATH)
            body = response.json()
            self._token = str(body["access_token"])
            # renew a little early so a token never expires in flight
            self._token_expires = time.monotonic() + max(1.0, float(body["expires_in"]) * 0.8)
        return {"authorization": f"Bearer {self._token}"}

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx2.Response:
        """One request, counted; no answer at all is :class:`HubUnreachableError`."""
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx2.TransportError as exc:
            if self._responses is not None:
                self._responses.failed()
            raise HubUnreachableError(f"hub unreachable: {exc!r}", path=path) from exc
        if self._responses is not None:
            self._responses.saw(response.status_code)
        return response


def _raise_for(response: httpx2.Response, path: str) -> None:
    status = response.status_code
    if status < 400:
        return
    detail = _detail(response)
    if status == 410 or (status == 409 and "cursor" in detail.lower()):
        raise CursorExpiredError(detail, path=path)
    if status >= 500 or status in (408, 429):
        raise HubUnreachableError(
            f"hub answered {status}: {detail}",
            path=path,
            status=status,
            retry_after_s=_retry_after(response),
        )
    raise SyncError(f"hub refused {path} with {status}: {detail}", path=path, status=status)


def _retry_after(response: httpx2.Response) -> float | None:
    """``Retry-After`` in seconds (the delay form; a date or garbage counts as absent)."""
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _detail(response: httpx2.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return " ".join(str(body.get(key, "")) for key in ("title", "detail")).strip()
    return str(body)[:200]
