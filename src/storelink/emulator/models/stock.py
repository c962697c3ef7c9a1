"""``stock``: warehouses, locations, quants (with inventory mode), moves and pickings.

Reservation follows the real 17/18 transcripts: a confirmed move of a storable
product reserves only what is available (on hand less reserved) at its source
location and below, raising the quant's ``reserved_quantity``; a delivery that
reserves nothing stays 'confirmed'. Done or cancelled moves give it back. Every
location but a view keeps quants, so stock leaving for customers or counted
away leaves quants (positive or negative) at those virtual locations.

Archiving and deleting follow ``addons/stock/models``: a move can be deleted only
in draft or cancelled (``stock_move.py`` ``_unlink_if_draft_or_cancel``) and a
transfer deletes its moves first (``stock_picking.py`` ``unlink``). Archiving a
warehouse (``stock_warehouse.py`` ``write``) is refused while moves of its
operation types are open, archives those operation types and its view location;
archiving a location (``stock_location.py`` ``write``) is refused while an active
warehouse uses it or an internal location below it holds stock, and archives
everything below it. These rules were written from memory and are listed as not
verified from source in the package docstring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from storelink.emulator import access, webhooks, xmlids
from storelink.emulator.exceptions import UserError
from storelink.emulator.models.base import default_company
from storelink.emulator.orm import Env
from storelink.emulator.registry import Registry
from storelink.emulator.schema import (
    Field,
    ModelSpec,
    Record,
    Unique,
    char,
    flag,
    m2o,
    num,
    o2m,
    select,
)

STOCK_USER = ("stock.group_stock_user",)
STOCK_MANAGER = ("stock.group_stock_manager",)
#: fields a stock user may set on a quant in inventory mode (``_get_inventory_fields_*``)
INVENTORY_CREATE_FIELDS = frozenset(
    {"product_id", "location_id", "lot_id", "package_id", "owner_id"}
)
INVENTORY_WRITE_FIELDS = frozenset(
    {
        "inventory_quantity",
        "inventory_quantity_auto_apply",
        "inventory_diff_quantity",
        "inventory_date",
        "user_id",
        "inventory_quantity_set",
        "is_outdated",
        "accounting_date",
    }
)
MOVE_STATES = (
    ("draft", "New"),
    ("waiting", "Waiting Another Move"),
    ("confirmed", "Waiting Availability"),
    ("partially_available", "Partially Available"),
    ("assigned", "Available"),
    ("done", "Done"),
    ("cancel", "Cancelled"),
)
PICKING_STATES = (
    ("draft", "Draft"),
    ("waiting", "Waiting Another Operation"),
    ("confirmed", "Waiting"),
    ("assigned", "Ready"),
    ("done", "Done"),
    ("cancel", "Cancelled"),
)


@dataclass(frozen=True)
class MoveLine:
    """One product quantity to move (input to :func:`create_picking`)."""

    product_id: int
    quantity: float
    sale_line_id: int | None = None


def done_field(version: int) -> str:
    """The done quantity of a move: ``quantity_done`` (16) became ``quantity`` (17+)."""
    return "quantity_done" if version <= 16 else "quantity"


def _complete_name(env: Env, record: Record) -> str:
    parts = [str(record.get("name") or "")]
    parent = env.table("stock.location").get(record.get("location_id") or 0)
    # Odoo leaves the top views ("Physical Locations", "Virtual Locations") out of the path
    while parent is not None and parent.get("location_id"):
        parts.append(str(parent.get("name")))
        parent = env.table("stock.location").get(parent.get("location_id") or 0)
    return "/".join(reversed(parts))


def _quant_available(env: Env, record: Record) -> float:
    return float(record.get("quantity", 0.0)) - float(record.get("reserved_quantity", 0.0))


def _quant_diff(env: Env, record: Record) -> float:
    if not record.get("inventory_quantity_set"):
        return 0.0
    return float(record.get("inventory_quantity", 0.0)) - float(record.get("quantity", 0.0))


def _quant_warehouse(env: Env, record: Record) -> Any:
    location = env.table("stock.location").get(record.get("location_id") or 0)
    return location.get("warehouse_id", False) if location else False


def install(registry: Registry) -> None:
    v = registry.version
    registry.model(
        ModelSpec(
            "stock.location",
            "Inventory Locations",
            "stock",
            {
                "name": char("Location Name", required=True),
                "complete_name": Field("char", "Full Location Name", compute=_complete_name),
                "location_id": m2o("stock.location", "Parent Location"),
                "usage": select(
                    (
                        ("supplier", "Vendor Location"),
                        ("view", "View"),
                        ("internal", "Internal Location"),
                        ("customer", "Customer Location"),
                        ("inventory", "Inventory Loss"),
                        ("production", "Production"),
                        ("transit", "Transit Location"),
                    ),
                    "Location Type",
                    default="internal",
                    required=True,
                ),
                "company_id": m2o("res.company", "Company", default=default_company),
                "warehouse_id": m2o("stock.warehouse", "Warehouse"),
                "active": flag("Active", default=True),
            },
            order="complete_name, id",
            parent_name="location_id",
            read_groups=STOCK_USER,
            write_groups=STOCK_MANAGER,
            display=_complete_name,
        )
    )
    warehouse: dict[str, Field] = {
        "name": char("Warehouse", required=True),
        # stock_warehouse.py: code = fields.Char('Short Name', size=5); real 17/18 store
        # "ABCDE" for "ABCDEF" without an error (the connector refuses such store codes)
        "code": char("Short Name", required=True, size=5),
        "company_id": m2o("res.company", "Company", default=default_company, required=True),
        "partner_id": m2o("res.partner", "Address"),
        "view_location_id": m2o("stock.location", "View Location"),
        "lot_stock_id": m2o("stock.location", "Location Stock"),
        "in_type_id": m2o("stock.picking.type", "In Type"),
        "out_type_id": m2o("stock.picking.type", "Out Type"),
        "int_type_id": m2o("stock.picking.type", "Internal Type"),
        "pos_type_id": m2o("stock.picking.type", "Point of Sale Operation Type"),
        "active": flag("Active", default=True),
    }
    registry.model(
        ModelSpec(
            "stock.warehouse",
            "Warehouse",
            "stock",
            warehouse,
            order="id",
            unique=(
                Unique(
                    ("name", "company_id"), "The name of the warehouse must be unique per company!"
                ),
                Unique(
                    ("code", "company_id"),
                    "The short name of the warehouse must be unique per company!",
                ),
            ),
            read_groups=("base.group_user",),
            write_groups=STOCK_MANAGER,
        )
    )
    registry.model(
        ModelSpec(
            "stock.picking.type",
            "Picking Type",
            "stock",
            {
                "name": char("Operation Type", required=True),
                "code": select(
                    (
                        ("incoming", "Receipt"),
                        ("outgoing", "Delivery"),
                        ("internal", "Internal Transfer"),
                    ),
                    "Type of Operation",
                    required=True,
                ),
                "sequence_code": char("Sequence Prefix", required=True),
                "warehouse_id": m2o("stock.warehouse", "Warehouse"),
                "default_location_src_id": m2o("stock.location", "Default Source Location"),
                "default_location_dest_id": m2o("stock.location", "Default Destination Location"),
                "company_id": m2o("res.company", "Company", default=default_company),
                "active": flag("Active", default=True),
            },
            read_groups=("base.group_user",),
            write_groups=STOCK_MANAGER,
            display=lambda env, r: f"{_warehouse_name(env, r)}{r.get('name')}",
        )
    )
    registry.model(
        ModelSpec(
            "stock.quant",
            "Quants",
            "stock",
            {
                "product_id": m2o("product.product", "Product", required=True),
                "location_id": m2o("stock.location", "Location", required=True),
                "warehouse_id": Field(
                    "many2one", "Warehouse", relation="stock.warehouse", compute=_quant_warehouse
                ),
                "company_id": m2o("res.company", "Company", default=default_company),
                "quantity": num("Quantity", readonly=True),
                "reserved_quantity": num("Reserved Quantity", readonly=True),
                "available_quantity": Field(
                    "float", "Available Quantity", compute=_quant_available
                ),
                "inventory_quantity": num("Counted Quantity"),
                "inventory_diff_quantity": Field("float", "Difference", compute=_quant_diff),
                "inventory_quantity_set": flag("Inventory Quantity Set"),
                "inventory_date": Field("date", "Scheduled Date"),
                "in_date": Field("datetime", "Incoming Date"),
            },
            read_groups=STOCK_USER,
            write_groups=STOCK_USER,
        )
    )
    move: dict[str, Field] = {
        # 19 has no stock.move.name; kept here, optional, for the emulator's own moves
        "name": char("Description", required=v <= 18),
        "reference": char("Reference"),
        "origin": char("Source Document"),
        "product_id": m2o("product.product", "Product", required=True),
        "product_uom_qty": num("Demand", default=0.0),
        done_field(v): num("Quantity"),
        "product_uom": m2o("uom.uom", "UoM"),
        "location_id": m2o("stock.location", "Source Location", required=True),
        "location_dest_id": m2o("stock.location", "Destination Location", required=True),
        "state": select(MOVE_STATES, "Status", default="draft"),
        "picking_id": m2o("stock.picking", "Transfer"),
        "picking_type_id": m2o("stock.picking.type", "Operation Type"),
        "is_inventory": flag("Inventory"),
        "date": Field("datetime", "Date Scheduled", default=lambda env: env.now()),
        "company_id": m2o("res.company", "Company", default=default_company),
        "sale_line_id": m2o("sale.order.line", "Sale Line"),
        "partner_id": m2o("res.partner", "Destination Address"),
    }
    if v >= 17:
        move["picked"] = flag("Picked")
    registry.model(
        ModelSpec(
            "stock.move",
            "Stock Move",
            "stock",
            move,
            order="id",
            read_groups=STOCK_USER,
            write_groups=STOCK_USER,
        )
    )
    registry.model(
        ModelSpec(
            "stock.picking",
            "Transfer",
            "stock",
            {
                "name": char("Reference", default="/"),
                "origin": char("Source Document"),
                "picking_type_id": m2o("stock.picking.type", "Operation Type", required=True),
                "location_id": m2o("stock.location", "Source Location"),
                "location_dest_id": m2o("stock.location", "Destination Location"),
                "partner_id": m2o("res.partner", "Contact"),
                "state": select(PICKING_STATES, "Status", default="draft"),
                "move_ids": o2m("stock.move", "picking_id", "Stock Moves"),
                "scheduled_date": Field(
                    "datetime", "Scheduled Date", default=lambda env: env.now()
                ),
                "date_done": Field("datetime", "Date of Transfer"),
                "sale_id": m2o("sale.order", "Sales Order"),
                "pos_order_id": m2o("pos.order", "POS Order"),
                "pos_session_id": m2o("pos.session", "POS Session"),
                "company_id": m2o("res.company", "Company", default=default_company),
            },
            order="id desc",
            read_groups=STOCK_USER,
            write_groups=STOCK_USER,
        )
    )
    # what stock adds to product.template (company-dependent; the company default here)
    registry.specs["product.template"].fields["property_stock_inventory"] = Field(
        "many2one", "Inventory Location", relation="stock.location", compute=_inventory_loss
    )
    registry.on_create("stock.warehouse", _create_warehouse_locations)
    registry.on_create("stock.picking", _name_picking)
    registry.method("stock.quant", "create", quant_create, api_model=True)
    registry.method("stock.quant", "write", quant_write, api_model=False)
    registry.method(
        "stock.quant", "action_apply_inventory", action_apply_inventory, api_model=False
    )
    registry.method("stock.picking", "action_confirm", picking_confirm, api_model=False)
    registry.method("stock.picking", "action_assign", picking_assign, api_model=False)
    registry.method("stock.picking", "button_validate", button_validate, api_model=False)
    registry.method("stock.picking", "action_cancel", picking_cancel, api_model=False)
    registry.on_unlink("stock.move", _unlink_if_draft_or_cancel)
    registry.on_unlink("stock.picking", _unlink_moves_first)
    registry.on_write("stock.warehouse", _archive_warehouse)
    registry.on_write("stock.location", _archive_location)


def _inventory_loss(env: Env, record: Record) -> Any:
    found = xmlids.lookup(env, "stock.stock_location_inventory")
    return found[1] if found else False


def _warehouse_name(env: Env, picking_type: Record) -> str:
    warehouse = env.table("stock.warehouse").get(picking_type.get("warehouse_id") or 0)
    return f"{warehouse['name']}: " if warehouse else ""


# -- warehouses ---------------------------------------------------------------------------------
def _archive_warehouse(env: Env, model: str, ids: list[int], vals: dict[str, Any]) -> None:
    if "active" not in vals:
        return
    active = bool(vals["active"])
    sudo = env.sudo().with_context(active_test=False)
    for warehouse in env.browse(model, ids):
        types = [
            t["id"] for t in env.referencing("stock.picking.type", "warehouse_id", warehouse["id"])
        ]
        open_moves = [
            m
            for m in env.table("stock.move").values()
            if m.get("picking_type_id") in types and m.get("state") not in ("done", "cancel")
        ]
        if open_moves:
            names = sorted(
                {env.get("stock.picking.type", m["picking_type_id"])["name"] for m in open_moves}
            )
            kind = "picking types" if env.version <= 16 else "operation types"
            raise UserError(
                f"You still have ongoing operations for {kind} {', '.join(names)} "
                f"in warehouse {warehouse['name']}"
            )
        if types:
            sudo.write("stock.picking.type", types, {"active": active})
        if warehouse.get("view_location_id"):
            sudo.write("stock.location", [warehouse["view_location_id"]], {"active": active})


def _archive_location(env: Env, model: str, ids: list[int], vals: dict[str, Any]) -> None:
    if "active" not in vals:
        return
    active = bool(vals["active"])
    locations = env.table(model)
    if not active:
        for location_id in ids:
            for warehouse in env.table("stock.warehouse").values():
                if warehouse.get("active", True) and location_id in (
                    warehouse.get("lot_stock_id"),
                    warehouse.get("view_location_id"),
                ):
                    name = _complete_name(env, locations[location_id])
                    raise UserError(
                        f"You cannot archive location {name} "
                        f"because it is used by warehouse {warehouse['name']}"
                    )
    if env.context.get("do_not_check_quant"):
        return
    below = env.descendants(model, ids)
    internal = {i for i in below if locations[i].get("usage") == "internal"}
    stocked = sorted(
        {
            q["location_id"]
            for q in env.table("stock.quant").values()
            if q.get("location_id") in internal
            and (q.get("quantity") or q.get("reserved_quantity"))
        }
    )
    if stocked and not active:
        names = ", ".join(_complete_name(env, locations[i]) for i in stocked)
        raise UserError(f"You can't disable locations {names} because they still contain products.")
    children = sorted(below - set(ids))
    if children:
        env.sudo().with_context(do_not_check_quant=True).write(model, children, {"active": active})


def location_by_xmlid(env: Env, xmlid: str) -> int:
    found = xmlids.lookup(env, xmlid)
    if found is None:
        raise UserError(f"External ID not found in the system: {xmlid}")
    return found[1]


def _create_warehouse_locations(env: Env, model: str, ids: list[int], vals: dict[str, Any]) -> None:
    # what stock.warehouse.create does: a view location, its Stock and the operation types
    sudo = env.sudo()
    customers = location_by_xmlid(env, "stock.stock_location_customers")
    suppliers = location_by_xmlid(env, "stock.stock_location_suppliers")
    physical = location_by_xmlid(env, "stock.stock_location_locations")
    for warehouse in env.browse("stock.warehouse", ids):
        if warehouse.get("lot_stock_id"):
            continue
        code, company = warehouse["code"], warehouse.get("company_id") or 1
        view = sudo.create(
            "stock.location",
            [{"name": code, "usage": "view", "location_id": physical, "company_id": company}],
        )[0]
        stock = sudo.create(
            "stock.location",
            [{"name": "Stock", "usage": "internal", "location_id": view, "company_id": company}],
        )[0]

        def picking_type(
            name: str,
            kind: str,
            prefix: str,
            src: int,
            dest: int,
            warehouse: Record = warehouse,
            company: int = company,
        ) -> int:
            return sudo.create(
                "stock.picking.type",
                [
                    {
                        "name": name,
                        "code": kind,
                        "sequence_code": prefix,
                        "warehouse_id": warehouse["id"],
                        "default_location_src_id": src,
                        "default_location_dest_id": dest,
                        "company_id": company,
                    }
                ],
            )[0]

        updates = {
            "view_location_id": view,
            "lot_stock_id": stock,
            "in_type_id": picking_type("Receipts", "incoming", "IN", suppliers, stock),
            "out_type_id": picking_type("Delivery Orders", "outgoing", "OUT", stock, customers),
            "int_type_id": picking_type("Internal Transfers", "internal", "INT", stock, stock),
            "pos_type_id": picking_type("PoS Orders", "outgoing", "POS", stock, customers),
        }
        warehouse.update(updates)
        for location_id in (view, stock):
            env.table("stock.location")[location_id]["warehouse_id"] = warehouse["id"]


def warehouse_view(env: Env, warehouse_id: int) -> int:
    return int(env.get("stock.warehouse", warehouse_id)["view_location_id"])


# -- quants -------------------------------------------------------------------------------------
def _internal_locations(env: Env) -> set[int]:
    context = env.context
    locations = env.table("stock.location")
    roots: list[int] = []
    if context.get("location"):
        roots = [int(context["location"])]
    elif context.get("warehouse"):
        roots = [warehouse_view(env, int(context["warehouse"]))]
    family = env.descendants("stock.location", roots) if roots else set(locations)
    return {i for i in family if i in locations and locations[i].get("usage") == "internal"}


def on_hand(env: Env, product_ids: Sequence[int]) -> float:
    """``qty_available``: quants in internal locations, narrowed by ``location``/``warehouse``."""
    internal = _internal_locations(env)
    return float(
        sum(
            q.get("quantity", 0.0)
            for product_id in set(product_ids)
            for q in env.referencing("stock.quant", "product_id", product_id)
            if q.get("location_id") in internal
        )
    )


def _find_quant(env: Env, product_id: int, location_id: int) -> Record | None:
    for quant in env.referencing("stock.quant", "product_id", product_id):
        if quant.get("location_id") == location_id:
            return quant
    return None


def adjust_quant(env: Env, product_id: int, location_id: int, delta: float) -> None:
    """Change the quantity of the quant at a location (``_update_available_quantity``).

    Like Odoo, every location but a view keeps quants: virtual ones (vendors,
    customers, inventory adjustment) go negative or positive as stock leaves
    or reaches them; only internal ones count as on hand.
    """
    location = env.get("stock.location", location_id)
    if location.get("usage") == "view":
        return
    quant = _find_quant(env, product_id, location_id)
    if quant is None:
        quant_id = env.sudo()._create_one(
            "stock.quant",
            {"product_id": product_id, "location_id": location_id, "in_date": env.now()},
        )
        quant = env.table("stock.quant")[quant_id]
    quant["quantity"] = float(quant.get("quantity", 0.0)) + float(delta)
    _touch_quant(env, quant, {"quantity"})


def _touch_quant(env: Env, quant: Record, changed: set[str]) -> None:
    quant["write_date"] = env.now()
    quant["write_uid"] = env.uid
    webhooks.record_changed(env, "stock.quant", [quant["id"]], "write", changed)


# -- reservation --------------------------------------------------------------------------------
def _storable(env: Env, product_id: int) -> bool:
    """Whether Odoo keeps stock of the product: ``is_storable`` (18+), type 'product' (16/17)."""
    product = env.get("product.product", product_id)
    if env.version >= 18:
        return bool(env.value("product.product", product, "is_storable"))
    return bool(env.value("product.product", product, "type") == "product")


def _bypasses_reservation(env: Env, move: Record) -> bool:
    """``_should_bypass_reservation``: only storable goods leaving an internal location reserve."""
    location = env.get("stock.location", move["location_id"])
    if location.get("usage") not in ("internal", "transit"):
        return True
    return not _storable(env, int(move["product_id"]))


def _reserved(move: Record) -> tuple[tuple[int, float], ...]:
    """What a move holds on quants: (location, quantity) pairs (Odoo keeps it on move lines)."""
    return tuple(move.get("_reserved") or ())


def _reserve_from_quants(env: Env, move: Record, wanted: float) -> float:
    """Reserve up to ``wanted`` from the available quants at the move's source and below."""
    locations = env.table("stock.location")
    below = env.descendants("stock.location", [move["location_id"]])
    quants = sorted(
        (
            q
            for q in env.referencing("stock.quant", "product_id", move["product_id"])
            if q.get("location_id") in below
            and locations[q["location_id"]].get("usage") in ("internal", "transit")
        ),
        key=lambda q: (str(q.get("in_date") or ""), q["id"]),
    )
    taken: dict[int, float] = dict(_reserved(move))
    got = 0.0
    for quant in quants:
        if got >= wanted:
            break
        free = float(quant.get("quantity", 0.0)) - float(quant.get("reserved_quantity", 0.0))
        take = min(free, wanted - got)
        if take <= 0:
            continue
        quant["reserved_quantity"] = float(quant.get("reserved_quantity", 0.0)) + take
        _touch_quant(env, quant, {"reserved_quantity"})
        taken[quant["location_id"]] = taken.get(quant["location_id"], 0.0) + take
        got += take
    if got:
        move["_reserved"] = tuple(sorted(taken.items()))
    return got


