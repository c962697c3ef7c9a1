"""One emulated Odoo database: records, registry, credentials and pending webhook posts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from storelink.emulator.registry import Registry
from storelink.emulator.schema import ModelSpec
from storelink.emulator.store import Store

EXTRA_INDEXES = (
    ("stock.quant", "product_id"),
    ("stock.move", "sale_line_id"),
    ("pos.order", "pos_reference"),
    ("pos.order", "uuid"),
    ("sale.order", "client_order_ref"),
    ("product.template", "default_code"),
    ("product.template", "barcode"),
    ("ir.model.data", "name"),
    ("res.partner", "ref"),
)


@dataclass(frozen=True)
class WebhookPost:
    """A ``base.automation`` webhook to send once the call's transaction is over."""

    url: str
    payload: dict[str, Any]


@dataclass
class Database:
    name: str
    registry: Registry
    store: Store
    #: uid -> password (never readable through the ORM)
    passwords: dict[int, str] = field(default_factory=dict)
    #: API key -> uid
    api_keys: dict[str, int] = field(default_factory=dict)
    outbox: list[WebhookPost] = field(default_factory=list)

    def __post_init__(self) -> None:
        # index what is looked up by value all the time: one2many inverses and the keys
        # the connector searches by, so big databases stay fast
        for spec in self.registry.specs.values():
            for model_field in spec.fields.values():
                if model_field.type == "one2many" and model_field.relation and model_field.inverse:
                    self.store.add_index(model_field.relation, model_field.inverse)
        for model, name in EXTRA_INDEXES:
            if model in self.registry.specs:
                self.store.add_index(model, name)

    @property
    def version(self) -> int:
        return self.registry.version

    def installed_modules(self) -> set[str]:
        table = self.store.table("ir.module.module")
        return {r["name"] for r in table.values() if r.get("state") == "installed"}

    def spec(self, model: str) -> ModelSpec | None:
        """The model if it exists in this database (its module is installed)."""
        spec = self.registry.specs.get(model)
        if spec is None or spec.module not in self.installed_modules():
            return None
        return spec
