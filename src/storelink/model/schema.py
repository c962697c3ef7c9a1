"""JSON Schema export: one file per entity and per event/command type."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from storelink.model.base import CanonicalModel
from storelink.model.catalog import Price, Product, Promotion
from storelink.model.envelope import Event
from storelink.model.estate import Location, Store
from storelink.model.events import PAYLOAD_TYPES
from storelink.model.orders import Invoice, Order, Shipment
from storelink.model.parties import Customer
from storelink.model.sales import Payment, Return, Sale, SaleLine
from storelink.model.stock import StockMovement, StockPosition

ENTITIES: tuple[type[CanonicalModel], ...] = (
    Store,
    Location,
    Product,
    Price,
    Promotion,
    StockPosition,
    StockMovement,
    Sale,
    SaleLine,
    Payment,
    Return,
    Order,
    Shipment,
    Invoice,
    Customer,
)

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def entity_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(mode="validation")
    return {"$schema": DIALECT, "$id": f"urn:storelink:entity:{model.__name__}", **schema}


def event_schema(event_type: str) -> dict[str, Any]:
    """The envelope's schema with ``type`` fixed and ``data`` bound to the payload's schema."""
    envelope = Event.model_json_schema(mode="validation")
    payload = PAYLOAD_TYPES[event_type].model_json_schema(mode="validation")
    defs = {**envelope.pop("$defs", {}), **payload.pop("$defs", {})}
    envelope["properties"]["type"] = {"const": event_type, "type": "string"}
    envelope["properties"]["data"] = payload
    schema: dict[str, Any] = {"$schema": DIALECT, "$id": f"urn:storelink:event:{event_type}"}
    schema.update(envelope)
    if defs:
        schema["$defs"] = defs
    return schema


def export(directory: Path) -> list[Path]:
    """Write ``<Entity>.schema.json`` and ``<event type>.schema.json`` files; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    documents: dict[str, dict[str, Any]] = {m.__name__: entity_schema(m) for m in ENTITIES}
    documents.update({t: event_schema(t) for t in PAYLOAD_TYPES})
    for name, document in documents.items():
        path = directory / f"{name}.schema.json"
        path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written
