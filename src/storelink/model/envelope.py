"""The event envelope: CloudEvents 1.0 attributes plus ``partitionkey`` and ``traceparent``.

Every fact storelink publishes and every command it routes travels in an
:class:`Event`. ``id`` is the idempotency key of the event everywhere (outbox,
event log, consumers, webhooks); ``partitionkey`` names the aggregate whose
events must stay in order (``SKU@LOCATION``, ``order:ID``, ``sale:STORE:UUID``).

Example::

    event = Event.of(EventType.SALE_RECORDED, sale, source="/stores/S001",
                     partitionkey=sale_key(sale.store, sale.id))
    same_sale = event.payload()
"""

from __future__ import annotations

from typing import Any, Literal, Self
from uuid import uuid4

from pydantic import BaseModel, ConfigDict, Field, model_validator

from storelink.model.base import CanonicalModel
from storelink.model.events import PAYLOAD_TYPES
from storelink.model.types import UtcDateTime, utcnow

TRACEPARENT_PATTERN = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"
TYPE_PATTERN = r"^storelink\.(command\.[a-z][a-z_]*|[a-z][a-z_]*\.[a-z][a-z_]*)\.v[0-9]+$"


class Event(BaseModel):
    """A CloudEvents 1.0 envelope (JSON format) with storelink's two extensions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=lambda: str(uuid4()), min_length=1, max_length=128)
    source: str = Field(min_length=1, max_length=256, examples=["/stores/S001"])
    type: str = Field(pattern=TYPE_PATTERN, examples=["storelink.sale.recorded.v1"])
    subject: str | None = Field(default=None, max_length=256)
    time: UtcDateTime = Field(default_factory=utcnow)
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]
    partitionkey: str = Field(min_length=1, max_length=256)
    traceparent: str | None = Field(default=None, pattern=TRACEPARENT_PATTERN)

    @model_validator(mode="after")
    def _data_matches_type(self) -> Self:
        payload_type = PAYLOAD_TYPES.get(self.type)
        if payload_type is None:
            raise ValueError(f"unknown event type {self.type!r}")
        payload_type.model_validate(self.data)
        return self

    @classmethod
    def of(
        cls,
        type: str,
        payload: CanonicalModel,
        *,
        source: str,
        partitionkey: str,
        subject: str | None = None,
        traceparent: str | None = None,
        id: str | None = None,
    ) -> Event:
        """Wrap ``payload`` in an envelope; the payload must be the type's registered model."""
        expected = PAYLOAD_TYPES.get(type)
        if expected is None:
            raise ValueError(f"unknown event type {type!r}")
        if not isinstance(payload, expected):
            raise TypeError(f"{type} carries {expected.__name__}, not {type_name(payload)}")
        fields: dict[str, Any] = {
            "source": source,
            "type": type,
            "subject": subject,
            "data": payload.model_dump(mode="json"),
            "partitionkey": partitionkey,
            "traceparent": traceparent,
        }
        if id is not None:
            fields["id"] = id
        return cls(**fields)

    def payload(self) -> CanonicalModel:
        """The ``data`` parsed into its canonical model."""
        return PAYLOAD_TYPES[self.type].model_validate(self.data)


def type_name(value: object) -> str:
    return type(value).__name__


def stock_key(sku: str, location: str) -> str:
    """Partition key of one SKU at one location."""
    return f"{sku}@{location}"


def order_key(order_id: str) -> str:
    return f"order:{order_id}"


def sale_key(store: str, sale_id: object) -> str:
    return f"sale:{store}:{sale_id}"
