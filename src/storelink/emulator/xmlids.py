"""External ids (``ir.model.data``): ``module.name`` -> (model, res_id)."""

from __future__ import annotations

from storelink.emulator.orm import Env


def split(xmlid: str) -> tuple[str, str]:
    """``"storelink.sku_1"`` -> ("storelink", "sku_1"); a bare name lands in ``__import__``."""
    module, dot, name = xmlid.partition(".")
    return (module, name) if dot else ("__import__", module)


def lookup(env: Env, xmlid: str) -> tuple[str, int] | None:
    module, name = split(xmlid)
    for record in env.table("ir.model.data").values():
        if record["module"] == module and record["name"] == name:
            return str(record["model"]), int(record["res_id"])
    return None


def bind(env: Env, xmlid: str, model: str, res_id: int, *, noupdate: bool = False) -> int:
    """Create the external id (as Odoo does when importing or installing data)."""
    module, name = split(xmlid)
    return env.sudo().create(
        "ir.model.data",
        [{"module": module, "name": name, "model": model, "res_id": res_id, "noupdate": noupdate}],
    )[0]
