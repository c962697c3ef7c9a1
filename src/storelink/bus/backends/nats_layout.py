"""Where the NATS event log puts things: streams, subjects, partitions, consumer names.

An event of type ``storelink.stock.moved.v1`` whose key is ``K`` is stored in
the family stream ``P_STOCK`` (subjects ``p.stock.>``) on the subject
``p.stock.<n>.moved.v1``, where ``n`` is :func:`partition_of` ``K``. Consumer
group ``g`` reads partition ``n`` of a family through its own durable consumer
``g-p<n>`` filtered on ``p.stock.<n>.>``. The names are pure functions of the
prefix, the partition count and the key, so every process of a deployment
computes the same ones.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from storelink.model import PAYLOAD_TYPES

RETRIES = "retries"
DEADLETTERS = "deadletters"


def family(event_type: str) -> str:
    """``storelink.stock.moved.v1`` belongs to the ``stock`` family."""
    return event_type.split(".")[1]


FAMILIES: tuple[str, ...] = tuple(sorted({family(t) for t in PAYLOAD_TYPES}))


def partition_of(key: str, partitions: int) -> int:
    """The partition of ``key``: CRC-32 of its UTF-8 bytes, modulo ``partitions``.

    Stable across processes, restarts and Python versions — unlike ``hash()``,
    which is salted per process and would send one key to two partitions.
    """
    return zlib.crc32(key.encode()) % partitions


@dataclass(frozen=True)
class Layout:
    """The names one deployment (one ``bus.nats_prefix``) uses."""

    prefix: str
    partitions: int

    def stream(self, stream_family: str) -> str:
        return f"{self.prefix}_{stream_family}".upper().replace("-", "_")

    def stream_subject(self, stream_family: str) -> str:
        """Everything a family stream (or the retries and dead-letter streams) holds."""
        return f"{self.prefix}.{stream_family}.>"

    def subject(self, event_type: str, key: str) -> str:
        """``p.stock.<partition of key>.moved.v1``."""
        _, event_family, rest = event_type.split(".", 2)
        return f"{self.prefix}.{event_family}.{partition_of(key, self.partitions)}.{rest}"

    def partition_filter(self, stream_family: str, partition: int, wanted: Sequence[str]) -> str:
        """The subject a group's consumer of one partition reads.

        One filter subject per consumer (JetStream before 2.10 has no
        ``filter_subjects``): the one type a group wants of the family, or all
        of them, the log then skipping the unwanted ones.
        """
        if len(wanted) == 1:
            return f"{self.prefix}.{stream_family}.{partition}.{wanted[0].split('.', 2)[2]}"
        return f"{self.prefix}.{stream_family}.{partition}.>"

    def consumer(self, group: str, partition: int) -> str:
        """``g-p<n>``: the durable consumer of group ``g`` on partition ``n`` of a family."""
        return f"{group}-p{partition}"

    def retry_subject(self, group: str) -> str:
        return f"{self.prefix}.{RETRIES}.{group}"

    def dead_letter_subject(self, group: str) -> str:
        return f"{self.prefix}.{DEADLETTERS}.{group}"