def release_reservation(env: Env, move: Record) -> None:
    """Give back what ``move`` holds on quants (done or cancelled: ``_do_unreserve``)."""
    for location_id, quantity in _reserved(move):
        quant = _find_quant(env, int(move["product_id"]), location_id)
        if quant is None:
            continue
        left = float(quant.get("reserved_quantity", 0.0)) - quantity
        quant["reserved_quantity"] = max(0.0, left)
        _touch_quant(env, quant, {"reserved_quantity"})
    if _reserved(move):
        move["_reserved"] = ()


def _assign_move(env: Env, move: Record) -> None:
    """``stock.move._action_assign`` for one move: reserve what is available, set its state.

    From 17 on ``quantity`` is what the move holds (reserved or set by hand), so
    reservation fills it up to the demand; in 16 reservation is kept apart from
    ``quantity_done``.
    """
    demand = float(move.get("product_uom_qty") or 0.0)
    held = sum(q for _, q in _reserved(move))
    if env.version >= 17:
        held = max(held, float(move.get("quantity") or 0.0))
    wanted = demand - held
    if wanted > 0:
        got = (
            wanted if _bypasses_reservation(env, move) else _reserve_from_quants(env, move, wanted)
        )
        held += got
        if env.version >= 17:
            move["quantity"] = held
    if held >= demand:
        move["state"] = "assigned"
    elif held > 0:
        move["state"] = "partially_available"
    else:
        move["state"] = "confirmed"


