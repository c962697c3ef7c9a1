"""``base`` models: companies, partners, users and groups, modules, external ids, automations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storelink.emulator.access import groups_field, user_groups
from storelink.emulator.exceptions import ProgrammingError
from storelink.emulator.orm import Env
from storelink.emulator.registry import Registry
from storelink.emulator.schema import (
    Field,
    ModelSpec,
    Unique,
    char,
    flag,
    m2m,
    m2o,
    num,
    o2m,
    select,
)

ADMIN_ONLY = ("base.group_system",)
ACCESS_MANAGER = ("base.group_erp_manager", "base.group_system")

#: group -> the groups it implies (``implied_ids``), transitively applied by the emulator
IMPLIED: dict[str, tuple[str, ...]] = {
    "base.group_system": ("base.group_erp_manager", "base.group_user"),
    "base.group_erp_manager": ("base.group_user",),
    "stock.group_stock_manager": ("stock.group_stock_user",),
    "stock.group_stock_user": ("base.group_user",),
    "sales_team.group_sale_manager": ("sales_team.group_sale_salesman_all_leads",),
    "sales_team.group_sale_salesman_all_leads": ("sales_team.group_sale_salesman",),
    "sales_team.group_sale_salesman": ("base.group_user",),
    "point_of_sale.group_pos_manager": ("point_of_sale.group_pos_user",),
    "point_of_sale.group_pos_user": ("base.group_user",),
    "account.group_account_manager": ("account.group_account_invoice",),
    "account.group_account_invoice": ("base.group_user",),
}

#: xml id -> full name shown in access error messages
GROUPS: dict[str, str] = {
    "base.group_user": "User types / Internal User",
    "base.group_system": "Administration / Settings",
    "base.group_erp_manager": "Administration / Access Rights",
    "base.group_partner_manager": "Extra Rights / Contact Creation",
    "stock.group_stock_user": "Inventory / User",
    "stock.group_stock_manager": "Inventory / Administrator",
    "sales_team.group_sale_salesman": "Sales / User: Own Documents Only",
    "sales_team.group_sale_salesman_all_leads": "Sales / User: All Documents",
    "sales_team.group_sale_manager": "Sales / Administrator",
    "point_of_sale.group_pos_user": "Point of Sale / User",
    "point_of_sale.group_pos_manager": "Point of Sale / Administrator",
    "account.group_account_invoice": "Accounting / Billing",
    "account.group_account_manager": "Accounting / Billing Administrator",
}


def with_implied(groups: Sequence[str]) -> set[str]:
    result: set[str] = set()
    pending = list(groups)
    while pending:
        group = pending.pop()
        if group not in result:
            result.add(group)
            pending.extend(IMPLIED.get(group, ()))
    return result


def _company(env: Env) -> int:
    user = env.table("res.users").get(env.uid)
    return int(user["company_id"]) if user and user.get("company_id") else 1


def default_company(env: Env) -> int:
    """Default for ``company_id`` fields: the current user's company."""
    return _company(env)


def _automation_fields(version: int) -> dict[str, Field]:
    fields: dict[str, Field] = {
        "name": char("Automation Rule Name", required=True),
        "model_id": m2o("ir.model", "Model", required=True),
        "active": flag("Active", default=True),
        "trigger": select(
            (
                ("on_create", "On creation"),
                ("on_write", "On update"),
                ("on_create_or_write", "On creation & update"),
                ("on_unlink", "On deletion"),
                ("on_change", "Based on form modification"),
                ("on_time", "Based on timed condition"),
            ),
            "Trigger",
            required=True,
        ),
        "filter_domain": char("Apply on"),
        "trigger_field_ids": m2m("ir.model.fields", "Trigger Fields"),
    }
    if version >= 17:
        fields["action_server_ids"] = o2m("ir.actions.server", "base_automation_id", "Actions")
    else:
        # 16: an automation *is* a server action (_inherits); no webhook state exists
        fields["action_server_id"] = m2o("ir.actions.server", "Server Actions")
    return fields


def _server_action_states(version: int) -> tuple[tuple[str, str], ...]:
    states: tuple[tuple[str, str], ...] = (
        ("object_write", "Update Record"),
        ("object_create", "Create Record"),
        ("code", "Execute Code"),
        ("multi", "Execute Existing Actions"),
    )
    if version >= 17:
        states += (("webhook", "Send Webhook Notification"),)
    return states


