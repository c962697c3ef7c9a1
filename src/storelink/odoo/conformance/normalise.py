"""Every rule that turns a recorded exchange into something two servers can agree on.

Two Odoo databases that did the same things still differ in ids, dates, uuids,
sequence numbers and tracebacks. The :class:`Normaliser` of one step replaces
them, and nothing else, with stable placeholders:

* **session** — in ``execute_kw`` args the database, uid and password become
  ``"<db>"``, ``"<uid>"``, ``"<password>"``; so do the database and password of
  ``common.authenticate``/``login`` and the uid it answers; the server's base
  URL in any text becomes ``"<url>"``, the quoted database name ``<db>``.
* **record ids** become ``"<model#n>"``, numbered by first appearance within
  the step per model: the ``id`` key (of the call's model, or of the model a
  ``{"pos.order": [...]}`` answer names), ``*_id`` ints and ``[id, name]``
  pairs, ``*_ids`` int lists and x2many commands (``[6, 0, ids]``, ``[4, id]``),
  the ids of ``execute_kw``'s first positional argument, the answer of
  ``create``/``search``, ``load``'s ``ids`` and its ``…/.id`` cells, ints in
  domain leaves on ``id``/``*_id``/``*_ids``/``res_id``, and ``model(12,)`` in
  messages. The model of a field comes from :data:`FIELD_MODELS`, else the field
  name stands for it; ``res_id`` takes the ``model`` next to it (or in the
  domain of an ``ir.model.data`` call). A record that some answer of the step
  shows with its natural key (:data:`NATURAL_KEYS`: ``ir.model`` by ``model``,
  a warehouse by ``code`` …) is ``"<model:key>"`` instead, wherever it appears:
  servers number their own seed records in different orders.
* **datetimes and dates** (``2024-07-09 10:00:00``, ISO 8601, XML-RPC
  ``20240709T10:00:00``) become ``"<datetime>"``, ``YYYY-MM-DD`` ``"<date>"``.
* ``check`` values are the scenario's own read-backs: they hold no ids and
  only dates the scenario wrote, so only uuids, sequence names, tracebacks
  and the session are replaced in them.
* **uuids** the server made become ``"<uuid>"`` (inside any text); the
  scenario's own fixed ones (``00000000-0000-4000-8000-…``) are kept.
* **tracebacks** (``error.data.debug``, an XML-RPC ``faultString`` holding one)
  become ``"<traceback>"``, keeping the last line (the exception) of a fault.
* **sequence names** Odoo generates (``Shop/0001``, ``S00012``, ``WH/POS/00003``)
  keep their prefix; the final number becomes ``<n>``.

Everything else (field names, amounts, states, messages) is kept as Odoo said it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: fields whose ints (or int lists) are ids of a known model
FIELD_MODELS: dict[str, str] = {
    "account_move": "account.move",
    "base_automation_id": "base.automation",
    "categ_id": "product.category",
    "company_id": "res.company",
    "company_ids": "res.company",
    "allowed_company_ids": "res.company",
    "config_id": "pos.config",
    "country_id": "res.country",
    "currency_id": "res.currency",
    "in_type_id": "stock.picking.type",
    "journal_id": "account.journal",
    "lines": "pos.order.line",
    "location_dest_id": "stock.location",
    "location_id": "stock.location",
    "lot_stock_id": "stock.location",
    "model_id": "ir.model",
    "order_line": "sale.order.line",
    "move_ids": "stock.move",
    "out_type_id": "stock.picking.type",
    "partner_id": "res.partner",
    "payment_method_id": "pos.payment.method",
    "payment_ids": "pos.payment",
    "payment_method_ids": "pos.payment.method",
    "picking_id": "stock.picking",
    "picking_ids": "stock.picking",
    "picking_type_id": "stock.picking.type",
    "pos_session_id": "pos.session",
    "pos_type_id": "stock.picking.type",
    "pricelist_id": "product.pricelist",
    "product_id": "product.product",
    "product_tmpl_id": "product.template",
    "product_uom": "uom.uom",
    "product_uom_id": "uom.uom",
    "property_stock_inventory": "stock.location",
    "sale_id": "sale.order",
    "session_id": "pos.session",
    "tax_ids": "account.tax",
    "taxes_id": "account.tax",
    "uom_id": "uom.uom",
    "user_id": "res.users",
    "warehouse_id": "stock.warehouse",
    "webhook_field_ids": "ir.model.fields",
}
#: the field that names a record of a model the same way on every server
NATURAL_KEYS: dict[str, str] = {
    "account.journal": "code",
    "ir.model": "model",
    "ir.model.fields": "model",
    "pos.config": "name",
    "pos.payment.method": "name",
    "product.product": "default_code",
    "res.country": "code",
    "res.partner": "name",
    "res.currency": "name",
    "sale.order": "client_order_ref",
    "stock.warehouse": "code",
    "uom.uom": "name",
}
#: one2many fields whose values are x2many commands in requests
X2MANY = {"lines", "order_line", "move_ids", "payment_ids", "statement_ids"}
DOMAIN_OPERATORS = {
    "=", "!=", "<", "<=", ">", ">=", "in", "not in", "like", "ilike", "=like", "=ilike",
    "not like", "not ilike", "child_of", "parent_of", "any", "not any",
}  # fmt: skip
#: methods whose answer is record ids of the call's model
ID_ANSWERS = {"create", "search", "copy", "name_create"}

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$"
    r"|^\d{8}T\d{2}:\d{2}:\d{2}$"
)
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SEQUENCE = re.compile(r"^((?:[A-Za-z][\w\- ]*/)+[A-Za-z]{0,4}|[A-Z]{1,4})\d{3,}$")
RECORD_REF = re.compile(r"\b([a-z_]+(?:\.[a-z_]+)+)\(([\d, ]+)\)")
TRACEBACK = "Traceback (most recent call last)"
#: the prefix of the scenario's fixed uuids (see :func:`..data.fixed_uuid`)
FIXED_UUID = "00000000-0000-4000-8000-"
#: models whose ``[id, display name]`` pairs name their records (no better key is read)
NAMED_BY_PAIRS = {"stock.location"}


@dataclass(frozen=True)
class Session:
    """The values of one connection that differ between servers and must not be kept."""

    database: str
    password: str
    url: str


def _domain_model(args: list[Any]) -> str | None:
    """The ``model`` an ``ir.model.data`` search names in its domain (``["model", "=", m]``)."""
    kwargs = args[6] if len(args) > 6 and isinstance(args[6], dict) else {}
    for leaf in kwargs.get("domain") or []:
        if isinstance(leaf, list) and leaf[:2] == ["model", "="] and isinstance(leaf[2], str):
            return str(leaf[2])
    return None


def _natural_keys(model: str, row: Any) -> Iterable[tuple[str, str, int]]:
    """``(model, key, id)`` of the records an answer row names by a natural key."""
    if not isinstance(row, dict):
        return
    field = NATURAL_KEYS.get(model)
    key = row.get(field) if field else None
    if isinstance(key, str) and key and _is_int(row.get("id")):
        yield model, key, row["id"]
    for name, value in row.items():
        space = _field_namespace(name)
        pair = isinstance(value, list) and len(value) == 2 and isinstance(value[1], str)
        if space in NAMED_BY_PAIRS and pair and _is_int(value[0]):
            yield space, value[1], value[0]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _field_namespace(key: str) -> str | None:
    """The model (or stand-in) a field's ids belong to; ``None`` when the field holds no ids."""
    if key in FIELD_MODELS:
        return FIELD_MODELS[key]
    if key.endswith(("_id", "_ids")) or key == "res_id":
        return key
    return None


