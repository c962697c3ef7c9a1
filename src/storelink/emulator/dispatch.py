"""Odoo's service layer: ``common`` (version, login, authenticate), ``object`` (execute_kw), ``db``.

Every protocol ends up here. A call runs under the store lock as one
transaction: if it raises, the records it touched are restored, like a rollback.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from storelink.emulator.database import Database
from storelink.emulator.exceptions import (
    AccessDenied,
    AccessError,
    DatabaseMissing,
    HttpNotFound,
    HttpUnprocessable,
    ProgrammingError,
    SerializationFailure,
)
from storelink.emulator.faults import Faults
from storelink.emulator.orm import Env
from storelink.emulator.stats import Stats


@dataclass(frozen=True)
class Backend:
    """What every protocol handler needs: the database, counters and faults."""

    db: Database
    stats: Stats
    faults: Faults

    @property
    def version(self) -> int:
        return self.db.version


def version_info(version: int) -> dict[str, Any]:
    return {
        "server_version": f"{version}.0",
        "server_version_info": [version, 0, 0, "final", 0, ""],
        "server_serie": f"{version}.0",
        "protocol_version": 1,
    }


def dispatch_rpc(backend: Backend, service: str, method: str, params: Sequence[Any]) -> Any:
    """``odoo.http.dispatch_rpc`` for the legacy JSON-RPC and XML-RPC endpoints."""
    if service == "common":
        return _common(backend, method, list(params))
    if service == "db":
        if method == "list":
            return [backend.db.name]
        if method == "server_version":
            return f"{backend.version}.0"
        raise ProgrammingError(f"Method not available {method}", "KeyError")
    if service == "object":
        if method not in ("execute", "execute_kw"):
            raise ProgrammingError(f"Method not available {method}", "NameError")
        return _execute(backend, method, list(params))
    raise ProgrammingError(f"{service} is not a valid service", "NameError")


def _common(backend: Backend, method: str, params: list[Any]) -> Any:
    backend.stats.calls[f"common.{method}"] += 1
    if method == "version":
        return version_info(backend.version)
    if method == "about":
        return "See http://openerp.com"
    if method in ("login", "authenticate"):
        if len(params) < 3:
            raise ProgrammingError(
                f"exp_{method}() missing required positional arguments", "TypeError"
            )
        db, login, password = params[0], params[1], params[2]
        _database(backend, db)
        return authenticate(backend.db, str(login), str(password)) or False
    raise ProgrammingError(f"Method not available {method}", "KeyError")


def _database(backend: Backend, name: Any) -> Database:
    if name != backend.db.name:
        raise DatabaseMissing(str(name))
    return backend.db


def authenticate(db: Database, login: str, password: str) -> int | None:
    """The uid for ``login`` when ``password`` is its password or one of its API keys."""
    with db.store.lock:
        for user in db.store.table("res.users").values():
            if user.get("login") == login and user.get("active", True):
                uid = int(user["id"])
                if db.passwords.get(uid) == password or db.api_keys.get(password) == uid:
                    return uid
                return None
    return None


def check_credentials(db: Database, uid: Any, password: Any) -> int:
    """``security.check``: the uid itself with its password or API key, else AccessDenied."""
    try:
        user_id = int(uid)
    except (TypeError, ValueError) as exc:
        raise AccessDenied() from exc
    user = db.store.table("res.users").get(user_id)
    if user is None or not user.get("active", True):
        raise AccessDenied()
    if db.passwords.get(user_id) == password or db.api_keys.get(str(password)) == user_id:
        return user_id
    raise AccessDenied()


def _execute(backend: Backend, method: str, params: list[Any]) -> Any:
    if len(params) < 5:
        raise ProgrammingError(f"{method}() missing required arguments", "TypeError")
    db_name, uid, password, model, name = params[:5]
    db = _database(backend, db_name)
    if method == "execute_kw":
        args = list(params[5]) if len(params) > 5 and params[5] is not None else []
        kwargs = dict(params[6]) if len(params) > 6 and params[6] else {}
    else:
        args, kwargs = list(params[5:]), {}
    with db.store.lock:
        uid = check_credentials(db, uid, password)
        return run_call(backend, uid, str(model), str(name), args, kwargs, json2=False)


def run_call(
    backend: Backend,
    uid: int,
    model: str,
    method: str,
    args: list[Any],
    kwargs: dict[str, Any],
    *,
    json2: bool,
    ids: Sequence[int] | None = None,
) -> Any:
    """Run one model method as one transaction (rolled back when it raises)."""
    db = backend.db
    backend.stats.calls[f"{model}.{method}"] += 1
    serialization = backend.faults.take_serialization()
    outbox_size = len(db.outbox)
    try:
        with db.store.transaction():
            result = _call(db, uid, model, method, args, kwargs, json2=json2, ids=ids)
            if serialization:
                # PostgreSQL refused the commit: Odoo rolls back and the error escapes
                raise SerializationFailure()
            return result
    except BaseException:
        del db.outbox[outbox_size:]
        raise


def _call(
    db: Database,
    uid: int,
    model: str,
    method: str,
    args: list[Any],
    kwargs: dict[str, Any],
    *,
    json2: bool,
    ids: Sequence[int] | None,
) -> Any:
    context = kwargs.pop("context", None) or {}
    if not isinstance(context, Mapping):
        raise ProgrammingError("context must be a dictionary", "TypeError")
    env = Env(db, uid, dict(context))
    if method.startswith("_"):
        if db.version <= 16:
            raise AccessError(f"Private methods (such as {method}) cannot be called remotely.")
        raise AccessError(
            f"Private methods (such as '{model}.{method}') cannot be called remotely."
        )
    if not env.has_model(model):
        if json2:
            raise HttpNotFound(f"the model {model!r} does not exist")
        env.spec(model)  # raises Odoo's "Object … doesn't exist"
    found = db.registry.find_method(model, method)
    if found is None:
        message = f"The method '{method}' does not exist on the model '{model}'"
        if json2:
            raise HttpNotFound(message)
        raise ProgrammingError(message, "AttributeError")
    if json2:
        if found.api_model and ids:
            raise HttpUnprocessable(f"cannot call {model}.{method} with ids")
        call_args: list[Any] = [env, model] if found.api_model else [env, model, list(ids or [])]
    else:
        if found.api_model:
            if method == "create" and not args:
                # odoo/api.py _call_kw_model_create reads args[0] (16-18): a keyword-only
                # vals_list fails there, as on a real 17.0 / 18.0
                raise ProgrammingError("tuple index out of range", "IndexError")
            call_args = [env, model, *args]
        else:
            if not args:
                raise ProgrammingError("tuple index out of range", "IndexError")
            record_ids = args[0]
            record_ids = [record_ids] if isinstance(record_ids, int) else list(record_ids or [])
            call_args = [env, model, record_ids, *args[1:]]
    try:
        inspect.signature(found.func).bind(*call_args, **kwargs)
    except TypeError as exc:
        if json2:
            raise HttpUnprocessable(str(exc)) from exc
        raise ProgrammingError(f"{method}() {exc}", "TypeError") from exc
    return found.func(*call_args, **kwargs)
