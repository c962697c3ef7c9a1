"""The dispatcher: claims due deliveries per endpoint, attempts them, records what happened.

Each pass reads every enabled endpoint with its count of live leases, then
claims at most ``max_concurrency`` (times the prefetch) minus those of it,
further limited by the endpoint's msg/s token bucket, oldest first, skipping
any whose ordering key still has an older delivery pending or in flight (the
statements are in :mod:`storelink.webhooks.leasing`). A claim is a lease
(``status='delivering'``, ``lease_until``) so several workers can share the
work, and a worker that dies leaves rows that fall due again when the lease ends —
retried with the same ``webhook-id``. Across worker processes on PostgreSQL no
delivery is ever under two live leases, an endpoint never sees more attempts at once
than its limit, and the endpoints' limits are split between the live dispatchers
(:mod:`storelink.webhooks.leasing` has the guards, :mod:`storelink.webhooks.sharing`
the rules). Attempts run in per-endpoint lanes
(:mod:`storelink.webhooks.lanes`), so a slow endpoint only ever occupies its
own concurrency slots; their outcomes are
written in batches, together with the next claims (one transaction per pass).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from opentelemetry import trace
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storelink.config.sections import WebhookSettings
from storelink.db.leases import LeaseStore
from storelink.errors import DeliveryError, UnsafeURLError
from storelink.ops.identity import worker_id
from storelink.ops.logging import get_logger
from storelink.ops.tracing import current_traceparent, extract, tracer
from storelink.webhooks import leasing, metrics
from storelink.webhooks.clock import Clock, SystemClock
from storelink.webhooks.delivery import (
    HttpTransport,
    Transport,
    WebhookRequest,
    WebhookResponse,
)
from storelink.webhooks.endpoints import disable_endpoint
from storelink.webhooks.lanes import Lanes
from storelink.webhooks.retry import RETRY_AFTER_STATUSES, RetryPolicy, parse_retry_after
from storelink.webhooks.secrets import SecretBox, SecretSet
from storelink.webhooks.sharing import Peers, lease_room
from storelink.webhooks.signing import Signer
from storelink.webhooks.ssrf import URLPolicy
from storelink.webhooks.tables import webhook_attempts, webhook_endpoints
from storelink.webhooks.throttle import Throttle

#: how many times its concurrency :meth:`Dispatcher.run` keeps claimed per endpoint
PREFETCH = 4
#: a lease covers this many attempts (the claim's own and one it may queue behind);
#: a claim whose lease no longer covers an attempt when its turn comes is not sent
LEASE_ATTEMPTS = 2
#: how soon a pass that found endpoints locked by another dispatcher's pass tries again
CONTENDED_RETRY_S = 0.01
_log = get_logger("storelink.webhooks")
_tracer = tracer("storelink.webhooks")


def _payload_traceparent(payload: str) -> str | None:
    # cheap pre-check: most envelopes carry no trace and need no JSON parse
    if '"traceparent":"' not in payload:
        return None
    value = json.loads(payload).get("traceparent")
    return value if isinstance(value, str) else None


def _new_traceparent() -> str:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


@dataclass(frozen=True, slots=True)
class Claim:
    """One leased delivery about to be attempted."""

    delivery_id: int
    endpoint_id: str
    url: str
    event_id: str
    event_time: datetime
    payload: str
    attempt: int
    max_concurrency: int = 1
    lease_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt came to."""

    claim: Claim
    attempted_at: datetime
    kind: Literal["delivered", "failed", "gone"]
    status_code: int | None
    latency_ms: float
    excerpt: str | None = None
    error: str | None = None
    retry_after: float | None = None