def _inventory_mode(env: Env) -> bool:
    return bool(env.context.get("inventory_mode")) and (
        env.su or "stock.group_stock_user" in access.user_groups(env, env.uid)
    )


def quant_create(
    env: Env, model: str, vals_list: dict[str, Any] | list[dict[str, Any]]
) -> int | list[int]:
    single = isinstance(vals_list, dict)
    rows = [vals_list] if isinstance(vals_list, dict) else list(vals_list)
    env.check_access(model, "create")
    ids: list[int] = []
    for vals in rows:
        allowed = INVENTORY_CREATE_FIELDS | INVENTORY_WRITE_FIELDS
        if not _inventory_mode(env) or set(vals) - allowed:
            raise UserError("Quant's creation is restricted, you can't do this operation.")
        product_id, location_id = int(vals["product_id"]), int(vals["location_id"])
        env.get("product.product", product_id)
        env.get("stock.location", location_id)
        # in inventory mode an existing quant for the same product and location is reused
        quant = _find_quant(env, product_id, location_id)
        if quant is None:
            quant_id = env.sudo()._create_one(
                "stock.quant", {"product_id": product_id, "location_id": location_id}
            )
        else:
            quant_id = quant["id"]
        updates = {k: v for k, v in vals.items() if k in INVENTORY_WRITE_FIELDS}
        if updates:
            _write_inventory(env, [quant_id], updates)
        ids.append(quant_id)
    return ids[0] if single else ids