class Normaliser:
    """Normalises the entries of one step (record ids are numbered within it)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._ids: dict[str, dict[int, str]] = {}
        self._named: dict[str, dict[int, str]] = {}
        #: the model whose ids ``res_id`` holds in the ``ir.model.data`` call being normalised
        self._res_model: str | None = None
        #: check values hold no ids and only dates the scenario wrote: compared as they are
        self._check = False

    def step(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """All entries of one step, normalised (natural keys learnt from the whole step first)."""
        self._learn(entries)
        return [self.entry(e) for e in entries]

    def _learn(self, entries: list[dict[str, Any]]) -> None:
        keys: dict[str, dict[str, set[int]]] = {}
        for entry in entries:
            args, result = entry.get("args") or [], (entry.get("answer") or {}).get("result")
            if entry.get("service") != "object" or len(args) < 5 or not isinstance(result, list):
                continue
            for row in result:
                for space, key, record_id in _natural_keys(str(args[3]), row):
                    keys.setdefault(space, {}).setdefault(key, set()).add(record_id)
        for model, by_key in keys.items():
            ids = [i for found in by_key.values() for i in found]
            for key, found in by_key.items():
                # a key naming two records, or a record under two keys, names nothing
                if len(found) == 1 and ids.count(next(iter(found))) == 1:
                    self._named.setdefault(model, {})[next(iter(found))] = f"<{model}:{key}>"

    # placeholders ---------------------------------------------------------------
    def symbol(self, namespace: str, value: int) -> str:
        named = self._named.get(namespace, {}).get(value)
        if named is not None:
            return named
        table = self._ids.setdefault(namespace, {})
        if value not in table:
            table[value] = f"<{namespace}#{len(table) + 1}>"
        return table[value]

    @staticmethod
    def _uuid(match: re.Match[str]) -> str:
        found = match.group(0)
        return found if found.startswith(FIXED_UUID) else "<uuid>"

    def text(self, value: str) -> str:
        if TRACEBACK in value:
            value = self._traceback(value)
        if not self._check and DATETIME.match(value):
            return "<datetime>"
        if not self._check and DATE.match(value):
            return "<date>"
        value = UUID.sub(self._uuid, value)
        if self.session.url:
            value = value.replace(self.session.url.rstrip("/"), "<url>")
        if self.session.database:
            for quote in ("'", '"'):
                value = value.replace(f"{quote}{self.session.database}{quote}", "<db>")
        sequence = SEQUENCE.match(value)
        if sequence:
            return f"{sequence.group(1)}<n>"
        return RECORD_REF.sub(self._record_ref, value)

    def _record_ref(self, match: re.Match[str]) -> str:
        model, ids = match.group(1), [i.strip() for i in match.group(2).split(",")]
        symbols = [self.symbol(model, int(i)) for i in ids if i]
        return f"{model}({', '.join(symbols)},)"

    def ids(self, namespace: str, value: Any) -> Any:
        """An id, an id list or an ``[id, name]`` pair of ``namespace`` with symbols."""
        if _is_int(value):
            return self.symbol(namespace, value)
        if isinstance(value, list):
            if len(value) == 2 and _is_int(value[0]) and isinstance(value[1], str):
                return [self.symbol(namespace, value[0]), self.text(value[1])]
            if value and all(_is_int(v) for v in value):
                return [self.symbol(namespace, v) for v in value]
        return None

    def _namespace(self, key: str, model: str | None) -> str | None:
        """The namespace of the ids under ``key`` in data of ``model``."""
        if key == "id":
            return model
        if key == "res_id" and self._res_model:
            return self._res_model
        return _field_namespace(key)

    # values ---------------------------------------------------------------------
    def value(self, value: Any, model: str | None, key: str | None = None) -> Any:
        """``value`` found under ``key`` in data of ``model``, normalised."""
        if key is not None and not self._check:
            namespace = self._namespace(key, model)
            if namespace is not None:
                replaced = self.ids(namespace, value)
                if replaced is not None:
                    return replaced
                if key in X2MANY or key.endswith("_ids"):
                    commands = self._commands(value, namespace)
                    if commands is not None:
                        return commands
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return self._dict(value, model)
        if isinstance(value, list):
            leaf = None if self._check else self._leaf(value, model)
            if leaf is not None:
                return leaf
            return [self.value(v, model) for v in value]
        return value

    def _dict(self, value: dict[str, Any], model: str | None) -> dict[str, Any]:
        res_model = value.get("model") or value.get("res_model")
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k == "res_id" and isinstance(res_model, str) and _is_int(v):
                out[k] = self.symbol(res_model, v)
            elif "." in k and isinstance(v, list) and all(isinstance(r, dict) for r in v):
                out[k] = [self._dict(r, k) for r in v]  # {"pos.order": [records]}
            else:
                out[k] = self.value(v, model, k)
        return out

    def _commands(self, value: Any, namespace: str) -> list[Any] | None:
        """x2many commands: ``[0, 0, vals]``, ``[1, id, vals]``, ``[4, id]``, ``[6, 0, ids]`` …"""
        if not isinstance(value, list) or not value:
            return None
        if not all(isinstance(c, list) and c and _is_int(c[0]) and 0 <= c[0] <= 6 for c in value):
            return None
        commands = []
        for command in value:
            code, rest = command[0], list(command[1:])
            if code in (1, 2, 3, 4) and rest and _is_int(rest[0]):
                rest[0] = self.symbol(namespace, rest[0])
            if code == 6 and len(rest) == 2 and isinstance(rest[1], list):
                rest[1] = [self.symbol(namespace, i) if _is_int(i) else i for i in rest[1]]
            commands.append([code, *[self.value(r, namespace) for r in rest]])
        return commands

    def _leaf(self, value: list[Any], model: str | None) -> list[Any] | None:
        """A domain leaf ``[field, operator, value]``, its ids replaced when on an id field."""
        if len(value) != 3 or not isinstance(value[0], str) or value[1] not in DOMAIN_OPERATORS:
            return None
        namespace = self._namespace(value[0].split(".")[-1], model)
        operand = value[2]
        if namespace is not None:
            replaced = self.ids(namespace, operand)
            if replaced is not None or operand == []:
                return [value[0], value[1], replaced if replaced is not None else []]
        return [value[0], value[1], self.value(operand, model)]

    # entries --------------------------------------------------------------------
    def entry(self, entry: dict[str, Any]) -> dict[str, Any]:
        kind = entry.get("kind")
        if kind == "call":
            return self._call(entry)
        if kind == "check":
            self._check = True
            try:
                return {**entry, "value": self.value(entry["value"], None)}
            finally:
                self._check = False
        if kind == "outcome" and "error" in entry:
            error = dict(entry["error"])
            error["message"] = self.text(str(error["message"]))
            return {**entry, "error": error}
        return dict(entry)

    def _call(self, entry: dict[str, Any]) -> dict[str, Any]:
        service, method = entry.get("service"), entry.get("method")
        args = list(entry.get("args") or [])
        model: str | None = None
        odoo_method = ""
        self._res_model = None
        if service == "object" and len(args) >= 5:
            model, odoo_method = str(args[3]), str(args[4])
            if model == "ir.model.data":
                self._res_model = _domain_model(args)
            args = ["<db>", "<uid>", "<password>", *args[3:5], *self._rest(args[5:], model)]
            if odoo_method == "load":
                args = self._load(args, model)
        elif service == "common" and method in ("authenticate", "login") and len(args) >= 3:
            args = ["<db>", self.text(str(args[1])), "<password>", *self.value(args[3:], None)]
        else:
            args = self.value(args, None)
        answer = self._answer(dict(entry.get("answer") or {}), model, odoo_method, method)
        return {**entry, "args": args, "answer": answer}

    def _rest(self, rest: list[Any], model: str) -> list[Any]:
        """``[positional, kwargs]`` of ``execute_kw``: the first positional are ids or values."""
        out: list[Any] = []
        if rest:
            positional = list(rest[0]) if isinstance(rest[0], list) else rest[0]
            if isinstance(positional, list) and positional:
                head = positional[0]
                ids = self.ids(model, head) if not isinstance(head, str) else None
                first = ids if ids is not None else self.value(head, model)
                positional = [first, *[self.value(p, model) for p in positional[1:]]]
            out.append(positional)
        if len(rest) > 1:
            kwargs = rest[1]
            out.append(self._dict(kwargs, model) if isinstance(kwargs, dict) else kwargs)
        out.extend(self.value(r, model) for r in rest[2:])
        return out

    def _load(self, args: list[Any], model: str) -> list[Any]:
        """``load(fields, data)``: ``…/.id`` cells hold ids (comma-separated for x2many)."""
        if len(args) < 7 or not isinstance(args[6], dict):
            return args
        kwargs = dict(args[6])
        fields, data = kwargs.get("fields"), kwargs.get("data")
        if not isinstance(fields, list) or not isinstance(data, list):
            return args
        rows = []
        for row in data:
            cells = []
            for name, cell in zip(fields, row, strict=False):
                if str(name).endswith("/.id") and isinstance(cell, str) and cell:
                    namespace = _field_namespace(str(name)[:-4]) or str(name)[:-4]
                    parts = [p for p in cell.split(",") if p]
                    if all(p.isdigit() for p in parts):
                        cell = ",".join(self.symbol(namespace, int(p)) for p in parts)
                cells.append(cell)
            rows.append(cells)
        kwargs["data"] = rows
        return [*args[:6], kwargs, *args[7:]]

    def _answer(
        self, answer: dict[str, Any], model: str | None, odoo_method: str, method: Any
    ) -> dict[str, Any]:
        out = dict(answer)
        if "result" in out:
            result = out["result"]
            ids = self.ids(model, result) if model and odoo_method in ID_ANSWERS else None
            if method in ("authenticate", "login") and _is_int(result):
                out["result"] = "<uid>"
            elif ids is not None:
                out["result"] = ids
            elif model is not None and odoo_method == "load" and isinstance(result, dict):
                out["result"] = {
                    k: (self.ids(model, v) or v) if k == "ids" else self.value(v, model, k)
                    for k, v in result.items()
                }
            else:
                out["result"] = self.value(result, model)
        if isinstance(out.get("error"), dict):
            error = dict(out["error"])
            if isinstance(error.get("data"), dict) and "debug" in error["data"]:
                error["data"] = {**error["data"], "debug": "<traceback>"}
            out["error"] = self.value(error, model)
        if isinstance(out.get("fault"), dict):
            fault = dict(out["fault"])
            fault["faultString"] = self.text(str(fault.get("faultString", "")))
            out["fault"] = fault
        return out

    def _traceback(self, text: str) -> str:
        """What precedes a traceback, ``<traceback>`` and its last line (the exception)."""
        before, _, rest = text.partition(TRACEBACK)
        lines = [line for line in rest.strip().splitlines() if line.strip()]
        return f"{before}<traceback>\n{lines[-1] if len(lines) > 1 else ''}"
