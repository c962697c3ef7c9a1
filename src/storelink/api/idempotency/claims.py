"""Claims on Idempotency-Keys, kept in ``api_idempotency`` in the shared database.

A claim is one row per ``(client, key)``. Its life::

    in_progress (owner, lease_token, lease_expires_at)  --2xx-->  done (the stored answer)
         |   renewed every lease/3 while the request runs        (other answers delete it)
         |
         +-- lease ran out (the owner died) --> taken over: new owner and token, or
                                                unknown (the outcome cannot be known)

Every write after the claim names the holder's ``lease_token`` and the state it
expects, so a worker that lost its claim (paused past its lease, then taken over)
can neither renew it, nor overwrite the new holder's answer, nor delete it: its
writes match no row. Taking over is one compare-and-set on the token it saw and an
expired lease, so of two resends finding one dead claim exactly one wins.

Leases compare the workers' clocks (``HubState.clock``): they must agree to well
within a lease (NTP does). A claim written before leases existed (no
``lease_expires_at``) counts as expired.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from pydantic import BaseModel
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from storelink.api.problems import TYPE_BASE, problem_response
from storelink.api.state import HubState
from storelink.api.tables import api_idempotency
from storelink.ops.logging import get_logger

IN_PROGRESS, DONE, UNKNOWN = "in_progress", "done", "unknown"

_t = api_idempotency
_log = get_logger("storelink.api.idempotency")


@dataclass(frozen=True)
class Answer:
    """An HTTP answer as the middleware keeps and replays it."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    @classmethod
    def problem(
        cls, status: int, title: str, detail: str, slug: str, *, retry_after_s: int | None = None
    ) -> Answer:
        response = problem_response(
            status,
            title,
            detail=detail,
            type_=TYPE_BASE + slug,
            headers=None if retry_after_s is None else {"Retry-After": str(retry_after_s)},
        )
        return cls(status, list(response.raw_headers), bytes(response.body))

    @classmethod
    def resource(cls, status: int, view: BaseModel, location: str) -> Answer:
        """A route's JSON answer for ``view``, as the route itself would have sent it."""
        body = view.model_dump_json().encode()
        return cls(
            status,
            [(b"content-type", b"application/json"), (b"location", location.encode("latin-1"))],
            body,
        )

    def replayed(self) -> Answer:
        return Answer(self.status, [*self.headers, (b"idempotent-replayed", b"true")], self.body)


@dataclass(frozen=True)
class Claim:
    """This worker holds ``(client_id, key)`` while ``token`` is the row's lease token."""

    client_id: str
    key: str
    token: str


@dataclass(frozen=True)
class Record:
    """A row someone else's request made: its state and, once done, its answer."""

    client_id: str
    key: str
    fingerprint: str
    state: str
    owner: str | None
    token: str | None
    lease_expires_at: datetime | None
    answer: Answer | None

    def lease_left_s(self, now: datetime) -> float:
        """Seconds until an in-progress claim may be taken over (0: it may be now)."""
        if self.lease_expires_at is None:
            return 0.0
        return max(0.0, (self.lease_expires_at - now).total_seconds())