def quant_write(env: Env, model: str, ids: Sequence[int], vals: dict[str, Any]) -> bool:
    env.check_access(model, "write")
    if not _inventory_mode(env) or set(vals) - INVENTORY_WRITE_FIELDS:
        raise UserError("Quant's editing is restricted, you can't do this operation.")
    for quant_id in ids:
        env.get(model, quant_id)
    _write_inventory(env, list(ids), dict(vals))
    return True


def _write_inventory(env: Env, ids: list[int], vals: dict[str, Any]) -> None:
    auto = vals.pop("inventory_quantity_auto_apply", None)
    if "inventory_quantity" in vals:
        vals.setdefault("inventory_quantity_set", True)
    vals.pop("inventory_diff_quantity", None)
    if vals:
        env.sudo().write("stock.quant", ids, vals)
    if auto is not None:
        env.sudo().write(
            "stock.quant", ids, {"inventory_quantity": auto, "inventory_quantity_set": True}
        )
        _apply_inventory(env, ids)


def action_apply_inventory(env: Env, model: str, ids: Sequence[int]) -> None:
    """Apply counted quantities; returns ``None`` like Odoo (so XML-RPC cannot marshal it)."""
    env.check_access(model, "write")
    if not env.su and "stock.group_stock_manager" not in access.user_groups(env, env.uid):
        raise UserError("Only a stock manager can validate an inventory adjustment.")
    for quant_id in ids:
        env.get(model, quant_id)
    _apply_inventory(env, list(ids))
    return None


