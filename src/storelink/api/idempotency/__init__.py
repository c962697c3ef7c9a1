"""Idempotency-Key on every ``POST /v1/…`` (ASGI middleware, so every part's routes get it).

Routes idempotent by their content declare it (``openapi_extra={IDEMPOTENT_BY: …}``)
and are left alone.

**One effect per key, across workers.** The first request with a key claims it by
inserting ``(client, key)`` in state ``in_progress`` into ``api_idempotency``, in
the database every hub worker shares; the primary key makes concurrent duplicates
(on any worker) lose the race and get 409 with ``Retry-After``. A 2xx answer is
stored and replayed for the same key and body within ``api.idempotency_ttl_s``
(same status, headers and body, plus ``Idempotent-Replayed: true``); the same key
with another body or path is 422. Any other answer releases the key, so a
corrected request may reuse it: 4xx changed nothing and 5xx is worth retrying.

**A claim is a lease** (:mod:`~storelink.api.idempotency.claims`): it names its
worker and expires ``api.idempotency_lease_s`` seconds out, renewed every third of
that while the request runs. A duplicate meeting a live claim gets 409 with
``Retry-After`` = the lease left. A claim whose worker was killed (``kill -9``,
power loss) stops being renewed; the next request with the key takes it over once
the lease ran out — instead of 409 until the key expires a day later — and then
makes sure the first attempt's effect cannot happen twice
(:mod:`~storelink.api.idempotency.takeover`): orders and returns look for the
effect and answer with it, or run again if there is none; routes that declare
themselves safe to repeat run again; every other route answers 409
``…/idempotency-outcome-unknown``, telling the client to check and use a new key.

Under a pause rather than a death (a worker stopped past its lease, then resuming)
the same holds: the claim was taken over, the paused worker's renewals and final
write are fenced off by the claim's token, and any second run meets the unique key
of the order or return. Limits: the lease compares worker clocks (keep them in
sync within well under a lease); a request that runs longer than its lease while
its worker cannot reach the database may be taken over although alive, which the
same rules keep safe.

Stored answer bodies are sealed with the vault key (AES-GCM, bound to the
client and key): they can hold what must not sit in clear, such as a new API
client's or webhook endpoint's secret, shown once, or a customer's details.
"""

from storelink.api.idempotency.middleware import (
    HEADER,
    IDEMPOTENT_BY,
    MAX_KEY_LENGTH,
    IdempotencyMiddleware,
    fingerprint,
)
from storelink.api.idempotency.takeover import RERUN, TAKEOVER

__all__ = [
    "HEADER",
    "IDEMPOTENT_BY",
    "MAX_KEY_LENGTH",
    "RERUN",
    "TAKEOVER",
    "IdempotencyMiddleware",
    "fingerprint",
]
