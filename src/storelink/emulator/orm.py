"""The generic ORM every model shares: search, read, create, write, unlink and friends.

An :class:`Env` is Odoo's ``env``: the database, the user, the context, and
whether access rights are bypassed (``sudo``). Business methods receive one and
call these operations on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from storelink.emulator import access, webhooks
from storelink.emulator.database import Database
from storelink.emulator.domain import Leaf, Node, Term, matches, parse
from storelink.emulator.exceptions import (
    MissingError,
    ProgrammingError,
    UserError,
    ValidationError,
)
from storelink.emulator.schema import Field, ModelSpec, Record
from storelink.emulator.store import Table

MAGIC = ("id", "display_name", "create_date", "write_date", "create_uid", "write_uid")
_MAGIC_FIELDS = {
    "id": Field("integer", "ID", readonly=True),
    "display_name": Field("char", "Display Name", readonly=True),
    "create_date": Field("datetime", "Created on", readonly=True),
    "write_date": Field("datetime", "Last Updated on", readonly=True),
    "create_uid": Field("many2one", "Created by", relation="res.users", readonly=True),
    "write_uid": Field("many2one", "Last Updated by", relation="res.users", readonly=True),
}


class Env:
    """The database seen by one user with one context."""

    def __init__(
        self,
        db: Database,
        uid: int,
        context: dict[str, Any] | None = None,
        *,
        su: bool = False,
        installed: frozenset[str] | None = None,
    ) -> None:
        self.db = db
        self.uid = uid
        self.context: dict[str, Any] = dict(context or {})
        self.su = su
        self._installed = installed if installed is not None else frozenset(db.installed_modules())

    # -- environments -------------------------------------------------------------------------
    def sudo(self) -> Env:
        return Env(self.db, self.uid, self.context, su=True, installed=self._installed)

    def with_context(self, **values: Any) -> Env:
        context = {**self.context, **values}
        return Env(self.db, self.uid, context, su=self.su, installed=self._installed)

    @property
    def version(self) -> int:
        return self.db.version

    def now(self) -> str:
        return self.db.store.now()

    # -- models and fields --------------------------------------------------------------------
    def spec(self, model: str) -> ModelSpec:
        spec = self.db.registry.specs.get(model)
        if spec is None or spec.module not in self._installed:
            raise UserError(f"Object {model} doesn't exist")
        return spec

    def has_model(self, model: str) -> bool:
        spec = self.db.registry.specs.get(model)
        return spec is not None and spec.module in self._installed

    def field(self, model: str, name: str) -> Field:
        spec = self.spec(model)
        found = spec.fields.get(name) or _MAGIC_FIELDS.get(name)
        if found is not None:
            return found
        if spec.inherits is not None:
            parent = self.spec(spec.inherits[0])
            found = parent.fields.get(name)
            if found is not None:
                return found
        raise ProgrammingError(f"Invalid field {name!r} on model {model!r}")

    def field_names(self, model: str) -> list[str]:
        spec = self.spec(model)
        names = list(spec.fields)
        if spec.inherits is not None:
            names += [n for n in self.spec(spec.inherits[0]).fields if n not in spec.fields]
        return names + [m for m in MAGIC if m not in names]

    # -- raw record access (no access checks) -------------------------------------------------
    def table(self, model: str) -> Table:
        return self.db.store.table(model)

    def browse(self, model: str, ids: Sequence[int]) -> list[Record]:
        table = self.table(model)
        return [table[i] for i in ids if i in table]

    def referencing(self, model: str, field: str, value: Any) -> list[Record]:
        """Records of ``model`` whose ``field`` equals ``value`` (by index when there is one)."""
        table = self.table(model)
        ids = self.db.store.lookup(model, field, value)
        if ids is not None:
            return [table[i] for i in ids]
        return [r for r in table.values() if r.get(field) == value]

    def get(self, model: str, record_id: int) -> Record:
        record = self.table(model).get(record_id)
        if record is None:
            raise MissingError(
                "Record does not exist or has been deleted.\n"
                f"(Record: {model}({record_id},), User: {self.uid})"
            )
        return record

    def value(self, model: str, record: Record, name: str) -> Any:
        """A field's value in cache form: many2one an id or False, x2many a list of ids.

        x2many ids come in the comodel's order, as Odoo reads them.
        """
        spec = self.spec(model)
        if name == "display_name":
            return self.display_name(model, record)
        field = spec.fields.get(name)
        if field is None and spec.inherits is not None and name not in MAGIC:
            parent_model, link = spec.inherits
            if name in self.spec(parent_model).fields:
                parent = self.table(parent_model).get(record.get(link) or 0)
                return self.value(parent_model, parent, name) if parent else False
        if field is None:
            if name in MAGIC:
                return record.get(name, False)
            raise ProgrammingError(f"Invalid field {name!r} on model {model!r}")
        if field.compute is not None:
            return field.compute(self, record)
        if field.type == "one2many":
            assert field.relation is not None
            return [r["id"] for r in self._ordered(field.relation, _children(self, field, record))]
        if field.type == "many2many":
            # Many2many.read joins the comodel and sorts by its _order (archived included)
            assert field.relation is not None
            ids = list(record.get(name) or [])
            if len(ids) < 2 or not self.has_model(field.relation):
                return ids
            return [
                r["id"] for r in self._ordered(field.relation, self.browse(field.relation, ids))
            ]
        return record.get(name, field.empty())

    def display_name(self, model: str, record: Record) -> str:
        spec = self.spec(model)
        if spec.display is not None:
            return spec.display(self, record)
        name = self.value(model, record, spec.rec_name) if spec.rec_name else False
        return str(name) if name else f"{model},{record['id']}"

    def descendants(self, model: str, ids: Sequence[int]) -> set[int]:
        parent = self.spec(model).parent_name
        family = set(ids)
        if parent is None:
            return family
        changed = True
        while changed:
            changed = False
            for record in self.table(model).values():
                if record["id"] not in family and record.get(parent) in family:
                    family.add(record["id"])
                    changed = True
        return family

    def ancestors(self, model: str, ids: Sequence[int]) -> set[int]:
        parent = self.spec(model).parent_name
        family = set(ids)
        if parent is None:
            return family
        pending = list(ids)
        while pending:
            record = self.table(model).get(pending.pop())
            up = record.get(parent) if record else False
            if up and up not in family:
                family.add(up)
                pending.append(up)
        return family

    # -- access rights ------------------------------------------------------------------------
    def check_access(self, model: str, operation: str) -> None:
        if not self.su:
            access.check_model_access(self, model, operation)

    # -- search --------------------------------------------------------------------------------
    def search(
        self,
        model: str,
        domain: Sequence[Any] = (),
        offset: int = 0,
        limit: int | None = None,
        order: str | None = None,
    ) -> list[int]:
        self.check_access(model, "read")
        spec = self.spec(model)
        term: Term = parse(domain)
        active_test = self.context.get("active_test", True)
        filter_active = "active" in spec.fields and active_test and not _mentions(domain, "active")
        found = [
            r
            for r in self._candidates(model, term)
            if (not filter_active or r.get("active", True)) and matches(term, model, r, self)
        ]
        found = self._ordered(model, found, order)
        if offset:
            found = found[int(offset) :]
        if limit:
            found = found[: int(limit)]
        return [r["id"] for r in found]

    def _candidates(self, model: str, term: Term) -> Iterable[Record]:
        """Records that may match: narrowed by one selective leaf of a top-level ``&``."""
        table = self.table(model)
        leaves = [term] if isinstance(term, Leaf) else []
        if isinstance(term, Node) and term.operator == "&":
            leaves = [c for c in term.children if isinstance(c, Leaf)]
        for leaf in leaves:
            value = leaf.value
            if leaf.path == "id" and leaf.operator in ("=", "in"):
                wanted = value if isinstance(value, (list, tuple)) else [value]
                return [table[i] for i in wanted if isinstance(i, int) and i in table]
            field = self.spec(model).fields.get(leaf.path)
            if field is None or not field.stored:
                continue
            if leaf.operator == "=" and _narrowing(field, value):
                return self.referencing(model, leaf.path, value)
            if (
                leaf.operator == "in"
                and isinstance(value, (list, tuple))
                and all(_narrowing(field, v) for v in value)
            ):
                # like Odoo's index on the column: a batch's `ref in [...]` lookup must not
                # cost (orders held x refs asked) as the database fills up
                return self._any_of(model, leaf.path, value)
        return table.values()

    def _any_of(self, model: str, field: str, values: Sequence[Any]) -> list[Record]:
        """Records of ``model`` whose ``field`` is one of ``values``, in id order."""
        table = self.table(model)
        found: set[int] = set()
        for value in values:
            ids = self.db.store.lookup(model, field, value)
            if ids is None:  # not indexed: one pass with a set instead of one per value
                wanted = set(values)
                return [r for r in table.values() if r.get(field) in wanted]
            found.update(ids)
        return [table[i] for i in sorted(found)]

    def _ordered(self, model: str, records: list[Record], order: str | None = None) -> list[Record]:
        spec = self.spec(model)
        keys = _parse_order(order or spec.order, model)
        result = sorted(records, key=lambda r: r["id"])
        for name, descending in reversed(keys):
            field = self.field(model, name)

            def key(record: Record, name: str = name, field: Field = field) -> tuple[int, Any]:
                value = self.value(model, record, name)
                if isinstance(value, list):
                    value = value[0] if value else False
                null = value is False or value is None
                if field.type == "boolean":
                    return (0, bool(value))
                if null:
                    return (1, 0)
                return (0, value)

            # PostgreSQL puts NULLs last ascending and first descending, like this does
            result.sort(key=key, reverse=descending)
        return result

    # -- read ----------------------------------------------------------------------------------
    def read(
        self,
        model: str,
        ids: Sequence[int],
        fields: Sequence[str] | None = None,
        load: str | None = "_classic_read",
    ) -> list[dict[str, Any]]:
        self.check_access(model, "read")
        names = (
            list(fields)
            if fields
            else [n for n in self.field_names(model) if self.field(model, n).type != "binary"]
        )
        for name in names:
            self.field(model, name)
        rows = []
        table = self.table(model)
        for record_id in ids:
            # _read_format leaves missing records out (write and unlink raise MissingError)
            record = table.get(int(record_id))
            if record is None:
                continue
            row: dict[str, Any] = {"id": record["id"]}
            for name in names:
                if name == "id":
                    continue
                row[name] = self._export(model, record, name, load)
            rows.append(row)
        return rows

    def _export(self, model: str, record: Record, name: str, load: str | None) -> Any:
        field = self.field(model, name)
        value = self.value(model, record, name)
        if field.type == "many2one":
            if not value:
                return False
            if load != "_classic_read":
                return value
            assert field.relation is not None
            target = self.table(field.relation).get(value)
            label = self.display_name(field.relation, target) if target else ""
            return [value, label]
        if field.type in ("one2many", "many2many"):
            return list(value)
        if field.type == "datetime" and isinstance(value, str):
            return value[:19]
        return value

    # -- write operations ----------------------------------------------------------------------
    def create(self, model: str, vals_list: Iterable[dict[str, Any]]) -> list[int]:
        self.check_access(model, "create")
        spec = self.spec(model)
        created: list[int] = []
        for vals in vals_list:
            if not isinstance(vals, dict):
                raise ProgrammingError(f"create expects dicts of values, got {vals!r}", "TypeError")
            vals = dict(vals)
            if spec.inherits is not None:
                parent_model, link = spec.inherits
                parent_fields = self.spec(parent_model).fields
                moved = {
                    k: vals.pop(k)
                    for k in list(vals)
                    if k in parent_fields and k not in spec.fields
                }
                if not vals.get(link):
                    # the child is the record being made: the parent must not make its own
                    parent_env = self.sudo().with_context(create_product_product=False)
                    vals[link] = parent_env._create_one(parent_model, moved)
                elif moved:
                    self.sudo().write(parent_model, [vals[link]], moved)
            new_id = self._create_one(model, vals)
            created.append(new_id)
        return created

    def _create_one(self, model: str, vals: dict[str, Any]) -> int:
        spec = self.spec(model)
        for name in vals:
            if name not in spec.fields:
                raise ProgrammingError(f"Invalid field {name!r} on model {model!r}")
        store = self.db.store
        record: Record = {"id": store.new_id(model)}
        now = self.now()
        record.update(create_date=now, write_date=now, create_uid=self.uid, write_uid=self.uid)
        x2many: dict[str, Any] = {}
        for name, field in spec.fields.items():
            if not field.stored and field.type != "one2many":
                continue
            if name in vals:
                if field.type in ("one2many", "many2many"):
                    x2many[name] = vals[name]
                    continue
                record[name] = self._convert(model, name, field, vals[name])
            elif field.type == "one2many":
                continue
            elif field.default is not None:
                default = field.default(self) if callable(field.default) else field.default
                record[name] = list(default) if isinstance(default, list) else default
            else:
                record[name] = field.empty()
        for name, field in spec.fields.items():
            if (
                field.required
                and field.stored
                and record.get(name) in (False, None, "")
                and field.type not in ("boolean", "float", "integer", "monetary")
            ):
                raise _mandatory(self, spec, name, field)
        self._check_unique(spec, record)
        self.table(model)[record["id"]] = record
        record = self.table(model)[record["id"]]
        for name, commands in x2many.items():
            self._write_x2many(model, record, name, spec.fields[name], commands)
        for hook in self.db.registry.create_hooks.get(model, []):
            hook(self, model, [record["id"]], vals)
        webhooks.record_changed(self, model, [record["id"]], "create", set(vals))
        return int(record["id"])

    def write(self, model: str, ids: Sequence[int], vals: dict[str, Any]) -> bool:
        self.check_access(model, "write")
        spec = self.spec(model)
        vals = dict(vals)
        changed = set(vals)
        records = [self.get(model, int(i)) for i in ids]
        if spec.inherits is not None:
            parent_model, link = spec.inherits
            parent_fields = self.spec(parent_model).fields
            moved = {
                k: vals.pop(k) for k in list(vals) if k in parent_fields and k not in spec.fields
            }
            if moved:
                self.sudo().write(parent_model, sorted({r[link] for r in records}), moved)
        for name in vals:
            if name not in spec.fields:
                raise ProgrammingError(f"Invalid field {name!r} on model {model!r}")
        now = self.now()
        for record in records:
            previous = dict(record)
            for name, value in vals.items():
                field = spec.fields[name]
                if field.compute is not None:
                    continue
                if field.type in ("one2many", "many2many"):
                    self._write_x2many(model, record, name, field, value)
                    continue
                record[name] = self._convert(model, name, field, value)
                if (
                    field.required
                    and record[name] in (False, None, "")
                    and field.type
                    not in (
                        "boolean",
                        "float",
                        "integer",
                        "monetary",
                    )
                ):
                    record.clear()
                    record.update(previous)
                    raise _mandatory(self, spec, name, field)
            try:
                self._check_unique(spec, record)
            except ValidationError:
                record.clear()
                record.update(previous)
                raise
            record["write_date"] = now
            record["write_uid"] = self.uid
        for hook in self.db.registry.write_hooks.get(model, []):
            hook(self, model, [r["id"] for r in records], vals)
        if changed:
            webhooks.record_changed(self, model, [r["id"] for r in records], "write", changed)
        return True

    def unlink(self, model: str, ids: Sequence[int]) -> bool:
        """``BaseModel.unlink``: the model's ``@api.ondelete`` checks, then the SQL delete.

        The delete honours every foreign key to the deleted rows the way PostgreSQL
        does (:meth:`_delete`); the external ids of deleted records go with them, as
        ``unlink`` removes their ``ir.model.data`` rows (``odoo/models.py``).
        """
        self.check_access(model, "unlink")
        self.spec(model)
        wanted = list(dict.fromkeys(int(i) for i in ids))
        for record_id in wanted:
            self.get(model, record_id)
        for hook in self.db.registry.unlink_hooks.get(model, []):
            hook(self, model, wanted)
        self._delete(model, wanted)
        return True

    def _delete(self, model: str, ids: Sequence[int]) -> None:
        """``DELETE FROM`` with the foreign keys' ``ON DELETE`` actions, no Python hooks.

        ``cascade`` deletes the referencing rows too, ``set null`` empties the
        reference and ``restrict`` refuses the whole statement with the error
        ``_as_validation_error`` (``odoo/service/model.py``) makes of a
        ``ForeignKeyViolation``. The call's transaction undoes a refused delete.
        """
        doomed = {int(i) for i in ids if int(i) in self.table(model)}
        if not doomed:
            return
        for referrer, name, field in self.db.registry.references(model):
            if not self.has_model(referrer):
                continue
            rows = [
                r
                for r in self._referring(referrer, name, doomed)
                if referrer != model or r["id"] not in doomed
            ]
            if not rows:
                continue
            if field.on_delete == "cascade":
                self._delete(referrer, [r["id"] for r in rows])
            elif field.on_delete == "set null":
                for row in rows:
                    row[name] = False
            else:
                spec = self.spec(referrer)
                raise ValidationError(
                    "The operation cannot be completed: another model requires the record "
                    "being deleted. If possible, archive it instead.\n\n"
                    f"Model: {spec.description} ({referrer})\n"
                    f"Constraint: {referrer.replace('.', '_')}_{name}_fkey\n"
                )
        table = self.table(model)
        for record_id in sorted(doomed):
            table.pop(record_id, None)
        data = self.table("ir.model.data")
        for key in [k for k, r in data.items() if r["model"] == model and r["res_id"] in doomed]:
            del data[key]

    def _referring(self, model: str, field: str, targets: set[int]) -> list[Record]:
        """Records of ``model`` whose many2one ``field`` is one of ``targets``."""
        table = self.table(model)
        if field in self.db.store.indexed_fields(model):
            found: list[Record] = []
            for target in sorted(targets):
                found += [table[i] for i in self.db.store.lookup(model, field, target) or ()]
            return found
        return [r for r in table.values() if r.get(field) in targets]

    # -- helpers -------------------------------------------------------------------------------
    def _convert(self, model: str, name: str, field: Field, value: Any) -> Any:
        if field.type == "many2one":
            if value in (False, None, 0):
                return False
            if isinstance(value, (list, tuple)) and value:
                value = value[0]
            target = int(value)
            assert field.relation is not None
            if target not in self.table(field.relation):
                raise ValidationError(
                    "The operation cannot be completed: another model requires the record "
                    "being deleted. If possible, archive it instead.\n\n"
                    f"Model: {self.spec(model).description} ({model}), "
                    f"Field: {field.string or name} ({name})"
                )
            return target
        if value is None:
            return field.empty()
        if field.type == "selection":
            if value is False:
                return False
            if value not in {key for key, _ in field.selection}:
                raise ProgrammingError(f"Wrong value for {model}.{name}: {value!r}")
            return value
        if field.type in ("float", "monetary"):
            return float(value) if value is not False else 0.0
        if field.type == "integer":
            return int(value) if value is not False else 0
        if field.type == "boolean":
            return bool(value)
        if field.type in ("char", "text", "html"):
            return value if value is False else str(value)[: field.size]
        if field.type == "datetime":
            if value is False:
                return False
            return str(value).replace("T", " ")[:19]
        return value

    def _write_x2many(
        self, model: str, record: Record, name: str, field: Field, commands: Any
    ) -> None:
        assert field.relation is not None
        relation = field.relation
        if commands is False or commands is None:
            commands = [(5,)]
        if field.type == "one2many":
            self._write_one2many(record, field, commands)
            return
        current: list[int] = list(record.get(name) or [])
        for command in commands:
            if isinstance(command, int):
                command = (4, command)
            if not isinstance(command, (list, tuple)) or not command:
                raise ProgrammingError(f"Invalid x2many command {command!r} for {model}.{name}")
            code = int(command[0])
            if code == 0:
                current.append(self.sudo().create(relation, [dict(command[2])])[0])
            elif code == 1:
                self.sudo().write(relation, [int(command[1])], dict(command[2]))
            elif code == 2:
                self.sudo().unlink(relation, [int(command[1])])
                current = [i for i in current if i != int(command[1])]
            elif code == 3:
                current = [i for i in current if i != int(command[1])]
            elif code == 4:
                if int(command[1]) not in current:
                    current.append(int(command[1]))
            elif code == 5:
                current = []
            elif code == 6:
                current = [int(i) for i in command[2]]
            else:
                raise ProgrammingError(f"Invalid x2many command {command!r} for {model}.{name}")
        record[name] = current

    def _write_one2many(self, record: Record, field: Field, commands: Any) -> None:
        assert field.relation is not None and field.inverse is not None
        relation, inverse = field.relation, field.inverse
        sudo = self.sudo()
        for command in commands:
            if not isinstance(command, (list, tuple)) or not command:
                raise ProgrammingError(f"Invalid one2many command {command!r}")
            code = int(command[0])
            if code == 0:
                sudo.create(relation, [{**dict(command[2]), inverse: record["id"]}])
            elif code == 1:
                sudo.write(relation, [int(command[1])], dict(command[2]))
            elif code in (2, 3):
                # the inverse many2one is required on every one2many emulated: unlink
                sudo.unlink(relation, [int(command[1])])
            elif code == 4:
                sudo.write(relation, [int(command[1])], {inverse: record["id"]})
            elif code in (5, 6):
                keep = {int(i) for i in command[2]} if code == 6 else set()
                current = [c["id"] for c in _children(self, field, record)]
                if drop := [i for i in current if i not in keep]:
                    sudo.unlink(relation, drop)
                if add := [i for i in keep if i not in current]:
                    sudo.write(relation, add, {inverse: record["id"]})
            else:
                raise ProgrammingError(f"Invalid one2many command {command!r}")

    def _check_unique(self, spec: ModelSpec, record: Record) -> None:
        for constraint in spec.unique:
            key = tuple(record.get(f) for f in constraint.fields)
            if any(k in (False, None) for k in key):
                continue
            for other in self.table(spec.name).values():
                if (
                    other["id"] != record["id"]
                    and tuple(other.get(f) for f in constraint.fields) == key
                ):
                    raise ValidationError(constraint.message)


def _children(env: Env, field: Field, record: Record) -> list[Record]:
    assert field.relation is not None and field.inverse is not None
    if not env.has_model(field.relation):
        return []
    return env.referencing(field.relation, field.inverse, record["id"])


def _mentions(domain: Sequence[Any], name: str) -> bool:
    return any(
        isinstance(leaf, (list, tuple)) and len(leaf) == 3 and leaf[0] == name for leaf in domain
    )


def _parse_order(order: str, model: str) -> list[tuple[str, bool]]:
    keys = []
    for part in order.split(","):
        words = part.strip().split()
        if not words:
            continue
        if len(words) > 3 or (len(words) > 1 and words[1].lower() not in ("asc", "desc")):
            raise ProgrammingError(f'Invalid "order" specified ({order}) on model {model}')
        keys.append((words[0], len(words) > 1 and words[1].lower() == "desc"))
    return keys


def _mandatory(env: Env, spec: ModelSpec, name: str, field: Field) -> ValidationError:
    return ValidationError(
        "The operation cannot be completed:\n"
        "- Create/update: a mandatory field is not set.\n"
        "- Delete: another model requires the record being deleted. "
        "If possible, archive it instead.\n\n"
        f"Model: {spec.description} ({spec.name})\n"
        f"Field: {field.string or name} ({name})"
    )


def _narrowing(field: Field, value: Any) -> bool:
    """Whether an equality on ``field`` with ``value`` can pick candidates by value."""
    return (
        field.type in ("char", "many2one", "integer", "selection")
        and isinstance(value, (str, int))
        and not isinstance(value, bool)
        and (field.type != "many2one" or isinstance(value, int))
    )