def install(registry: Registry) -> None:
    v = registry.version
    registry.model(
        ModelSpec(
            "res.currency",
            "Currency",
            "base",
            {
                "name": char("Currency", required=True),
                "symbol": char("Symbol"),
                "rounding": num("Rounding Factor", default=0.01),
                "active": flag("Active", default=True),
            },
        )
    )
    registry.model(
        ModelSpec(
            "res.country",
            "Country",
            "base",
            {"name": char("Country Name"), "code": char("Country Code")},
        )
    )
    registry.model(
        ModelSpec(
            "res.company",
            "Companies",
            "base",
            {
                "name": char("Company Name", required=True),
                "currency_id": m2o("res.currency", "Currency"),
                "partner_id": m2o("res.partner", "Partner"),
                "point_of_sale_update_stock_quantities": select(
                    (("closing", "At the session closing"), ("real", "In real time")),
                    "Update quantities in stock",
                    default="real",
                ),
            },
            read_groups=(),
            write_groups=ACCESS_MANAGER,
        )
    )
    partner_fields: dict[str, Field] = {
        "name": char("Name"),
        "ref": char("Reference"),
        "email": char("Email"),
        "phone": char("Phone"),
        "street": char("Street"),
        "street2": char("Street2"),
        "city": char("City"),
        "zip": char("Zip"),
        "country_id": m2o("res.country", "Country"),
        "vat": char("Tax ID"),
        "lang": char("Language"),
        "company_id": m2o("res.company", "Company"),
        "parent_id": m2o("res.partner", "Related Company"),
        "is_company": flag("Is a Company"),
        "type": select(
            (
                ("contact", "Contact"),
                ("invoice", "Invoice Address"),
                ("delivery", "Delivery Address"),
                ("other", "Other Address"),
            ),
            "Address Type",
            default="contact",
        ),
        "active": flag("Active", default=True),
        "customer_rank": Field("integer", "Customer Rank"),
        "supplier_rank": Field("integer", "Supplier Rank"),
    }
    if v <= 18:
        # merged into phone by the upgrade to 19
        partner_fields["mobile"] = char("Mobile")
    registry.model(
        ModelSpec(
            "res.partner",
            "Contact",
            "base",
            partner_fields,
            order="name, id DESC",
            parent_name="parent_id",
        )
    )
    registry.model(
        ModelSpec(
            "res.groups",
            "Access Groups",
            "base",
            {"name": char("Name", required=True), "full_name": char("Group Name")},
            write_groups=ACCESS_MANAGER,
        )
    )
    registry.model(
        ModelSpec(
            "res.users",
            "User",
            "base",
            {
                "login": char("Login", required=True),
                "name": char("Name"),
                "partner_id": m2o("res.partner", "Related Partner"),
                "company_id": m2o("res.company", "Company", default=1),
                "company_ids": m2m("res.company", "Companies"),
                groups_field(v): m2m("res.groups", "Groups"),
                "active": flag("Active", default=True),
                "share": flag("Share User"),
            },
            order="name, login",
            unique=(Unique(("login",), "You can not have two users with the same login!"),),
            write_groups=ACCESS_MANAGER,
        )
    )
    registry.model(
        ModelSpec(
            "ir.model.data",
            "Model Data",
            "base",
            {
                "name": char("External Identifier", required=True),
                "module": char("Module", default=""),
                "model": char("Model Name", required=True),
                "res_id": Field("integer", "Record ID"),
                "noupdate": flag("Non Updatable"),
                "complete_name": Field(
                    "char", "Complete ID", compute=lambda env, r: f"{r['module']}.{r['name']}"
                ),
            },
            order="module, model, name",
            unique=(
                Unique(
                    ("module", "name"),
                    "You cannot have multiple records with the same external ID in the same module!",  # noqa: E501
                ),
            ),
            write_groups=ADMIN_ONLY,
        )
    )
    registry.model(
        ModelSpec(
            "ir.module.module",
            "Module",
            "base",
            {
                "name": char("Technical Name", readonly=True),
                "shortdesc": char("Module Name"),
                "state": select(
                    (
                        ("uninstallable", "Uninstallable"),
                        ("uninstalled", "Not Installed"),
                        ("installed", "Installed"),
                        ("to upgrade", "To be upgraded"),
                        ("to remove", "To be removed"),
                        ("to install", "To be installed"),
                    ),
                    "Status",
                    default="uninstalled",
                ),
                "latest_version": char("Installed Version"),
                "application": flag("Application"),
            },
            order="name",
            write_groups=ADMIN_ONLY,
        )
    )
    registry.model(
        ModelSpec(
            "ir.model",
            "Models",
            "base",
            {"model": char("Model", required=True), "name": char("Model Description")},
            order="model",
            rec_name="name",
            write_groups=ADMIN_ONLY,
        )
    )
    registry.model(
        ModelSpec(
            "ir.model.fields",
            "Fields",
            "base",
            {
                "name": char("Field Name", required=True),
                "model": char("Model Name"),
                "model_id": m2o("ir.model", "Model"),
                "ttype": char("Field Type"),
                "relation": char("Related Model"),
                "field_description": char("Field Label"),
            },
            order="name",
            write_groups=ADMIN_ONLY,
        )
    )
    server_fields: dict[str, Field] = {
        "name": char("Action Name", required=True),
        "model_id": m2o("ir.model", "Model", required=True),
        "state": select(_server_action_states(v), "Type", default="object_write", required=True),
        "code": Field("text", "Python Code"),
        "usage": select(
            (
                ("ir_actions_server", "Server Action"),
                ("ir_cron", "Scheduled Action"),
                ("base_automation", "Automation Rule"),
            ),
            "Usage",
            default="ir_actions_server",
        ),
    }
    if v >= 17:
        server_fields["webhook_url"] = char("Webhook URL")
        server_fields["webhook_field_ids"] = m2m("ir.model.fields", "Webhook Fields")
        server_fields["base_automation_id"] = m2o(
            "base.automation", "Automation Rule", ondelete="cascade"
        )
    registry.model(
        ModelSpec(
            "ir.actions.server",
            "Server Actions",
            "base",
            server_fields,
            read_groups=ADMIN_ONLY,
            write_groups=ADMIN_ONLY,
        )
    )
    registry.model(
        ModelSpec(
            "base.automation",
            "Automation Rule",
            "base_automation",
            _automation_fields(v),
            read_groups=ADMIN_ONLY,
            write_groups=ADMIN_ONLY,
        )
    )
    if v >= 17:
        registry.on_create("ir.actions.server", _name_automation_actions)
        registry.on_write("ir.actions.server", _name_automation_actions)
    if v >= 18:
        registry.method("res.users", "has_group", has_group_record, api_model=False)
    else:
        registry.method("res.users", "has_group", has_group_model, api_model=True)


