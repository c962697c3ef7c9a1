"""``base.automation`` "Send Webhook Notification" (Odoo 17+): queue a POST per changed record.

Odoo posts ``{"_action", "_model", "_id", <chosen fields>}`` (``read(load=None)``,
so many2one values are bare ids) as JSON with a 1 s timeout and ignores the
outcome. The emulator queues the post on the database and the server sends it
after the call returns (see :mod:`.delivery`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from storelink.emulator.database import WebhookPost

if TYPE_CHECKING:
    from storelink.emulator.orm import Env

_TRIGGERS = {
    "create": ("on_create", "on_create_or_write"),
    "write": ("on_write", "on_create_or_write"),
}
_SKIP = frozenset({"base.automation", "ir.actions.server", "ir.model", "ir.model.fields"})


def record_changed(env: Env, model: str, ids: list[int], event: str, changed: set[str]) -> None:
    """Queue the webhooks of every active automation this change triggers."""
    if model in _SKIP or env.version < 17 or not env.has_model("base.automation"):
        return
    automations = [
        a
        for a in env.table("base.automation").values()
        if a.get("active", True) and a.get("trigger") in _TRIGGERS.get(event, ())
    ]
    if not automations:
        return
    models = env.table("ir.model")
    model_fields = env.table("ir.model.fields")
    sudo = env.sudo()
    for automation in automations:
        target = models.get(automation.get("model_id") or 0)
        if target is None or target["model"] != model:
            continue
        watched = {model_fields[f]["name"] for f in automation.get("trigger_field_ids", [])}
        if event == "write" and watched and not watched & changed:
            continue
        actions = [
            a
            for a in env.table("ir.actions.server").values()
            if a.get("base_automation_id") == automation["id"] and a.get("state") == "webhook"
        ]
        for action in actions:
            url = action.get("webhook_url")
            if not url:
                continue
            names = [model_fields[f]["name"] for f in action.get("webhook_field_ids", [])]
            for record_id in ids:
                payload: dict[str, object] = {
                    "_action": f"{action['name']}(#{action['id']})",
                    "_model": model,
                    "_id": record_id,
                }
                if names:
                    payload.update(sudo.read(model, [record_id], names, load=None)[0])
                env.db.outbox.append(WebhookPost(str(url), payload))
