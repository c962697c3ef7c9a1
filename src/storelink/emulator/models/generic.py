"""The ORM methods every model answers over RPC, with each version's signature."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from storelink.emulator import access, grouping, importer
from storelink.emulator.exceptions import ProgrammingError
from storelink.emulator.orm import Env
from storelink.emulator.registry import ANY_MODEL, MethodFunc, Registry


def search(
    env: Env,
    model: str,
    domain: Sequence[Any] = (),
    offset: int = 0,
    limit: int | None = None,
    order: str | None = None,
) -> list[int]:
    return env.search(model, domain, offset, limit, order)


def search_16(
    env: Env,
    model: str,
    domain: Sequence[Any] = (),
    offset: int = 0,
    limit: int | None = None,
    order: str | None = None,
    count: bool = False,
) -> list[int] | int:
    ids = env.search(model, domain, offset, limit, order)
    return len(ids) if count else ids


def search_count(env: Env, model: str, domain: Sequence[Any] = (), limit: int | None = None) -> int:
    return len(env.search(model, domain, 0, limit))


def search_read(
    env: Env,
    model: str,
    domain: Sequence[Any] | None = None,
    fields: Sequence[str] | None = None,
    offset: int = 0,
    limit: int | None = None,
    order: str | None = None,
    **read_kwargs: Any,
) -> list[dict[str, Any]]:
    ids = env.search(model, domain or [], offset, limit, order)
    return env.read(model, ids, fields, **read_kwargs)


def read(
    env: Env,
    model: str,
    ids: Sequence[int],
    fields: Sequence[str] | None = None,
    load: str | None = "_classic_read",
) -> list[dict[str, Any]]:
    return env.read(model, ids, fields, load)


def create(
    env: Env, model: str, vals_list: Mapping[str, Any] | Sequence[Mapping[str, Any]]
) -> int | list[int]:
    # like api.call_kw: a single dict gives back an id, a list gives back ids
    if isinstance(vals_list, Mapping):
        return env.create(model, [dict(vals_list)])[0]
    return env.create(model, [dict(v) for v in vals_list])


def write(env: Env, model: str, ids: Sequence[int], vals: Mapping[str, Any]) -> bool:
    return env.write(model, ids, dict(vals))


def unlink(env: Env, model: str, ids: Sequence[int]) -> bool:
    return env.unlink(model, ids)


def exists(env: Env, model: str, ids: Sequence[int]) -> list[int]:
    table = env.table(model)
    return [i for i in ids if i in table]


def name_search(
    env: Env,
    model: str,
    name: str = "",
    args: Sequence[Any] | None = None,
    operator: str = "ilike",
    limit: int = 100,
) -> list[list[Any]]:
    return _name_search(env, model, name, args, operator, limit)


def name_search_18(
    env: Env,
    model: str,
    name: str = "",
    domain: Sequence[Any] | None = None,
    operator: str = "ilike",
    limit: int = 100,
) -> list[list[Any]]:
    return _name_search(env, model, name, domain, operator, limit)


def _name_search(
    env: Env,
    model: str,
    name: str,
    domain: Sequence[Any] | None,
    operator: str,
    limit: int,
) -> list[list[Any]]:
    spec = env.spec(model)
    base = list(domain or [])
    if name:
        leaves: list[Any] = [[spec.rec_name, operator, name]]
        if model in ("product.product", "product.template"):
            leaves = [
                "|",
                "|",
                [spec.rec_name, operator, name],
                ["default_code", operator, name],
                ["barcode", operator, name],
            ]
        base = [*leaves, *base] if base else leaves
    ids = env.search(model, base, limit=limit)
    return [[i, env.display_name(model, env.get(model, i))] for i in ids]


def name_get(env: Env, model: str, ids: Sequence[int]) -> list[list[Any]]:
    env.check_access(model, "read")
    return [[i, env.display_name(model, env.get(model, i))] for i in ids]


def fields_get(
    env: Env,
    model: str,
    allfields: Sequence[str] | None = None,
    attributes: Sequence[str] | None = None,
) -> dict[str, dict[str, Any]]:
    env.check_access(model, "read")
    result: dict[str, dict[str, Any]] = {}
    for name in allfields or env.field_names(model):
        field = env.field(model, name)
        description: dict[str, Any] = {
            "type": field.type,
            "string": field.string or name.replace("_", " ").title(),
            "required": field.required,
            "readonly": field.readonly or field.compute is not None,
            "store": field.stored or field.type == "one2many",
            "searchable": True,
            "sortable": field.stored,
            "name": name,
        }
        if field.relation:
            description["relation"] = field.relation
        if field.type == "selection":
            description["selection"] = [list(option) for option in field.selection]
        if field.inverse:
            description["relation_field"] = field.inverse
        if attributes:
            description = {k: v for k, v in description.items() if k in attributes}
        result[name] = description
    return result


def default_get(env: Env, model: str, fields_list: Sequence[str]) -> dict[str, Any]:
    spec = env.spec(model)
    values: dict[str, Any] = {}
    for name in fields_list:
        field = spec.fields.get(name)
        if field is not None and field.default is not None:
            values[name] = field.default(env) if callable(field.default) else field.default
    return values


def read_group(
    env: Env,
    model: str,
    domain: Sequence[Any],
    fields: Sequence[str],
    groupby: str | Sequence[str],
    offset: int = 0,
    limit: int | None = None,
    orderby: str | bool = False,
    lazy: bool = True,
) -> list[dict[str, Any]]:
    return grouping.read_group(env, model, domain, fields, groupby, offset, limit, orderby, lazy)


def formatted_read_group(
    env: Env,
    model: str,
    domain: Sequence[Any] | None = None,
    groupby: Sequence[str] = (),
    aggregates: Sequence[str] = (),
    having: Sequence[Any] = (),
    offset: int = 0,
    limit: int | None = None,
    order: str | None = None,
) -> list[dict[str, Any]]:
    return grouping.formatted_read_group(
        env, model, domain, groupby, aggregates, having, offset, limit, order
    )


def load(
    env: Env, model: str, fields: Sequence[str], data: Sequence[Sequence[Any]]
) -> dict[str, Any]:
    return importer.load(env, model, fields, data)


def check_access_rights(env: Env, model: str, operation: str, raise_exception: bool = True) -> bool:
    if operation not in access.OPERATIONS:
        raise ProgrammingError(f"Invalid access mode {operation!r}")
    if raise_exception:
        access.check_model_access(env, model, operation)
        return True
    return access.allowed(env, model, operation)


def has_access(env: Env, model: str, ids: Sequence[int], operation: str) -> bool:
    if operation not in access.OPERATIONS:
        raise ProgrammingError(f"Invalid access mode {operation!r}")
    return access.allowed(env, model, operation)


def check_access(env: Env, model: str, ids: Sequence[int], operation: str) -> None:
    access.check_model_access(env, model, operation)
    for record_id in ids:
        env.get(model, record_id)


def install(registry: Registry) -> None:
    version = registry.version
    model_methods: dict[str, MethodFunc] = {
        "search": search_16 if version == 16 else search,
        "search_count": search_count,
        "search_read": search_read,
        "create": create,
        "name_search": name_search_18 if version >= 18 else name_search,
        "fields_get": fields_get,
        "default_get": default_get,
        "read_group": read_group,
        "load": load,
        # deprecated since 18 in favour of has_access / check_access, still served
        "check_access_rights": check_access_rights,
    }
    if version >= 19:
        model_methods["formatted_read_group"] = formatted_read_group
    for name, func in model_methods.items():
        registry.method(ANY_MODEL, name, func, api_model=True)
    record_methods: dict[str, MethodFunc] = {
        "read": read,
        "write": write,
        "unlink": unlink,
        "exists": exists,
    }
    if version == 16:
        record_methods["name_get"] = name_get
    if version >= 18:
        record_methods["has_access"] = has_access
        record_methods["check_access"] = check_access
    for name, func in record_methods.items():
        registry.method(ANY_MODEL, name, func, api_model=False)