def _apply_inventory(env: Env, ids: list[int]) -> None:
    sudo = env.sudo()
    adjustment = location_by_xmlid(env, "stock.stock_location_inventory")
    name = env.context.get("inventory_name") or "Product Quantity Updated"
    for quant in env.browse("stock.quant", ids):
        if not quant.get("inventory_quantity_set"):
            continue
        diff = float(quant.get("inventory_quantity", 0.0)) - float(quant.get("quantity", 0.0))
        if diff:
            inbound = diff > 0
            source, dest = (
                (adjustment, quant["location_id"])
                if inbound
                else (
                    quant["location_id"],
                    adjustment,
                )
            )
            sudo.create(
                "stock.move",
                [
                    {
                        "name": name,
                        "reference": name,
                        "product_id": quant["product_id"],
                        "product_uom_qty": abs(diff),
                        done_field(env.version): abs(diff),
                        "location_id": source,
                        "location_dest_id": dest,
                        "is_inventory": True,
                        "state": "done",
                        "company_id": quant.get("company_id") or 1,
                    }
                ],
            )
            adjust_quant(env, quant["product_id"], source, -abs(diff))
            adjust_quant(env, quant["product_id"], dest, abs(diff))
        sudo.write(
            "stock.quant",
            [quant["id"]],
            {"inventory_quantity": 0.0, "inventory_quantity_set": False},
        )


