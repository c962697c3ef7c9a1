"""A fresh database, as ``odoo -i stock,sale_management,point_of_sale,account`` leaves it."""

from __future__ import annotations

from typing import Any

from storelink.emulator import xmlids
from storelink.emulator.access import groups_field
from storelink.emulator.database import Database
from storelink.emulator.models.base import GROUPS, with_implied
from storelink.emulator.orm import MAGIC, Env

ADMIN_UID = 2
ADMIN_LOGIN = "admin"
ADMIN_PASSWORD = "admin"
API_KEY = "storelink-test-key"
INSTALLED = (
    "base",
    "web",
    "mail",
    "uom",
    "product",
    "account",
    "stock",
    "sales_team",
    "sale",
    "sale_management",
    "sale_stock",
    "point_of_sale",
    "base_automation",
)
NOT_INSTALLED = ("purchase", "mrp", "website_sale")


def _create(env: Env, model: str, vals: dict[str, Any], xmlid: str | None = None) -> int:
    record_id = env.create(model, [vals])[0]
    if xmlid:
        xmlids.bind(env, xmlid, model, record_id, noupdate=True)
    return record_id


def seed(db: Database) -> None:
    """Fill ``db`` with what the connector expects to find in a new Odoo database."""
    store = db.store
    # ir.module.module first: models only exist once their module is installed
    for name in INSTALLED + NOT_INSTALLED:
        record_id = store.new_id("ir.module.module")
        store.table("ir.module.module")[record_id] = {
            "id": record_id,
            "name": name,
            "shortdesc": name.replace("_", " ").title(),
            "state": "installed" if name in INSTALLED else "uninstalled",
            "latest_version": f"{db.version}.0.1.0" if name in INSTALLED else False,
            "application": name in ("sale_management", "stock", "point_of_sale", "account"),
            "create_date": store.now(),
            "write_date": store.now(),
            "create_uid": 1,
            "write_uid": 1,
        }
    env = Env(db, 1, su=True)
    _models(env)
    group_ids = {
        xmlid: _create(
            env, "res.groups", {"name": label.split(" / ")[-1], "full_name": label}, xmlid
        )
        for xmlid, label in GROUPS.items()
    }
    currency = _create(env, "res.currency", {"name": "USD", "symbol": "$"}, "base.USD")
    _create(env, "res.country", {"name": "United States", "code": "US"}, "base.us")
    company_partner = _create(
        env, "res.partner", {"name": "My Company", "is_company": True}, "base.main_partner"
    )
    bot_partner = _create(env, "res.partner", {"name": "OdooBot"}, "base.partner_root")
    admin_partner = _create(
        env,
        "res.partner",
        {"name": "Administrator", "email": "admin@example.com"},
        "base.partner_admin",
    )
    company = _create(
        env,
        "res.company",
        {"name": "My Company", "currency_id": currency, "partner_id": company_partner},
        "base.main_company",
    )
    env.write("res.partner", [company_partner, bot_partner, admin_partner], {"company_id": company})
    groups = groups_field(db.version)
    _create(
        env,
        "res.users",
        {
            "login": "__system__",
            "name": "OdooBot",
            "partner_id": bot_partner,
            "active": False,
            groups: [(6, 0, list(group_ids.values()))],
        },
        "base.user_root",
    )
    admin = _create(
        env,
        "res.users",
        {
            "login": ADMIN_LOGIN,
            "name": "Administrator",
            "partner_id": admin_partner,
            "company_id": company,
            "company_ids": [(6, 0, [company])],
            groups: [(6, 0, list(group_ids.values()))],
        },
        "base.user_admin",
    )
    assert admin == ADMIN_UID
    db.passwords[admin] = ADMIN_PASSWORD
    db.api_keys[API_KEY] = admin
    _catalog(env, db.version)
    _stock(env)
    _pos(env)


def _models(env: Env) -> None:
    for name, spec in sorted(env.db.registry.specs.items()):
        model_id = env.db.store.new_id("ir.model")
        now = env.now()
        env.table("ir.model")[model_id] = {
            "id": model_id,
            "model": name,
            "name": spec.description,
            "create_date": now,
            "write_date": now,
            "create_uid": 1,
            "write_uid": 1,
        }
        # the fields every model has (id, display_name, create/write date and user) too
        magic = [(m, env.field(name, m)) for m in MAGIC if m not in spec.fields]
        for field_name, field in [*spec.fields.items(), *magic]:
            field_id = env.db.store.new_id("ir.model.fields")
            env.table("ir.model.fields")[field_id] = {
                "id": field_id,
                "name": field_name,
                "model": name,
                "model_id": model_id,
                "ttype": field.type,
                "relation": field.relation or False,
                "field_description": field.string or field_name,
                "create_date": now,
                "write_date": now,
                "create_uid": 1,
                "write_uid": 1,
            }


