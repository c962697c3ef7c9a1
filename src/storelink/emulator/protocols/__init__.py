"""The three wire protocols: JSON-RPC (``/jsonrpc``), XML-RPC (``/xmlrpc/2/…``), JSON-2 (19+)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Reply:
    """An HTTP answer a protocol handler produced."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
