"""Field and model descriptions: what the emulator knows about each Odoo model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storelink.emulator.orm import Env

Record = dict[str, Any]
#: computes a non-stored field from the stored record
Compute = Callable[["Env", Record], Any]
#: a default value, or a function of the environment producing one
Default = Any

RELATIONAL = frozenset({"many2one", "one2many", "many2many"})


@dataclass(frozen=True)
class Field:
    """One field of a model, as ``fields_get`` reports it."""

    type: str
    string: str = ""
    relation: str | None = None
    #: the many2one on ``relation`` pointing back (one2many only)
    inverse: str | None = None
    required: bool = False
    readonly: bool = False
    default: Default = None
    selection: tuple[tuple[str, str], ...] = ()
    compute: Compute | None = None
    #: many2one only: what deleting the target does (``cascade``, ``set null``, ``restrict``)
    ondelete: str | None = None
    #: char only: Odoo's ``size``, to which a longer value is cut without a word
    #: (``fields.Char.convert_to_cache``: ``value[:self.size]``)
    size: int | None = None

    @property
    def stored(self) -> bool:
        return self.compute is None and self.type != "one2many"

    @property
    def on_delete(self) -> str:
        """The foreign key's action; unset it is ``restrict`` when required, else ``set null``.

        The default is ``Many2one.setup_nonrelated`` in ``odoo/fields.py``.
        """
        if self.ondelete is not None:
            return self.ondelete
        return "restrict" if self.required else "set null"

    def empty(self) -> Any:
        """The value Odoo returns for an unset field of this type."""
        if self.type in ("one2many", "many2many"):
            return []
        if self.type in ("integer", "float", "monetary"):
            return 0 if self.type == "integer" else 0.0
        return False


@dataclass(frozen=True)
class Unique:
    """An SQL unique constraint, reported the way Odoo reports the violation."""

    fields: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class ModelSpec:
    """A model: its fields, the module that brings it, its default order and access groups."""

    name: str
    description: str
    module: str
    fields: dict[str, Field]
    order: str = "id"
    rec_name: str = "name"
    #: delegation inheritance (``_inherits``): parent model and the many2one to it
    inherits: tuple[str, str] | None = None
    #: the many2one used by ``child_of``/``parent_of``
    parent_name: str | None = None
    unique: tuple[Unique, ...] = ()
    #: groups (xml ids) of which one lets a user read / write; empty means everyone
    read_groups: tuple[str, ...] = ("base.group_user",)
    write_groups: tuple[str, ...] = ("base.group_user",)
    display: Callable[[Env, Record], str] | None = None

    def field(self, name: str) -> Field | None:
        return self.fields.get(name)


@dataclass
class ModelBuilder:
    """Collects the models of one Odoo version; business modules add theirs."""

    version: int
    specs: dict[str, ModelSpec] = field(default_factory=dict)

    def add(self, spec: ModelSpec) -> None:
        self.specs[spec.name] = spec


def char(string: str = "", **kw: Any) -> Field:
    return Field("char", string, **kw)


def m2o(relation: str, string: str = "", **kw: Any) -> Field:
    return Field("many2one", string, relation=relation, **kw)


def o2m(relation: str, inverse: str, string: str = "") -> Field:
    return Field("one2many", string, relation=relation, inverse=inverse)


def m2m(relation: str, string: str = "", **kw: Any) -> Field:
    return Field("many2many", string, relation=relation, **kw)


def num(string: str = "", **kw: Any) -> Field:
    return Field("float", string, **kw)


def flag(string: str = "", default: bool = False, **kw: Any) -> Field:
    return Field("boolean", string, default=default, **kw)


def select(options: tuple[tuple[str, str], ...], string: str = "", **kw: Any) -> Field:
    return Field("selection", string, selection=options, **kw)