# -- pickings -----------------------------------------------------------------------------------
def _name_picking(env: Env, model: str, ids: list[int], vals: dict[str, Any]) -> None:
    for picking in env.browse("stock.picking", ids):
        picking_type = env.get("stock.picking.type", picking["picking_type_id"])
        if not picking.get("location_id"):
            picking["location_id"] = picking_type.get("default_location_src_id") or False
        if not picking.get("location_dest_id"):
            picking["location_dest_id"] = picking_type.get("default_location_dest_id") or False
        if picking.get("name") in (False, "/", ""):
            warehouse = env.table("stock.warehouse").get(picking_type.get("warehouse_id") or 0)
            prefix = f"{warehouse['code']}/" if warehouse else ""
            counter = f"{prefix}{picking_type['sequence_code']}"
            picking["name"] = f"{counter}/{env.db.store.next_number(counter):05d}"


def create_picking(
    env: Env,
    picking_type_id: int,
    lines: Sequence[MoveLine],
    *,
    origin: str,
    partner_id: int | bool = False,
    extra: dict[str, Any] | None = None,
) -> int:
    """A draft transfer of ``lines`` with the operation type's default locations."""
    sudo = env.sudo()
    picking_type = env.get("stock.picking.type", picking_type_id)
    source = picking_type["default_location_src_id"]
    dest = picking_type["default_location_dest_id"]
    moves = []
    for line in lines:
        product = env.get("product.product", line.product_id)
        moves.append(
            (
                0,
                0,
                {
                    "name": env.display_name("product.product", product),
                    "origin": origin,
                    "product_id": line.product_id,
                    "product_uom_qty": line.quantity,
                    "product_uom": env.value("product.product", product, "uom_id") or False,
                    "location_id": source,
                    "location_dest_id": dest,
                    "picking_type_id": picking_type_id,
                    "sale_line_id": line.sale_line_id or False,
                    "partner_id": partner_id,
                },
            )
        )
    vals = {
        "picking_type_id": picking_type_id,
        "origin": origin,
        "partner_id": partner_id,
        "location_id": source,
        "location_dest_id": dest,
        "move_ids": moves,
        **(extra or {}),
    }
    return sudo.create("stock.picking", [vals])[0]


