"""What one emulated Odoo version offers: its models, public methods and write hooks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from storelink.emulator.schema import Field, ModelSpec

if TYPE_CHECKING:
    from storelink.emulator.orm import Env

#: a public model method: ``func(env, *args, **kwargs)`` for ``@api.model`` methods,
#: ``func(env, ids, *args, **kwargs)`` for record methods
MethodFunc = Callable[..., Any]
CreateHook = Callable[["Env", str, list[int], dict[str, Any]], None]
WriteHook = Callable[["Env", str, list[int], dict[str, Any]], None]
#: an ``@api.ondelete`` check (or what an ``unlink`` override does first): may raise
UnlinkHook = Callable[["Env", str, list[int]], None]
#: a stored many2one pointing at a model: (model holding it, field name, field)
Reference = tuple[str, str, Field]

ANY_MODEL = "*"


@dataclass(frozen=True)
class Method:
    func: MethodFunc
    #: ``@api.model``: called without ids (JSON-2 refuses ids for it)
    api_model: bool


@dataclass
class Registry:
    """Models, methods and hooks of one Odoo version (16 … 19)."""

    version: int
    specs: dict[str, ModelSpec] = field(default_factory=dict)
    methods: dict[tuple[str, str], Method] = field(default_factory=dict)
    create_hooks: dict[str, list[CreateHook]] = field(default_factory=dict)
    write_hooks: dict[str, list[WriteHook]] = field(default_factory=dict)
    unlink_hooks: dict[str, list[UnlinkHook]] = field(default_factory=dict)
    _references: dict[str, list[Reference]] | None = None

    def model(self, spec: ModelSpec) -> None:
        self.specs[spec.name] = spec
        self._references = None

    def method(self, model: str, name: str, func: MethodFunc, *, api_model: bool) -> None:
        """Expose ``func`` as ``model.name``; ``model`` may be ``ANY_MODEL``."""
        self.methods[(model, name)] = Method(func, api_model)

    def on_create(self, model: str, hook: CreateHook) -> None:
        self.create_hooks.setdefault(model, []).append(hook)

    def on_write(self, model: str, hook: WriteHook) -> None:
        self.write_hooks.setdefault(model, []).append(hook)

    def on_unlink(self, model: str, hook: UnlinkHook) -> None:
        self.unlink_hooks.setdefault(model, []).append(hook)

    def references(self, model: str) -> list[Reference]:
        """Every stored many2one pointing at ``model`` (the foreign keys a delete must honour)."""
        if self._references is None:
            found: dict[str, list[Reference]] = {}
            for spec in self.specs.values():
                for name, f in spec.fields.items():
                    if f.type == "many2one" and f.stored and f.relation:
                        found.setdefault(f.relation, []).append((spec.name, name, f))
            self._references = found
        return self._references.get(model, [])

    def find_method(self, model: str, name: str) -> Method | None:
        return self.methods.get((model, name)) or self.methods.get((ANY_MODEL, name))