#: what ``_compute_name`` names an automation's action by its type (17+); the types it
#: names from fields the emulator does not have (update, create) keep the name given
_AUTOMATION_ACTION_NAMES = {
    "webhook": "Send Webhook Notification",
    "code": "Execute Code",
    "multi": "Execute Existing Actions",
}
#: the fields ``_compute_name`` depends on that the emulator has
_NAME_DEPENDS = frozenset({"state", "webhook_url", "base_automation_id"})


def _name_automation_actions(env: Env, model: str, ids: list[int], vals: dict[str, Any]) -> None:
    """``base_automation``'s ``ir.actions.server._compute_name`` (stored, recomputed).

    An action linked to an automation rule is named after its type, whatever
    name it was created with: a webhook one is 'Send Webhook Notification'
    (as real 17 and 18 answer); other actions keep their name.
    """
    if not _NAME_DEPENDS & set(vals):
        return
    for action in env.browse(model, ids):
        name = _AUTOMATION_ACTION_NAMES.get(str(action.get("state")))
        if action.get("base_automation_id") and name and action.get("name") != name:
            action["name"] = name


def has_group_model(env: Env, model: str, group_ext_id: str) -> bool:
    """16/17: ``@api.model`` — answers for the calling user."""
    _check_xmlid(group_ext_id)
    return group_ext_id in user_groups(env, env.uid)


def has_group_record(env: Env, model: str, ids: Sequence[int], group_ext_id: str) -> bool:
    """18+: a record method (``self.ensure_one()``) on the users asked about."""
    _check_xmlid(group_ext_id)
    if len(ids) != 1:
        raise ProgrammingError(f"Expected singleton: res.users({', '.join(map(str, ids))})")
    env.get("res.users", ids[0])
    return group_ext_id in user_groups(env, ids[0])


def _check_xmlid(group_ext_id: Any) -> None:
    if not isinstance(group_ext_id, str) or "." not in group_ext_id:
        raise ProgrammingError("External ID must be fully qualified", "AssertionError")
