"""``storelink odoo check``: is this Odoo ready for storelink, and if not, what to fix.

Connects with the configured URL, database and credentials, then reports the
version and protocol, the modules storelink needs, the integration user's
access rights on every model it uses (``check_access_rights`` / ``has_access``,
see the dialect), the warehouses matched to the configured stores, and (up to
17) whether POS orders move stock at once or only when their session closes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from storelink.config.sections import OdooSettings
from storelink.errors import (
    ConfigError,
    OdooAuthenticationError,
    OdooError,
    OdooProtocolError,
    OdooTransportError,
)
from storelink.odoo.client import OdooClient, connect
from storelink.odoo.connector import connect_options
from storelink.odoo.retry import RetryPolicy

#: modules storelink needs and why (the fix names them)
MODULES: dict[str, str] = {
    "product": "products and pricelists",
    "stock": "warehouses, stock positions and counts",
    "sale_management": "channel orders",
    "point_of_sale": "store sales as POS orders",
    "account": "taxes and invoices",
}

#: models the connector uses, the operations it needs, and the group that grants them
MODELS: dict[str, tuple[tuple[str, ...], str]] = {
    "product.product": (("read", "write", "create"), "Inventory / Administrator"),
    "product.pricelist": (("read", "write", "create"), "Sales / Administrator"),
    "product.pricelist.item": (("read", "write", "create"), "Sales / Administrator"),
    "stock.warehouse": (("read", "write", "create"), "Inventory / Administrator"),
    "stock.quant": (("read", "write", "create"), "Inventory / Administrator"),
    "stock.picking": (("read", "write"), "Inventory / User"),
    "stock.move": (("read",), "Inventory / User"),
    "sale.order": (("read", "write", "create"), "Sales / User"),
    "res.partner": (("read", "write", "create"), "Contact Creation"),
    "account.move": (("read",), "Invoicing / Billing"),
    "pos.order": (("read", "create"), "Point of Sale / User"),
    "pos.session": (("read", "write", "create"), "Point of Sale / User"),
    "pos.config": (("read", "create"), "Point of Sale / Administrator"),
    "ir.model.data": (("read", "create"), "Administration / Settings"),
}


@dataclass
class Readiness:
    """What ``check`` found: ``lines`` to print and ``problems`` (one fix each)."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.problems


async def check(settings: OdooSettings, **overrides: Any) -> Readiness:
    """Run every readiness check against the configured Odoo."""
    report = Readiness()
    url = str(settings.url)
    try:
        options = connect_options(settings, retry=RetryPolicy(attempts=1), **overrides)
        client = await connect(options)
    except ConfigError as exc:
        report.problems.append(f"configuration: {exc.message}")
        return report
    except OdooAuthenticationError as exc:
        report.problems.append(
            f"login: {exc.message} - check odoo.database, odoo.user and odoo.password "
            "(or odoo.api_key)"
        )
        return report
    except OdooTransportError as exc:
        report.problems.append(
            f"connection: cannot reach Odoo at {url} ({exc.message}) - check odoo.url and "
            "that Odoo is running"
        )
        return report
    except OdooError as exc:
        report.problems.append(f"connection: {exc.message}")
        return report
    try:
        report.lines.append(f"odoo: version {client.dialect.series} at {url}")
        report.lines.append(f"protocol: {client.protocol}")
        await _modules(client, report)
        await _access(client, report, settings.user or "admin")
        await _stores(client, report, settings.stores)
        await _pos_stock_timing(client, report)
    except OdooError as exc:
        report.problems.append(f"odoo: {exc.message}")
    finally:
        await client.aclose()
    return report


async def _modules(client: OdooClient, report: Readiness) -> None:
    rows = await client.search_read(
        "ir.module.module", [["name", "in", sorted(MODULES)]], ["name", "state"]
    )
    installed = {str(r["name"]) for r in rows if r.get("state") == "installed"}
    report.lines.append(f"modules: {', '.join(sorted(installed)) or 'none'} installed")
    for name, why in MODULES.items():
        if name not in installed:
            report.problems.append(
                f"module {name} is not installed (needed for {why}) - install it in Odoo Apps"
            )


async def _access(client: OdooClient, report: Readiness, login: str) -> None:
    denied: list[str] = []
    for model, (operations, group) in MODELS.items():
        for operation in operations:
            method, params = client.dialect.access_call(operation)
            try:
                allowed = await client.call(model, method, **params)
            except OdooError as exc:
                if isinstance(exc, OdooProtocolError | OdooTransportError):
                    raise
                # a model of a module that is not installed: reported with the modules
                allowed = None
            if allowed is False:
                denied.append(model)
                report.problems.append(
                    f"access: user {login} may not {operation} {model} - add the user to "
                    f"the group {group}"
                )
    if not denied:
        report.lines.append(f"access: {login} has every right storelink needs")


async def _stores(client: OdooClient, report: Readiness, stores: list[str]) -> None:
    rows = await client.search_read("stock.warehouse", [], ["code", "name"], order="code")
    codes = {str(r["code"]): str(r["name"]) for r in rows}
    matched = [f"{code} ({codes[code]})" for code in stores if code in codes]
    report.lines.append(
        f"warehouses: {len(rows)} in Odoo; stores matched: {', '.join(matched) or 'none'}"
    )
    for code in stores:
        if code not in codes:
            report.problems.append(
                f"store {code} has no stock.warehouse with code {code} - create it in Odoo "
                "or run the store upsert"
            )


async def _pos_stock_timing(client: OdooClient, report: Readiness) -> None:
    """Up to 17 a company can move POS stock only at session close (17's default)."""
    if client.dialect.major > 17:
        return  # 18 moves it as each order is paid
    try:
        rows = await client.search_read(
            "res.company", [], ["name", "point_of_sale_update_stock_quantities"]
        )
    except OdooError as exc:
        if isinstance(exc, OdooProtocolError | OdooTransportError):
            raise
        return  # no point_of_sale: reported with the modules
    late = [
        str(r["name"]) for r in rows if r.get("point_of_sale_update_stock_quantities") == "closing"
    ]
    if late:
        report.lines.append(
            f"warning: {', '.join(late)} moves POS stock only when a session closes, so "
            "Odoo's on-hand - and every store's - leaves out the open sessions' sales; "
            "for stock that follows each sale set Point of Sale > Settings > Inventory > "
            "Update quantities in stock to 'In real time'"
        )
    else:
        report.lines.append("pos stock: moved as each order is paid")
