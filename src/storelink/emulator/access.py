"""Access rights: which groups a user is in, and model access (``ir.model.access``) checks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from storelink.emulator.exceptions import AccessError

if TYPE_CHECKING:
    from storelink.emulator.orm import Env

_VERBS = {"read": "access", "write": "modify", "create": "create", "unlink": "delete"}
OPERATIONS = tuple(_VERBS)


def groups_field(version: int) -> str:
    """``res.users.groups_id`` became ``group_ids`` in Odoo 19."""
    return "group_ids" if version >= 19 else "groups_id"


def group_xmlids(env: Env) -> dict[int, str]:
    data = env.table("ir.model.data").values()
    return {r["res_id"]: f"{r['module']}.{r['name']}" for r in data if r["model"] == "res.groups"}


def user_groups(env: Env, uid: int) -> set[str]:
    """The xml ids of the groups ``uid`` belongs to."""
    user = env.table("res.users").get(uid)
    if user is None:
        return set()
    names = group_xmlids(env)
    return {names[g] for g in user.get(groups_field(env.version), []) if g in names}


def allowed(env: Env, model: str, operation: str) -> bool:
    spec = env.spec(model)
    wanted = spec.read_groups if operation == "read" else spec.write_groups
    if not wanted:
        return True
    return bool(user_groups(env, env.uid) & set(wanted))


def check_model_access(env: Env, model: str, operation: str) -> None:
    if operation not in _VERBS:
        raise ValueError(f"Invalid access mode {operation!r}")
    if allowed(env, model, operation):
        return
    spec = env.spec(model)
    wanted = spec.read_groups if operation == "read" else spec.write_groups
    names = group_xmlids(env)
    by_xmlid = {xmlid: gid for gid, xmlid in names.items()}
    groups = env.table("res.groups")
    labels = sorted(
        groups[by_xmlid[x]].get("full_name") or x for x in wanted if by_xmlid.get(x) in groups
    )
    listing = "\n".join(f"\t- {label}" for label in labels)
    raise AccessError(
        f"You are not allowed to {_VERBS[operation]} '{spec.description}' ({model}) records.\n\n"
        f"This operation is allowed for the following groups:\n{listing}\n\n"
        "Contact your administrator to request access if necessary."
    )
