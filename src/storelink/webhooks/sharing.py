"""How several dispatchers (one per hub worker process) share the endpoints' concurrency.

Two rules, one for safety and one for fairness; the dispatcher applies both in
every pass, for each endpoint, while it holds that endpoint's row lock (see
:func:`storelink.webhooks.leasing.lock_endpoints`), so the lease counts it reads
are the committed ones and no other pass leases for that endpoint meanwhile.

**Safety** (:func:`lease_room`): a dispatcher that is the only holder of live
leases on an endpoint may prefetch up to ``concurrency * prefetch`` of them (its
lanes keep at most ``concurrency`` in flight); as soon as another dispatcher
holds one, every lease counts as an attempt in flight, so a dispatcher leases
only while the endpoint's total stays within ``concurrency``. Two holders can
therefore only coexist with at most ``concurrency`` leases between them, and an
endpoint never sees more attempts at once than its limit, whatever the
dispatchers think of each other. What it costs: beside another holder there is
no prefetch, so a lane may wait one database pass between attempts.

**Fairness** (:class:`Peers`): each dispatcher keeps a heartbeat lease
``webhooks:dispatcher:<member>`` (:mod:`storelink.db.leases`); the live ones are
the members. Of an endpoint's ``concurrency``, a member holds at most its share
(:func:`share_of`: an even split, the remainder going to members picked by the
endpoint's id, so small limits spread over the members endpoint by endpoint). A
dispatcher alone keeps the whole limit (and its prefetch). Without this, the first
dispatcher to lease an endpoint refills its own slots in the same transaction that
records their outcomes and keeps the endpoint to itself for as long as it has a
backlog. A member whose heartbeat ran out (it died, or paused past the TTL) drops
out of the split at the others' next refresh; until then its share is idle, never
doubled.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field

from storelink.db.leases import LeaseStore
from storelink.ops.logging import get_logger

PREFIX = "webhooks:dispatcher:"
#: a dispatcher that stopped renewing its heartbeat leaves the split after this long
HEARTBEAT_TTL_S = 10.0

_log = get_logger("storelink.webhooks")


def share_of(endpoint_id: str, concurrency: int, members: list[str], member: str) -> int:
    """``member``'s part of ``concurrency`` among ``members`` (sorted); the parts add up to
    ``concurrency``. A member not in the list (its heartbeat is not live) is alone."""
    if member not in members or len(members) == 1:
        return concurrency
    count = len(members)
    rank = members.index(member)
    base, extra = divmod(concurrency, count)
    # crc32, not hash(): every process must pick the same members for the remainder
    first = zlib.crc32(endpoint_id.encode()) % count
    return base + (1 if (rank - first) % count < extra else 0)


def lease_room(
    *, concurrency: int, prefetch: int, share: int, alone: bool, mine: int, busy: int
) -> int:
    """How many more deliveries of one endpoint a dispatcher may lease now.

    ``busy`` is every live lease on the endpoint, ``mine`` this dispatcher's part of
    them; ``alone`` says no other member is live. See the module docstring.
    """
    others = busy - mine
    cap = concurrency * prefetch if alone and others <= 0 else min(share, concurrency)
    room = cap - mine
    if others > 0:
        # another holder: the leases are the attempts in flight, across every worker
        room = min(room, concurrency - busy)
    return max(0, room)


@dataclass
class Peers:
    """The live dispatchers, as this one last saw them (refreshed every third of the TTL)."""

    leases: LeaseStore
    member: str
    ttl_s: float = HEARTBEAT_TTL_S
    #: the live members, sorted; ``[member]`` until the first refresh
    members: list[str] = field(default_factory=list)
    _token: int | None = None
    _refreshed_at: float = -float("inf")

    def __post_init__(self) -> None:
        self.members = self.members or [self.member]

    @property
    def alone(self) -> bool:
        return len(self.members) <= 1

    def share(self, endpoint_id: str, concurrency: int) -> int:
        return share_of(endpoint_id, concurrency, self.members, self.member)

    async def refresh(self, *, force: bool = False) -> None:
        """Renew (or take) this member's heartbeat and read the live members, when due."""
        if not force and time.monotonic() - self._refreshed_at < self.ttl_s / 3:
            return
        self._refreshed_at = time.monotonic()
        name = PREFIX + self.member
        if self._token is not None and not await self.leases.renew(
            name, self.member, self._token, self.ttl_s
        ):
            _log.warning("webhook dispatcher heartbeat lost", member=self.member)
            self._token = None
        if self._token is None:
            self._token = await self.leases.acquire(name, self.member, self.ttl_s)
        live = sorted(lease.holder for lease in await self.leases.live(PREFIX))
        # without a heartbeat of its own this dispatcher is outside the split: it keeps the
        # safety rule only, which holds whatever it believes about the others
        self.members = live if self._token is not None and self.member in live else [self.member]

    async def leave(self) -> None:
        """Give the heartbeat up so the others take this member's share at once."""
        if self._token is not None:
            token, self._token = self._token, None
            await self.leases.release(PREFIX + self.member, self.member, token)
        self.members = [self.member]