def _moves(env: Env, picking_id: int) -> list[Record]:
    return env.referencing("stock.move", "picking_id", picking_id)


def picking_confirm(env: Env, model: str, ids: Sequence[int]) -> bool:
    env.check_access(model, "write")
    for picking_id in ids:
        picking = env.get(model, picking_id)
        if picking["state"] == "draft":
            _set_state(env, picking_id, "confirmed")
    return picking_assign(env, model, ids)


def picking_assign(env: Env, model: str, ids: Sequence[int]) -> bool:
    """``action_assign``: each open move reserves what its source location has available.

    A delivery whose moves reserve nothing stays ``confirmed`` ("Waiting"); one
    that reserves anything is ``assigned`` ("Ready"), as for the default shipping
    policy "as soon as possible" (``_compute_state``).
    """
    env.check_access(model, "write")
    for picking_id in ids:
        picking = env.get(model, picking_id)
        if picking["state"] not in ("confirmed", "waiting", "assigned"):
            continue
        moves = [m for m in _moves(env, picking_id) if m["state"] not in ("done", "cancel")]
        for move in moves:
            _assign_move(env, move)
        ready = not moves or any(m["state"] in ("assigned", "partially_available") for m in moves)
        env.sudo().write(
            "stock.picking", [picking_id], {"state": "assigned" if ready else "confirmed"}
        )
    return True


