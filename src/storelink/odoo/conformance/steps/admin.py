"""Steps an administrator runs: ``storelink odoo check`` and the webhook automations."""

from __future__ import annotations

from typing import Any

from storelink.config.sections import OdooSettings
from storelink.odoo.automations import install_webhooks
from storelink.odoo.check import check
from storelink.odoo.conformance.context import Run
from storelink.odoo.conformance.data import HUB_URL, STORE_CODES, WEBHOOK_TOKEN
from storelink.odoo.conformance.steps import readback

#: a store code no database has, so the check reports one problem
UNKNOWN_STORE = "CNZ"


async def readiness(run: Run) -> None:
    options = run.options
    settings = OdooSettings(
        url=options.url,
        database=options.database,
        user=options.login,
        password=options.password,
        stores=[*STORE_CODES, UNKNOWN_STORE],
    )

    async def report() -> dict[str, Any]:
        found = await check(settings, transport=run.transport)
        return {"ready": found.ready, "lines": found.lines, "problems": found.problems}

    await run.tape.probe("odoo check", report)


async def webhooks(run: Run) -> None:
    tape = run.tape
    for action in ("install_webhooks", "install_webhooks again"):
        await tape.run(
            action,
            lambda: install_webhooks(run.client, HUB_URL, WEBHOOK_TOKEN),
            lambda installed: sorted([i.model, i.created] for i in installed),
        )

    async def automations() -> dict[str, Any]:
        rules = await readback.rows(
            run, "base.automation", [["name", "like", "storelink:"]], ["name", "trigger", "active"]
        )
        actions = await readback.rows(
            run,
            "ir.actions.server",
            [["base_automation_id.name", "like", "storelink:"]],
            ["name", "state", "webhook_url", "usage", "webhook_field_ids"],
        )
        return {
            "rules": sorted([r["name"], r["trigger"], r["active"]] for r in rules),
            "actions": sorted(
                [a["name"], a["state"], a["webhook_url"], a["usage"], len(a["webhook_field_ids"])]
                for a in actions
            ),
        }

    await tape.probe("automations", automations)