def _catalog(env: Env, version: int) -> None:
    uom: dict[str, Any] = {"name": "Units"}
    if version <= 18:
        uom["category_id"] = _create(
            env, "uom.category", {"name": "Unit"}, "uom.product_uom_categ_unit"
        )
    _create(env, "uom.uom", uom, "uom.product_uom_unit")
    dozen = {**uom, "name": "Dozens"}
    dozen.update(
        {"factor": 1 / 12, "uom_type": "bigger"} if version <= 18 else {"relative_factor": 12.0}
    )
    _create(env, "uom.uom", dozen, "uom.product_uom_dozen")
    for amount in (15.0, 5.0, 0.0):
        _create(
            env,
            "account.tax",
            {
                "name": f"{amount:g}%",
                "amount": amount,
                "type_tax_use": "sale",
                "description": f"{amount:g}%",
            },
        )
    _create(env, "product.category", {"name": "All"}, "product.product_category_all")
    _create(env, "product.pricelist", {"name": "Public Pricelist"}, "product.list0")


def _stock(env: Env) -> None:
    physical = _create(
        env,
        "stock.location",
        {"name": "Physical Locations", "usage": "view"},
        "stock.stock_location_locations",
    )
    partners = _create(
        env,
        "stock.location",
        {"name": "Partners", "usage": "view"},
        "stock.stock_location_locations_partner",
    )
    virtual = _create(
        env,
        "stock.location",
        {"name": "Virtual Locations", "usage": "view"},
        "stock.stock_location_locations_virtual",
    )
    del physical
    _create(
        env,
        "stock.location",
        {"name": "Customers", "usage": "customer", "location_id": partners},
        "stock.stock_location_customers",
    )
    _create(
        env,
        "stock.location",
        {"name": "Vendors", "usage": "supplier", "location_id": partners},
        "stock.stock_location_suppliers",
    )
    _create(
        env,
        "stock.location",
        {"name": "Inventory adjustment", "usage": "inventory", "location_id": virtual},
        "stock.stock_location_inventory",
    )
    warehouse = _create(
        env, "stock.warehouse", {"name": "My Company", "code": "WH"}, "stock.warehouse0"
    )
    stock_location = env.get("stock.warehouse", warehouse)["lot_stock_id"]
    xmlids.bind(env, "stock.stock_location_stock", "stock.location", stock_location)


def _pos(env: Env) -> None:
    bank_journal = _create(env, "account.journal", {"name": "Bank", "code": "BNK1", "type": "bank"})
    cash_journal = _create(env, "account.journal", {"name": "Cash", "code": "CSH1", "type": "cash"})
    cash = _create(env, "pos.payment.method", {"name": "Cash", "journal_id": cash_journal})
    card = _create(env, "pos.payment.method", {"name": "Card", "journal_id": bank_journal})
    warehouse = env.get("stock.warehouse", 1)
    _create(
        env,
        "pos.config",
        {
            "name": "Shop",
            "picking_type_id": warehouse["pos_type_id"],
            "warehouse_id": warehouse["id"],
            "payment_method_ids": [(6, 0, [cash, card])],
        },
        "point_of_sale.pos_config_main",
    )


def make_user(db: Database, login: str, password: str, groups: list[str]) -> int:
    """A new internal user in ``groups`` (xml ids, implied groups added)."""
    env = Env(db, 1, su=True)
    partner = env.create("res.partner", [{"name": login}])[0]
    uid = env.create(
        "res.users",
        [
            {
                "login": login,
                "name": login,
                "partner_id": partner,
                groups_field(db.version): [(6, 0, group_ids(env, groups))],
            }
        ],
    )[0]
    db.passwords[uid] = password
    return uid


def group_ids(env: Env, groups: list[str]) -> list[int]:
    ids = []
    for xmlid in sorted(with_implied(groups)):
        found = xmlids.lookup(env, xmlid)
        if found is None:
            raise ValueError(f"unknown group {xmlid!r}")
        ids.append(found[1])
    return ids
