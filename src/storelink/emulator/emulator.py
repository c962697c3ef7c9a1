""":class:`OdooEmulator`: one emulated Odoo server (one database) and its test controls."""

from __future__ import annotations

import copy
from typing import Any

from starlette.applications import Starlette

from storelink.emulator import seed
from storelink.emulator.database import Database
from storelink.emulator.delivery import WebhookSender
from storelink.emulator.dispatch import Backend, run_call
from storelink.emulator.faults import Faults
from storelink.emulator.models import build_registry
from storelink.emulator.orm import Env
from storelink.emulator.pace import Pace
from storelink.emulator.seed import group_ids, make_user
from storelink.emulator.stats import Stats
from storelink.emulator.store import Clock, Store, system_clock
from storelink.odoo.latency import LatencyModel

#: uninstalling a module uninstalls the installed modules that depend on it
DEPENDENTS: dict[str, tuple[str, ...]] = {
    "product": ("stock", "sale", "point_of_sale", "account"),
    "stock": ("sale_stock", "point_of_sale"),
    "sale": ("sale_management", "sale_stock"),
    "account": ("sale", "point_of_sale"),
    "uom": ("product",),
}


class OdooEmulator:
    """An Odoo 16/17/18/19 lookalike seeded with what storelink expects.

    Database ``storelink``, user ``admin``/``admin`` (uid 2) with API key
    ``storelink-test-key``; modules base, product, stock, sale_management,
    point_of_sale, account (and base_automation) installed; one company, UoM
    *Units*, warehouse ``WH`` with its stock location, POS config *Shop*, taxes
    15 % / 5 % / 0 %.
    """

    def __init__(
        self,
        version: str | int = "17",
        *,
        db_name: str = "storelink",
        clock: Clock = system_clock,
        faults: Faults | None = None,
        latency: LatencyModel | None = None,
    ) -> None:
        self.version = int(str(version).split(".")[0])
        #: answer as slowly as the measured real Odoo (None: as fast as the emulator can)
        self.pace = Pace(latency) if latency is not None else None
        self.db = Database(db_name, build_registry(self.version), Store(clock))
        seed.seed(self.db)
        self.stats = Stats()
        self.faults = faults if faults is not None else Faults()
        self.backend = Backend(self.db, self.stats, self.faults)
        self.webhooks = WebhookSender()
        self._app: Starlette | None = None

    def asgi_app(self) -> Starlette:
        if self._app is None:
            from storelink.emulator.server import build_app

            self._app = build_app(self)
        return self._app

    # -- inspection and direct calls ---------------------------------------------------------
    def records(self, model: str) -> list[dict[str, Any]]:
        """Copies of the stored records of ``model`` (raw: many2one as ids), by id."""
        with self.db.store.lock:
            table = self.db.store.table(model)
            return [copy.deepcopy(dict(table[i])) for i in sorted(table)]

    def call(
        self, model: str, method: str, *args: Any, uid: int = seed.ADMIN_UID, **kwargs: Any
    ) -> Any:
        """Run ``model.method`` as ``uid`` without HTTP (test setup); not a round trip."""
        with self.db.store.lock:
            result = run_call(
                self.backend, uid, model, method, list(args), dict(kwargs), json2=False
            )
            self.db.outbox.clear()
            return result

    # -- administration ------------------------------------------------------------------------
    def uninstall_module(self, name: str) -> None:
        """Uninstall ``name`` and what depends on it; their models disappear."""
        with self.db.store.lock:
            pending, done = [name], set()
            while pending:
                module = pending.pop()
                if module in done:
                    continue
                done.add(module)
                pending.extend(DEPENDENTS.get(module, ()))
            for record in self.db.store.table("ir.module.module").values():
                if record["name"] in done:
                    record["state"] = "uninstalled"
                    record["write_date"] = self.db.store.now()

    def install_module(self, name: str) -> None:
        with self.db.store.lock:
            for record in self.db.store.table("ir.module.module").values():
                if record["name"] == name:
                    record["state"] = "installed"
                    record["write_date"] = self.db.store.now()

    def add_user(
        self, login: str, password: str, groups: list[str], api_key: str | None = None
    ) -> int:
        """A new internal user in ``groups`` (xml ids such as ``"stock.group_stock_user"``)."""
        with self.db.store.lock:
            uid = make_user(self.db, login, password, groups)
            if api_key:
                self.db.api_keys[api_key] = uid
            return uid

    def set_user_groups(self, login: str, groups: list[str]) -> None:
        """Replace the groups of ``login`` (implied groups are added, as in Odoo)."""
        from storelink.emulator.access import groups_field

        with self.db.store.lock:
            env = Env(self.db, 1, su=True)
            users = env.search("res.users", [("login", "=", login)], limit=1)
            if not users:
                raise ValueError(f"no user with login {login!r}")
            env.write(
                "res.users", users, {groups_field(self.version): [(6, 0, group_ids(env, groups))]}
            )

    def set_clock(self, clock: Clock) -> None:
        """Replace the clock stamping ``create_date``/``write_date`` (records may share one)."""
        self.db.store.clock = clock