class Claims:
    """The claims of one hub worker (``hub.worker_id``); see the module docstring."""

    def __init__(self, hub: HubState) -> None:
        self._hub = hub
        self.lease = timedelta(seconds=hub.settings.api.idempotency_lease_s)
        self._ttl = timedelta(seconds=hub.settings.api.idempotency_ttl_s)

    def _lease_values(self) -> dict[str, Any]:
        return {
            "owner": self._hub.worker_id,
            "lease_token": uuid4().hex,
            "lease_expires_at": self._hub.clock() + self.lease,
        }

    async def claim(self, client_id: str, key: str, fingerprint: str) -> Claim | Record | None:
        """A new claim; else the row already there; None when the key stays contended."""
        where = (_t.c.client_id == client_id) & (_t.c.key == key)
        for _ in range(2):
            now = self._hub.clock()
            lease = self._lease_values()
            try:
                async with self._hub.engine.begin() as connection:
                    await connection.execute(
                        insert(_t).values(
                            client_id=client_id,
                            key=key,
                            fingerprint=fingerprint,
                            state=IN_PROGRESS,
                            created_at=now,
                            **lease,
                        )
                    )
                return Claim(client_id, key, lease["lease_token"])
            except IntegrityError:
                pass
            async with self._hub.engine.begin() as connection:
                row = (await connection.execute(select(_t).where(where))).first()
                if row is None:
                    continue  # released meanwhile: claim again
                if row.created_at + self._ttl <= now:
                    await connection.execute(
                        delete(_t).where(where & (_t.c.created_at == row.created_at))
                    )
                    continue
            return self._record(row)
        return None

    def _record(self, row: Any) -> Record:
        answer = None
        if row.state == DONE:
            headers = [
                (k.encode("latin-1"), v.encode("latin-1")) for k, v in json.loads(row.headers)
            ]
            body = (
                self._hub.cipher.open(bytes(row.body), _sealed_as(row.client_id, row.key))
                if row.body
                else b""
            )
            answer = Answer(int(row.status_code), headers, body)
        return Record(
            client_id=row.client_id,
            key=row.key,
            fingerprint=row.fingerprint,
            state=row.state,
            owner=row.owner,
            token=row.lease_token,
            lease_expires_at=row.lease_expires_at,
            answer=answer,
        )

    async def take_over(self, record: Record) -> Claim | None:
        """The dead holder's claim, now this worker's; None if its lease is live after all
        (renewed meanwhile) or another request took it over first."""
        now = self._hub.clock()
        seen = (
            _t.c.lease_token.is_(None) if record.token is None else _t.c.lease_token == record.token
        )
        lease = self._lease_values()
        async with self._hub.engine.begin() as connection:
            result = await connection.execute(
                update(_t)
                .where(
                    (_t.c.client_id == record.client_id)
                    & (_t.c.key == record.key)
                    & (_t.c.state == IN_PROGRESS)
                    & seen
                    & (_t.c.lease_expires_at.is_(None) | (_t.c.lease_expires_at <= now))
                )
                .values(**lease)
            )
        if result.rowcount != 1:
            return None
        _log.warning(
            "took over an Idempotency-Key claim whose worker stopped renewing it",
            client_id=record.client_id,
            dead_owner=record.owner,
        )
        return Claim(record.client_id, record.key, lease["lease_token"])

    def _held(self, claim: Claim) -> ColumnElement[bool]:
        return (
            (_t.c.client_id == claim.client_id)
            & (_t.c.key == claim.key)
            & (_t.c.lease_token == claim.token)
            & (_t.c.state == IN_PROGRESS)
        )

    async def renew(self, claim: Claim) -> bool:
        """Push the lease out by a full lease; False if the claim is no longer ours."""
        async with self._hub.engine.begin() as connection:
            result = await connection.execute(
                update(_t)
                .where(self._held(claim))
                .values(lease_expires_at=self._hub.clock() + self.lease)
            )
        return result.rowcount == 1

    async def finish(self, claim: Claim, answer: Answer) -> bool:
        """Keep ``answer`` for replays; False (nothing written) if the claim was lost."""
        sealed = self._hub.cipher.seal(answer.body, _sealed_as(claim.client_id, claim.key))
        headers = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in answer.headers]
        async with self._hub.engine.begin() as connection:
            result = await connection.execute(
                update(_t)
                .where(self._held(claim))
                .values(
                    state=DONE,
                    status_code=answer.status,
                    headers=json.dumps(headers),
                    body=sealed,
                    lease_expires_at=None,
                )
            )
        return result.rowcount == 1

    async def release(self, claim: Claim) -> None:
        """Free the key (the request changed nothing, or is worth retrying)."""
        async with self._hub.engine.begin() as connection:
            await connection.execute(delete(_t).where(self._held(claim)))

    async def give_up(self, claim: Claim) -> None:
        """Mark the key's outcome unknown: answered 409 until it expires, never run again."""
        async with self._hub.engine.begin() as connection:
            await connection.execute(
                update(_t).where(self._held(claim)).values(state=UNKNOWN, lease_expires_at=None)
            )

    @asynccontextmanager
    async def renewing(self, claim: Claim) -> AsyncIterator[None]:
        """Renew ``claim`` every third of a lease while the block runs."""
        task = asyncio.create_task(self._renew(claim))
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    async def _renew(self, claim: Claim) -> None:
        interval = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(interval)
            try:
                held = await self.renew(claim)
            except SQLAlchemyError as exc:
                # try again next time; if the lease runs out meanwhile another worker may
                # take the claim over, which every takeover policy makes safe
                _log.warning(
                    "could not renew an Idempotency-Key claim",
                    client_id=claim.client_id,
                    error=type(exc).__name__,
                )
                continue
            if not held:
                _log.warning(
                    "lost an Idempotency-Key claim to a takeover; its answer will not be kept",
                    client_id=claim.client_id,
                )
                return


def _sealed_as(client_id: str, key: str) -> str:
    # a sealed answer opens only as the answer of this client's key
    return f"api_idempotency:{client_id}:{key}"
