"""Every difference between Odoo 16, 17, 18 and 19 that the connector cares about.

Nothing else in :mod:`storelink.odoo` branches on a version number; it asks the
:class:`Dialect` instead. Sources read for each difference:

* storable products: ``detailed_type='product'`` in 16/17
  (``addons/stock/models/product.py``), ``type='consu'`` + ``is_storable=True``
  from 18 (``addons/stock/models/product.py`` 18.0);
* POS order sync: ``pos.order.create_from_ui(orders, draft=False)`` with each
  order wrapped as ``{"id": uid, "data": {…, "statement_ids": […]}}`` in 16/17,
  ``pos.order.sync_from_ui(orders)`` with plain order values (``uuid``,
  ``session_id``, ``payment_ids``) from 18 (``addons/point_of_sale/models/pos_order.py``);
* POS session opening: ``action_pos_session_open`` leaves a session in
  ``opening_control`` when the config has cash control (17, the default with a
  cash method) and always from 18; the POS UI then calls
  ``set_cashbox_pos(cashbox_value, notes)`` (16/17) or
  ``set_opening_control(cashbox_value, notes)`` (18+) to open it
  (``addons/point_of_sale/models/pos_session.py``; seen on real 17.0 and 18.0);
* stock moves: done quantity ``quantity_done`` in 16, ``quantity`` from 17; the
  required ``name`` (description) up to 18, gone in 19 (``addons/stock/models/stock_move.py``);
* grouped reads: ``read_group(domain, fields, groupby, lazy=False)`` up to 18,
  ``formatted_read_group(domain, groupby, aggregates)`` in 19 (``odoo/models.py``,
  ``addons/web/models/models.py``);
* access rights: ``check_access_rights(operation, raise_exception=False)`` up to
  17, ``has_access(operation)`` from 18 (``odoo/models.py``);
* protocol: JSON-RPC/XML-RPC up to 18; JSON-2 from 19 where the others are
  deprecated (``addons/web/controllers/json2.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from storelink.errors import OdooProtocolError

Series = Literal["16", "17", "18", "19"]
SUPPORTED: tuple[Series, ...] = ("16", "17", "18", "19")


@dataclass(frozen=True)
class Dialect:
    """How one Odoo major version spells the things storelink needs."""

    series: Series

    @property
    def major(self) -> int:
        return int(self.series)

    @property
    def default_protocol(self) -> str:
        return "json2" if self.major >= 19 else "jsonrpc"

    # products -------------------------------------------------------------
    @property
    def storable_fields(self) -> dict[str, Any]:
        """Values making a product tracked in stock."""
        if self.major >= 18:
            return {"type": "consu", "is_storable": True}
        return {"detailed_type": "product"}

    @property
    def storable_load_columns(self) -> dict[str, str]:
        """The same as ``load`` import columns (strings, as the import machinery wants)."""
        if self.major >= 18:
            return {"type": "consu", "is_storable": "1"}
        return {"detailed_type": "product"}

    @property
    def move_done_field(self) -> str:
        """``stock.move`` done quantity: ``quantity_done`` in 16, ``quantity`` from 17."""
        return "quantity" if self.major >= 17 else "quantity_done"

    @property
    def move_has_name(self) -> bool:
        """``stock.move.name`` is a required description up to 18; 19 dropped the field."""
        return self.major <= 18

    # point of sale --------------------------------------------------------
    @property
    def pos_sync_method(self) -> str:
        return "sync_from_ui" if self.major >= 18 else "create_from_ui"

    @property
    def pos_session_field(self) -> str:
        return "session_id" if self.major >= 18 else "pos_session_id"

    @property
    def pos_payments_field(self) -> str:
        return "payment_ids" if self.major >= 18 else "statement_ids"

    @property
    def pos_opening_method(self) -> str:
        """The record method that takes a session out of ``opening_control``."""
        return "set_opening_control" if self.major >= 18 else "set_cashbox_pos"

    def pos_sync_params(self, orders: list[dict[str, Any]]) -> dict[str, Any]:
        """Keyword arguments of the POS sync method for already-shaped ``orders``."""
        if self.major >= 18:
            return {"orders": orders}
        return {"orders": orders, "draft": False}

    def pos_wrap(self, uid: str, values: dict[str, Any]) -> dict[str, Any]:
        """One order as the sync method takes it (16/17 wrap it in ``{"id", "data"}``)."""
        if self.major >= 18:
            return values
        return {"id": uid, "data": values}

    def pos_synced_ids(self, result: Any) -> list[int]:
        """The ``pos.order`` ids out of the sync method's answer."""
        if self.major >= 18:
            if not isinstance(result, dict):
                raise OdooProtocolError("sync_from_ui did not return a dict of records")
            return [int(row["id"]) for row in result.get("pos.order", [])]
        if not isinstance(result, list):
            raise OdooProtocolError("create_from_ui did not return a list")
        return [int(row["id"]) if isinstance(row, dict) else int(row) for row in result]

    # grouped reads --------------------------------------------------------
    def group_call(
        self, domain: list[Any], groupby: list[str], sums: list[str]
    ) -> tuple[str, dict[str, Any]]:
        """Method and parameters summing ``sums`` grouped by ``groupby``."""
        if self.major >= 19:
            return "formatted_read_group", {
                "domain": domain,
                "groupby": groupby,
                "aggregates": [f"{name}:sum" for name in sums],
            }
        return "read_group", {
            "domain": domain,
            "fields": [f"{name}:sum" for name in sums],
            "groupby": groupby,
            "lazy": False,
        }

    def group_sum(self, row: Mapping[str, Any], name: str) -> Any:
        """The summed value of ``name`` in one group row."""
        if self.major >= 19:
            return row.get(f"{name}:sum", 0)
        return row.get(name, 0)

    # access rights --------------------------------------------------------
    def access_call(self, operation: str) -> tuple[str, dict[str, Any]]:
        if self.major >= 18:
            return "has_access", {"operation": operation}
        return "check_access_rights", {"operation": operation, "raise_exception": False}


def dialect_for(version_info: Mapping[str, Any]) -> Dialect:
    """The dialect for a ``common.version`` answer (``server_version_info`` first)."""
    info = version_info.get("server_version_info")
    major = str(info[0]) if isinstance(info, list | tuple) and info else ""
    if not major:
        raw = str(version_info.get("server_version", ""))
        major = raw.split(".", 1)[0].removeprefix("saas~")
    for series in SUPPORTED:
        if major == series:
            return Dialect(series)
    raise OdooProtocolError(
        f"Odoo {version_info.get('server_version', major)!r} is not supported "
        f"(supported: {', '.join(SUPPORTED)})",
        version=major,
    )
