"""An Odoo emulator speaking JSON-RPC, XML-RPC and (19+) JSON-2 over real HTTP.

Used by the sandbox and the tests when no real Odoo is configured::

    emu = OdooEmulator(version="17")
    async with serve_emulator(emu) as url:
        ...  # point the connector at url, db "storelink", admin/admin or the API key

It follows Odoo's source for the models and methods the connector uses: domains
(``&``/``|``/``!``, dotted paths, ``child_of``), ``write_date`` (one timestamp per
call, shared by every record it writes, stored with microseconds but read to the
second, so ``write_date > "…:05"`` matches ``…:05.3`` as in PostgreSQL), external
ids and ``load``, quants in inventory mode and ``action_apply_inventory``, sale
confirmation creating the delivery, POS order sync with Odoo's dedup per version,
``base.automation`` webhooks (17+), the error shapes of each protocol, and fault
injection.

Where it differs from Odoo (knowingly):

* One process, one database, in memory. Each call runs atomically under one lock
  (a failed call rolls back), so two concurrent calls never interleave — real
  Odoo runs REPEATABLE READ transactions that can; use
  ``faults.fail_next(kind="serialization")`` to see what escapes when they clash.
  Odoo's internal retry of serialization failures is not replayed: an injected
  one is reported as if every retry had failed.
* Only the fields and methods listed in ``models/`` exist; computed fields are
  computed on read and are searchable; there are no record rules (multi-company).
* Products have exactly one variant; ``default_code``/``barcode`` are stored on
  the template and shared through ``_inherits``.
* Stock: no ``stock.move.line``, lots, packages or routes; from 17 a delivery
  reserves only what is free at its source (nothing free: it stays ``confirmed``),
  quants are kept at every non-view location (inventory adjustment, customers);
  validating a partial transfer creates no backorder. In 16, ``button_validate``
  without done quantities returns the immediate-transfer wizard action, as Odoo 16 does.
* POS: amounts are taken as sent (no tax recomputation); no accounting entries
  at session close; up to 17 orders move stock when their session closes, as
  ``res.company.point_of_sale_update_stock_quantities``'s default ``"closing"``
  says (set it to ``"real"`` for moves at once), from 18 at once; a session with
  cash control waits in ``opening_control`` for ``set_cashbox_pos`` (17) /
  ``set_opening_control`` (18).
* Latency: as fast as it can by default; ``latency=`` (``storelink odoo emulate
  --latency real``) answers as slowly as the measured real Odoo (:mod:`storelink.emulator.pace`).
* Webhooks are posted after the call commits (Odoo posts during the transaction).
* Version differences checked against Odoo's source or its upgrade scripts:
  ``sale.order.line.tax_id``/``product_uom`` -> ``tax_ids``/``product_uom_id`` and
  ``uom.category`` removed (19), ``has_group`` a record method and
  ``check_access_rights`` deprecated (18); the delete/archive rules and messages
  named in ``models/pos.py``, ``sale.py`` and ``product.py`` docstrings, the
  foreign-key refusal of ``odoo/service/model.py`` ``_as_validation_error`` (16-18),
  ``account.move.line`` ``move_id`` cascade / ``product_id`` restrict. From memory,
  unverified: ``formatted_read_group`` (19), ``pos.order.uuid`` only from 18,
  ``res.partner.mobile`` gone in 19, the JSON-2 error statuses.
* Not verified from source (kept as written, read from third-party copies or not
  found for that series): the ``stock`` archive/delete rules (``stock_warehouse.py``
  and ``stock_location.py`` ``write``, ``stock_picking.py`` ``unlink``; the
  ``stock.move`` rule and wording were seen only in overrides of the 15/16 hook, and
  17+ may refuse only moves chained to others); the ``sale.order`` delete wording
  (seen in ≤14 source and copies); the 19 foreign-key wording (later Odoo rewrote
  the message; the 19.0 text was not identified, the 16-18 one is used); 17's
  ``res.partner`` POS rule (16's open-session rule is used) and 17's product POS
  wording (the 16 one, as in an ``odoo/odoo`` ``product.py`` with
  ``pos_categ_ids``); ``pos.payment`` cascading from 19 (seen in a post-18.0 copy);
  the ``pos_reference`` 19 generates when the client sends none (left empty here);
  ``_check_if_no_draft_orders`` in ``_validate_session`` (not emulated).
* ``/web/session`` and the ``db`` service beyond ``list`` are not served. Outage
  is a proxy's 503, not a refused connection.
"""

from __future__ import annotations

from storelink.emulator.delivery import WebhookDelivery
from storelink.emulator.emulator import OdooEmulator
from storelink.emulator.faults import Faults
from storelink.emulator.models import SUPPORTED_VERSIONS
from storelink.emulator.seed import ADMIN_LOGIN, ADMIN_PASSWORD, ADMIN_UID, API_KEY
from storelink.emulator.server import serve, serve_emulator
from storelink.emulator.stats import Stats

__all__ = [
    "ADMIN_LOGIN",
    "ADMIN_PASSWORD",
    "ADMIN_UID",
    "API_KEY",
    "SUPPORTED_VERSIONS",
    "Faults",
    "OdooEmulator",
    "Stats",
    "WebhookDelivery",
    "serve",
    "serve_emulator",
]
