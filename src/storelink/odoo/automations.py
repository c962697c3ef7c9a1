"""Odoo's native webhooks as change hints: ``base.automation`` + "Send Webhook Notification".

From Odoo 17, an automation rule (``addons/base_automation/models/base_automation.py``,
``trigger='on_create_or_write'``) can run a server action with ``state='webhook'``
(``odoo/addons/base/models/ir_actions.py``: ``webhook_url``,
``webhook_field_ids``) that POSTs ``_model``, ``_id`` and the chosen fields,
fire-and-forget with a 1 s timeout. storelink treats each POST as a hint to poll
now; polling remains the source of truth. Odoo 16 has no webhook actions.

Rules are keyed by external id ``storelink.automation__<model>``, so installing
twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storelink.odoo import bindings
from storelink.odoo.client import OdooClient
from storelink.odoo.feeds import default_feeds


@dataclass(frozen=True)
class Installed:
    model: str
    automation_id: int
    created: bool


def webhook_url(hub_url: str, token: str) -> str:
    return f"{hub_url.rstrip('/')}/v1/odoo/webhook/{token}"


async def install_webhooks(
    client: OdooClient, hub_url: str, token: str, models: Sequence[str] | None = None
) -> list[Installed]:
    """Create (or find) one webhook automation per polled model; what is there now."""
    if client.dialect.major < 17:
        return []
    wanted = list(models) if models is not None else sorted({f.model for f in default_feeds()})
    names = {bindings.xmlid_name("automation", m): m for m in wanted}
    found = await bindings.resolve(client, "base.automation", names)
    missing = [m for name, m in names.items() if name not in found]
    result = [Installed(names[n], i, False) for n, i in found.items()]
    if not missing:
        return result
    rows = await client.search_read("ir.model", [["model", "in", missing]], ["id", "model"])
    model_ids = {str(r["model"]): int(r["id"]) for r in rows}
    fields = await client.search_read(
        "ir.model.fields",
        [["model", "in", missing], ["name", "=", "write_date"]],
        ["id", "model"],
    )
    field_ids = {str(f["model"]): int(f["id"]) for f in fields}
    present = [m for m in missing if m in model_ids]
    automations = await client.create(
        "base.automation",
        [
            {
                "name": f"storelink: {m} changed",
                "model_id": model_ids[m],
                "trigger": "on_create_or_write",
            }
            for m in present
        ],
    )
    url = webhook_url(hub_url, token)
    await client.create(
        "ir.actions.server",
        [
            {
                "name": f"storelink: notify hub of {m}",
                "model_id": model_ids[m],
                "state": "webhook",
                "usage": "base_automation",
                "base_automation_id": automation,
                "webhook_url": url,
                "webhook_field_ids": [[6, 0, [field_ids[m]] if m in field_ids else []]],
            }
            for m, automation in zip(present, automations, strict=True)
        ],
    )
    await bindings.bind(
        client,
        "base.automation",
        {
            bindings.xmlid_name("automation", m): a
            for m, a in zip(present, automations, strict=True)
        },
    )
    result.extend(Installed(m, a, True) for m, a in zip(present, automations, strict=True))
    return result