class Dispatcher:
    """Delivers due webhook deliveries; drive it with :meth:`run_once` or :meth:`run`."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        settings: WebhookSettings | None = None,
        transport: Transport | None = None,
        clock: Clock | None = None,
        policy: URLPolicy | None = None,
        retry: RetryPolicy | None = None,
        batch_size: int = 1000,
        secret_box: SecretBox,
        member: str | None = None,
    ) -> None:
        self._engine = engine
        # SecretBox.from_settings(settings): every process opens secrets with the hub's vault key
        self._box = secret_box
        self._settings = settings or WebhookSettings()
        self._policy = policy or URLPolicy.from_settings(self._settings)
        # the transport checks each connection's addresses against the policy
        self._transport = transport or HttpTransport(policy=self._policy)
        self._owns_transport = transport is None
        self._clock = clock or SystemClock()
        self._retry = retry or RetryPolicy.from_settings(self._settings)
        self._lease_span = timedelta(seconds=LEASE_ATTEMPTS * self._settings.timeout_s + 30)
        self._batch_size = batch_size
        self._throttle = Throttle()
        self._signers: dict[str, Signer] = {}
        #: secrets per endpoint, reloaded when the endpoint's updated_at changes
        self._secrets: dict[str, tuple[datetime, SecretSet]] = {}
        self._wake = asyncio.Event()
        self._postgres = engine.dialect.name == "postgresql"
        self._depth_labels: set[str] = set()
        #: this dispatcher among the live ones (a process may run several: tests do)
        # the worker id, cut to fit a lease name, and which dispatcher of that process
        member = member or f"{worker_id()[:96]}#{secrets.token_hex(3)}"
        self.peers = Peers(LeaseStore(engine), member)
        #: the leases this dispatcher holds and has not recorded an outcome for yet
        self._held: dict[int, Claim] = {}
        #: the last pass skipped endpoints another dispatcher's pass had locked
        self._contended = False

    def wake(self) -> None:
        """Look for due deliveries now rather than at the next poll (new fan-out, shutdown)."""
        self._wake.set()

    async def aclose(self) -> None:
        """Leave the other dispatchers the endpoints' whole limits and close the transport."""
        try:
            await self.peers.leave()
        except SQLAlchemyError:  # its heartbeat then runs out by itself
            _log.warning("webhook dispatcher could not give its heartbeat up")
        if self._owns_transport:
            await self._transport.aclose()

    async def run_once(self) -> int:
        """One pass: claim what is due, attempt it all concurrently, record the outcomes."""
        await self.peers.refresh()
        await self._refresh_depth()
        claims = await self.claim()
        if not claims:
            return 0
        outcomes = await asyncio.gather(*(self.attempt(claim) for claim in claims))
        await self.record(outcomes)
        return len(outcomes)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; attempts overlap across passes."""
        finished: list[Outcome] = []

        def done(outcome: Outcome) -> None:
            # looks ``finished`` up when called: the loop swaps in a new list
            finished.append(outcome)
            self._wake.set()

        async def wake_on_stop() -> None:
            await stop.wait()
            self._wake.set()

        # the end of an attempt, and the time to record it, must fall within the lease
        needed = timedelta(seconds=self._settings.timeout_s + 15)

        async def attempt_leased(claim: Claim) -> Outcome | None:
            # a claim that queued in its lane until its lease could run out mid-attempt
            # is left to fall due again (another worker may lease it then): sending it
            # now could overlap that worker's attempt
            if claim.lease_until is not None and self._clock.now() + needed > claim.lease_until:
                return None
            return await self.attempt(claim)

        lanes = Lanes(attempt_leased, done)
        stopper = asyncio.create_task(wake_on_stop())
        next_gauges = 0.0
        try:
            while not stop.is_set():
                self._wake.clear()
                batch, finished = finished, []
                try:
                    await self.peers.refresh()
                    # claim up to PREFETCH times the concurrency so each lane has its next
                    # attempts queued while this loop waits for the database (a lane that
                    # runs dry idles its connections until the pass ends); the lane keeps
                    # the attempts actually in flight within the endpoint's limit
                    claims = await self._pass(batch, prefetch=PREFETCH)
                except Exception:  # the database hiccuped: keep the outcomes, try again
                    _log.exception("webhook dispatcher pass failed")
                    finished = batch + finished
                    claims = []
                for claim in claims:
                    lanes.submit(claim)
                if time.monotonic() >= next_gauges:
                    next_gauges = time.monotonic() + 5
                    lanes.close_idle()
                    with contextlib.suppress(SQLAlchemyError):
                        await self._refresh_depth()
                        await self.refresh_metrics()
                # endpoints skipped as locked were being leased by another pass, a few
                # milliseconds long: look again soon rather than after a whole poll interval
                wait = CONTENDED_RETRY_S if self._contended else self._settings.poll_interval_s
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
        finally:
            stopper.cancel()
            await lanes.close(self._settings.timeout_s + 1)
            if finished:
                await self.record(finished)
            with contextlib.suppress(SQLAlchemyError):
                await self.peers.leave()

    async def claim(self, *, prefetch: int = 1) -> list[Claim]:
        """Lease the deliveries that may be attempted now, within every endpoint's limits
        (``prefetch`` times its concurrency, for callers that queue claims locally)."""
        return await self._pass((), prefetch=prefetch)

    async def record(self, outcomes: Sequence[Outcome]) -> None:
        """Write attempts and the deliveries' next state in one transaction."""
        if outcomes:
            await self._pass(outcomes, prefetch=0)

    async def _pass(self, finished: Sequence[Outcome], *, prefetch: int) -> list[Claim]:
        """Record ``finished`` and lease what is due next, in one write transaction
        (SQLite has one writer: fewer, larger write transactions wait less)."""
        now = self._clock.now()
        if not finished and not prefetch:
            return []
        claims: list[Claim] = []
        wanted: list[tuple[Any, int]] = []
        # one connection and transaction per pass: every statement waits for an event
        # loop busy with attempts (and, on SQLite, for a round trip to aiosqlite's thread)
        async with self._engine.begin() as connection:
            if finished:
                await self._record_in(connection, finished, now)
            if prefetch:
                # read after recording: the outcomes just written hold no lease any more
                recorded = {o.claim.delivery_id for o in finished}
                wanted = await self._plan(connection, now, prefetch, recorded)
            if wanted:
                claims = await self._lease(connection, wanted, now)
            leased = {claim.endpoint_id for claim in claims}
            for row, _ in wanted:
                if row.id in leased and self._secrets.get(row.id, (None,))[0] != row.updated_at:
                    self._secrets[row.id] = (
                        row.updated_at,
                        await self._box.endpoint_secrets(connection, row.id),
                    )
        # committed: what was recorded holds no lease any more, what was leased does
        for o in finished:
            if self._held.get(o.claim.delivery_id) is o.claim:
                del self._held[o.claim.delivery_id]
        self._held.update((claim.delivery_id, claim) for claim in claims)
        for endpoint_id in {claim.endpoint_id for claim in claims}:
            self._signers[endpoint_id] = Signer.of(self._secrets[endpoint_id][1].active(now))
        wall = datetime.now(UTC)
        for o in finished:
            if o.kind == "delivered":
                metrics.DELIVERY_LATENCY.observe((wall - o.claim.event_time).total_seconds())
        # one labelled child lookup per endpoint and outcome, not per attempt
        for (endpoint_id, kind), count in Counter(
            (o.claim.endpoint_id, o.kind) for o in finished
        ).items():
            metrics.ATTEMPTS.labels(endpoint_id, kind).inc(count)
        return claims

    async def _plan(
        self, connection: AsyncConnection, now: datetime, prefetch: int, recorded: set[int]
    ) -> list[tuple[Any, int]]:
        """Per enabled endpoint: how many deliveries it may lease now (its free
        concurrency, within its share and token bucket, see
        :mod:`storelink.webhooks.sharing`); :meth:`_lease` finds out how many are due."""
        locked: set[str] | None = None
        if self._postgres:
            # before reading the leases: see storelink.webhooks.leasing
            locked = set((await connection.scalars(leasing.lock_endpoints())).all())
        endpoints = (await connection.execute(leasing.endpoint_load(), {"now": now})).all()
        self._contended = locked is not None and len(locked) < len(endpoints)
        mine = self._mine(now, recorded)
        wanted: list[tuple[Any, int]] = []
        for row in endpoints:
            if locked is not None and row.id not in locked:
                continue  # another dispatcher is leasing for it right now
            share = self.peers.share(row.id, row.max_concurrency)
            room = lease_room(
                concurrency=row.max_concurrency,
                prefetch=prefetch,
                share=share,
                alone=self.peers.alone,
                mine=mine[row.id],
                busy=int(row.busy or 0),
            )
            room = min(room, self._batch_size)
            if room <= 0:
                continue
            # the msg/s limit is split like the concurrency
            rate = row.rate_limit
            if rate is not None and share < row.max_concurrency:
                rate = rate * share / row.max_concurrency
            granted = self._throttle.allowance(row.id, rate, now, room)
            if granted > 0:
                wanted.append((row, granted))
        return wanted

    def _mine(self, now: datetime, recorded: set[int]) -> Counter[str]:
        """Live leases this dispatcher holds per endpoint, less those just recorded (forgets
        leases that ran out: they count for nobody in the database either)."""
        for delivery_id, claim in list(self._held.items()):
            if claim.lease_until is not None and claim.lease_until <= now:
                del self._held[delivery_id]
        return Counter(
            claim.endpoint_id
            for delivery_id, claim in self._held.items()
            if delivery_id not in recorded
        )

    async def _lease(
        self, connection: AsyncConnection, wanted: Sequence[tuple[Any, int]], now: datetime
    ) -> list[Claim]:
        """Lease up to ``count`` due deliveries of each wanted endpoint, oldest first."""
        endpoints = {row.id: row for row, _ in wanted}
        claims: list[Claim] = []
        for start in range(0, len(wanted), leasing.LEASE_CHUNK):
            chunk = wanted[start : start + leasing.LEASE_CHUNK]
            lease_until = now + self._lease_span
            values: dict[str, Any] = {"now": now, "lease_until": lease_until}
            for index, (row, count) in enumerate(chunk):
                values[f"e{index}"] = row.id
                values[f"q{index}"] = count
            rows = await connection.execute(leasing.lease(len(chunk), self._postgres), values)
            claims += (
                Claim(
                    delivery_id=row.id,
                    endpoint_id=row.endpoint_id,
                    url=endpoints[row.endpoint_id].url,
                    max_concurrency=endpoints[row.endpoint_id].max_concurrency,
                    event_id=row.event_id,
                    event_time=row.event_time,
                    payload=row.payload,
                    attempt=row.attempts,
                    lease_until=lease_until,
                )
                for row in rows
            )
        # fewer rows were due than the buckets allowed: the rest of the tokens stay
        leased = Counter(claim.endpoint_id for claim in claims)
        for row, count in wanted:
            self._throttle.give_back(row.id, count - leased[row.id])
        return sorted(claims, key=lambda claim: claim.delivery_id)

    async def attempt(self, claim: Claim) -> Outcome:
        """Sign and send one claimed delivery; never raises, whatever the receiver does."""
        attempted_at = self._clock.now()
        started = time.perf_counter()
        error: str | None = None
        try:
            response = await self._send(claim)
        except (DeliveryError, UnsafeURLError) as exc:
            error = exc.message
        except Exception as exc:  # a bug must not strand the lease: record it as a failure
            _log.exception("webhook attempt crashed", endpoint=claim.endpoint_id)
            error = f"{type(exc).__name__}: {exc}"
        latency_ms = (time.perf_counter() - started) * 1000
        if error is not None:
            return Outcome(claim, attempted_at, "failed", None, latency_ms, error=error)
        status = response.status_code
        kind: Literal["delivered", "failed", "gone"]
        if 200 <= status < 300:
            kind = "delivered"
        elif status == 410:
            kind = "gone"
        else:
            kind = "failed"
        retry_after = None
        if status in RETRY_AFTER_STATUSES:
            retry_after = parse_retry_after(response.headers.get("retry-after"), attempted_at)
        return Outcome(
            claim=claim,
            attempted_at=attempted_at,
            kind=kind,
            status_code=status,
            latency_ms=latency_ms,
            excerpt=response.excerpt,
            error=None if kind == "delivered" else f"HTTP {status}",
            retry_after=retry_after,
        )

    async def _send(self, claim: Claim) -> WebhookResponse:
        body = claim.payload.encode()
        # webhook-timestamp is the real time of this attempt: receivers check it
        # against their own clock, whatever clock schedules our retries.
        headers = self._signers[claim.endpoint_id].headers(claim.event_id, int(time.time()), body)
        # the URL's form only: its addresses are checked as each connection is opened
        self._policy.check_form(claim.url)
        event_trace = _payload_traceparent(claim.payload)
        with _tracer.start_as_current_span(
            "webhook deliver",
            context=extract({"traceparent": event_trace}) if event_trace else None,
            kind=trace.SpanKind.CLIENT,
            attributes={"webhook.endpoint": claim.endpoint_id, "webhook.id": claim.event_id},
        ):
            # without a tracer provider there is no span to propagate: continue
            # the event's own trace, or start one, so receivers always get one
            headers["traceparent"] = current_traceparent() or event_trace or _new_traceparent()
            return await self._transport.post(
                WebhookRequest(url=claim.url, headers=headers, body=body),
                timeout_s=self._settings.timeout_s,
            )

    async def _record_in(
        self, connection: AsyncConnection, outcomes: Sequence[Outcome], now: datetime
    ) -> None:
        await connection.execute(
            insert(webhook_attempts),
            [
                {
                    "delivery_id": o.claim.delivery_id,
                    "endpoint_id": o.claim.endpoint_id,
                    "attempt": o.claim.attempt,
                    "attempted_at": o.attempted_at,
                    "outcome": o.kind,
                    "status_code": o.status_code,
                    "latency_ms": o.latency_ms,
                    "response_excerpt": o.excerpt,
                    "error": o.error,
                }
                for o in outcomes
            ],
        )
        await self._settle(connection, outcomes, now)
        await self._track_health(connection, outcomes, now)

    async def _settle(
        self, connection: AsyncConnection, outcomes: Sequence[Outcome], now: datetime
    ) -> None:
        rows: list[dict[str, Any]] = []
        for o in outcomes:
            row: dict[str, Any] = {
                "b_id": o.claim.delivery_id,
                "b_attempt": o.claim.attempt,
                "b_last_status": o.status_code,
                "b_last_error": o.error,
                "b_delivered_at": None,
                "b_next": now,
            }
            if o.kind == "delivered":
                row.update(b_status="delivered", b_delivered_at=now)
            elif o.kind == "gone":
                # waits, due at once, for the endpoint to be enabled again
                row.update(b_status="pending")
            else:
                delay = self._retry.delay_after(o.claim.attempt, o.retry_after)
                if delay is None:
                    row.update(b_status="dead")
                else:
                    row.update(b_status="pending", b_next=now + timedelta(seconds=delay))
            rows.append(row)
        await connection.execute(leasing.settle(), rows)

    async def _track_health(
        self, connection: AsyncConnection, outcomes: Sequence[Outcome], now: datetime
    ) -> None:
        """Clear or start each endpoint's failing period; disable on 410 or when it
        lasts too long."""
        e = webhook_endpoints
        succeeded = {o.claim.endpoint_id for o in outcomes if o.kind == "delivered"}
        failing = {o.claim.endpoint_id for o in outcomes if o.kind != "delivered"} - succeeded
        if succeeded:
            await connection.execute(
                update(e)
                .where(e.c.id.in_(succeeded), e.c.failing_since.is_not(None))
                .values(failing_since=None)
            )
        if not failing:
            return
        await connection.execute(
            update(e)
            .where(e.c.id.in_(failing), e.c.failing_since.is_(None))
            .values(failing_since=now)
        )
        for endpoint_id in sorted({o.claim.endpoint_id for o in outcomes if o.kind == "gone"}):
            if await disable_endpoint(connection, endpoint_id, "receiver answered 410 Gone", now):
                _log.warning("webhook endpoint disabled", endpoint=endpoint_id, reason="410 Gone")
        limit = timedelta(seconds=self._settings.disable_after_s)
        rows = await connection.execute(
            select(e.c.id, e.c.failing_since).where(e.c.id.in_(failing), e.c.enabled.is_(True))
        )
        for row in rows.all():
            if row.failing_since is not None and now - row.failing_since >= limit:
                reason = (
                    f"every attempt failed for {self._settings.disable_after_s / 86_400:g} days"
                    f" (since {row.failing_since.isoformat()})"
                )
                await disable_endpoint(connection, row.id, reason, now)
                _log.warning("webhook endpoint disabled", endpoint=row.id, reason=reason)

    async def refresh_metrics(self) -> None:
        """Update the disabled-endpoints gauge (queue depth is refreshed by each
        :meth:`run_once`, and every 5 s by :meth:`run`)."""
        async with self._engine.connect() as connection:
            disabled = await connection.scalar(
                select(func.count()).where(webhook_endpoints.c.enabled.is_(False))
            )
        metrics.DISABLED_ENDPOINTS.set(disabled or 0)

    async def _refresh_depth(self) -> None:
        # counts the whole backlog: done on a timer, not on every pass
        async with self._engine.connect() as connection:
            rows = (await connection.execute(leasing.queue_depth())).all()
        self._set_depth({row.endpoint_id: int(row.depth) for row in rows})

    def _set_depth(self, depth: dict[str, int]) -> None:
        for endpoint_id in self._depth_labels - depth.keys():
            metrics.QUEUE_DEPTH.labels(endpoint_id).set(0)
        for endpoint_id, count in depth.items():
            metrics.QUEUE_DEPTH.labels(endpoint_id).set(count)
        self._depth_labels = set(depth)