def button_validate(env: Env, model: str, ids: Sequence[int]) -> bool | dict[str, Any]:
    env.check_access(model, "write")
    field = done_field(env.version)
    pickings = [env.get(model, i) for i in ids]
    for picking in pickings:
        if picking["state"] in ("done", "cancel"):
            raise UserError(f"The transfer {picking['name']} is already done or cancelled.")
        if picking["state"] == "draft":
            picking_confirm(env, model, [picking["id"]])
    empty = [p for p in pickings if not any(m.get(field) for m in _moves(env, p["id"]))]
    if empty:
        if env.version <= 16 and not env.context.get("skip_immediate"):
            # 16 proposes the immediate-transfer wizard instead of validating
            return {
                "name": "Immediate Transfer?",
                "type": "ir.actions.act_window",
                "view_mode": "form",
                "res_model": "stock.immediate.transfer",
                "views": [[False, "form"]],
                "view_id": False,
                "target": "new",
                "context": {
                    "button_validate_picking_ids": list(ids),
                    "default_pick_ids": [[4, p["id"]] for p in empty],
                },
            }
        raise UserError(
            "You cannot validate a transfer if no quantities are reserved nor done. "
            "To force the transfer, encode quantities."
        )
    for picking in pickings:
        validate_picking(env, picking["id"])
    return True


def validate_picking(env: Env, picking_id: int) -> None:
    """Mark the moves done with their done quantity and move the stock (no backorders)."""
    field = done_field(env.version)
    for move in _moves(env, picking_id):
        quantity = float(move.get(field) or 0.0)
        release_reservation(env, move)
        if quantity:
            adjust_quant(env, move["product_id"], move["location_id"], -quantity)
            adjust_quant(env, move["product_id"], move["location_dest_id"], quantity)
        env.sudo().write("stock.move", [move["id"]], {"state": "done" if quantity else "cancel"})
    env.sudo().write("stock.picking", [picking_id], {"state": "done", "date_done": env.now()})


def complete_moves(env: Env, picking_id: int) -> None:
    """Set every move's done quantity to its demand (what a POS picking does)."""
    field = done_field(env.version)
    for move in _moves(env, picking_id):
        move[field] = move.get("product_uom_qty", 0.0)


def picking_cancel(env: Env, model: str, ids: Sequence[int]) -> bool:
    env.check_access(model, "write")
    for picking_id in ids:
        for move in _moves(env, picking_id):
            if move["state"] != "done":
                release_reservation(env, move)
                move["state"] = "cancel"
        if env.get(model, picking_id)["state"] != "done":
            _set_state(env, picking_id, "cancel")
    return True


def _unlink_if_draft_or_cancel(env: Env, model: str, ids: list[int]) -> None:
    if any(env.get(model, i)["state"] not in ("draft", "cancel") for i in ids):
        raise UserError("You can only delete draft or cancelled moves.")


def _unlink_moves_first(env: Env, model: str, ids: list[int]) -> None:
    # stock.picking.unlink: move_ids._action_cancel() then move_ids.unlink()
    moves = [m for picking_id in ids for m in _moves(env, picking_id)]
    if any(m["state"] == "done" for m in moves):
        raise UserError(
            "You cannot cancel a stock move that has been set to 'Done'. "
            "Create a return in order to reverse the moves which took place."
        )
    for move in moves:
        release_reservation(env, move)
        move["state"] = "cancel"
    if moves:
        env.sudo().unlink("stock.move", [m["id"] for m in moves])


def _set_state(env: Env, picking_id: int, state: str) -> None:
    env.sudo().write("stock.picking", [picking_id], {"state": state})
    for move in _moves(env, picking_id):
        if move["state"] not in ("done", "cancel"):
            move["state"] = state
