"""The end-of-run checks: does Odoo (and every store and partner) agree with what the tills did?

:func:`verify` is pure: it compares what was observed (the tills' ledger of
transactions answered 201, Odoo read back through its API, each store's local
state, each partner receiver's log) and returns one :class:`CheckResult` per
promise. A check whose inputs could not be gathered (a part missing, a reader
failing) is reported ``not_run`` with the reason, never as passed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

#: (kind, store, transaction uuid) — the idempotency key of a till transaction
TxnKey = tuple[Literal["sale", "return"], str, str]
#: store code -> sku -> quantity or amount
PerStore = Mapping[str, Mapping[str, Decimal]]

#: how many offending items a failed check lists in the report
DETAIL_LIMIT = 25


@dataclass(frozen=True)
class Delivery:
    """One webhook a partner receiver accepted (2xx), in the order it arrived."""

    event_id: str
    partitionkey: str


@dataclass(frozen=True)
class PartnerObservation:
    """What one partner should have received and what it did."""

    #: event ids the partner subscribed to, in publication order, with their keys
    expected: Sequence[Delivery]
    #: every accepted delivery, in arrival order (retries of one id may repeat)
    received: Sequence[Delivery]
    #: event id -> last error, for deliveries the hub dead-lettered
    dead_lettered: Mapping[str, str]
    #: whether the endpoint asked for ordered-per-key delivery
    ordered: bool = True


@dataclass(frozen=True)
class ChannelObservation:
    """The web channel's orders: what the hub answered 201 for and what Odoo holds."""

    #: external refs of the orders the hub answered 201 for
    placed: frozenset[str]
    #: one ``(external ref, state)`` per channel ``sale.order`` in Odoo; None when unreadable
    in_odoo: Sequence[tuple[str, str]] | None
    #: refs whose answer never came: allowed in Odoo at most once, not required
    abandoned: frozenset[str] = frozenset()


#: ``sale.order`` states of a confirmed order
CONFIRMED_STATES = frozenset({"sale", "done"})


@dataclass(frozen=True)
class Observations:
    """Everything :func:`verify` compares. ``None`` means "could not be observed" plus why."""

    recorded: Mapping[TxnKey, Mapping[str, Decimal]]
    #: keys of the till transactions found in Odoo, one entry per Odoo record
    in_odoo: Sequence[TxnKey] | None
    store_stock: PerStore | None
    odoo_stock: PerStore | None
    store_prices: PerStore | None
    odoo_prices: PerStore | None
    partners: Mapping[str, PartnerObservation] | None
    #: the simulated eCommerce channel; None when the run had none
    channel: ChannelObservation | None = None
    #: why an input is ``None``: input name -> reason
    unavailable: Mapping[str, str] = field(default_factory=dict)
    #: HTTP answers the tills, the channel and the agents got, by status (``"error"``: none);
    #: None when the run did not count them
    http: Mapping[str, int] | None = None


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Literal["passed", "failed", "not_run"]
    summary: str
    details: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclass(frozen=True)
class Verification:
    checks: tuple[CheckResult, ...]
    counts: Mapping[str, int]

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)


def _not_run(name: str, observations: Observations, *inputs: str) -> CheckResult:
    reasons = [f"{i}: {observations.unavailable.get(i, 'not observed')}" for i in inputs]
    return CheckResult(name, "not_run", "could not run", tuple(reasons))


def _result(name: str, problems: list[str], ok: str, bad: str) -> CheckResult:
    if not problems:
        return CheckResult(name, "passed", ok)
    details = problems[:DETAIL_LIMIT]
    if len(problems) > DETAIL_LIMIT:
        details.append(f"... and {len(problems) - DETAIL_LIMIT} more")
    return CheckResult(name, "failed", bad, tuple(details))


def _fmt(key: TxnKey) -> str:
    return f"{key[0]} {key[1]}/{key[2]}"


def _compare(label: str, expected: PerStore, actual: PerStore) -> list[str]:
    problems = []
    for store in sorted(set(expected) | set(actual)):
        mine, theirs = expected.get(store, {}), actual.get(store, {})
        for sku in sorted(set(mine) | set(theirs)):
            a, b = mine.get(sku, Decimal(0)), theirs.get(sku, Decimal(0))
            if a != b:
                problems.append(f"{store} {sku}: store {label} {a}, Odoo {b}")
    return problems


def _order_violations(partner: PartnerObservation) -> list[str]:
    """Keys whose first deliveries arrived out of publication order."""
    position = {d.event_id: n for n, d in enumerate(partner.expected)}
    last: dict[str, int] = {}
    problems = []
    seen: set[str] = set()
    for delivery in partner.received:
        if delivery.event_id in seen or delivery.event_id not in position:
            continue  # an honest retry of a delivered id, or one nobody expected
        seen.add(delivery.event_id)
        n = position[delivery.event_id]
        previous = last.get(delivery.partitionkey, -1)
        if n < previous:
            problems.append(
                f"{delivery.partitionkey}: {delivery.event_id} arrived after a later event"
            )
        last[delivery.partitionkey] = max(previous, n)
    return problems


def verify(observations: Observations) -> Verification:
    """Run every check over ``observations``."""
    recorded = set(observations.recorded)
    counts = Counter[str](sales_recorded=len(recorded))
    checks: list[CheckResult] = []

    if observations.in_odoo is None:
        checks.append(_not_run("sales_exactly_once", observations, "in_odoo"))
        checks.append(_not_run("no_unknown_records", observations, "in_odoo"))
    else:
        found = Counter(observations.in_odoo)
        duplicates = sorted(k for k, n in found.items() if n > 1 and k in recorded)
        missing = sorted(recorded - set(found))
        unknown = sorted(set(found) - recorded)
        counts["sales_in_odoo"] = len(recorded & set(found))
        counts["duplicates"] = sum(found[k] - 1 for k in duplicates)
        counts["missing"] = len(missing)
        checks.append(
            _result(
                "sales_exactly_once",
                [f"{_fmt(k)} is in Odoo {found[k]} times" for k in duplicates]
                + [f"{_fmt(k)} answered 201 but is not in Odoo" for k in missing],
                f"all {len(recorded)} till transactions are in Odoo exactly once",
                f"{len(duplicates)} duplicated, {len(missing)} missing",
            )
        )
        checks.append(
            _result(
                "no_unknown_records",
                [f"{_fmt(k)} is in Odoo but no till made it" for k in unknown],
                "every Odoo record comes from a till",
                f"{len(unknown)} records in Odoo that no till made",
            )
        )

    if observations.store_stock is None or observations.odoo_stock is None:
        checks.append(_not_run("stock_matches", observations, "store_stock", "odoo_stock"))
    else:
        problems = _compare("stock", observations.store_stock, observations.odoo_stock)
        counts["stock_mismatches"] = len(problems)
        checks.append(
            _result(
                "stock_matches",
                problems,
                "every store's stock equals Odoo's on-hand for its location",
                f"{len(problems)} store/SKU positions differ",
            )
        )

    if observations.store_prices is None or observations.odoo_prices is None:
        checks.append(_not_run("prices_current", observations, "store_prices", "odoo_prices"))
    else:
        problems = _compare("price", observations.store_prices, observations.odoo_prices)
        counts["price_mismatches"] = len(problems)
        checks.append(
            _result(
                "prices_current",
                problems,
                "every store has the latest prices",
                f"{len(problems)} store/SKU prices are stale",
            )
        )

    if observations.partners is None:
        checks.append(_not_run("webhooks_delivered", observations, "partners"))
        checks.append(_not_run("webhook_order", observations, "partners"))
    else:
        lost: list[str] = []
        unexplained: list[str] = []
        violations: list[str] = []
        for name, partner in sorted(observations.partners.items()):
            received = {d.event_id for d in partner.received}
            for delivery in partner.expected:
                if delivery.event_id in received:
                    counts["webhooks_delivered"] += 1
                elif delivery.event_id in partner.dead_lettered:
                    counts["webhooks_dead_lettered"] += 1
                    if not partner.dead_lettered[delivery.event_id].strip():
                        unexplained.append(
                            f"{name}: {delivery.event_id} dead-lettered without reason"
                        )
                else:
                    lost.append(
                        f"{name}: {delivery.event_id} ({delivery.partitionkey}) never arrived"
                    )
            if partner.ordered:
                violations += [f"{name}: {v}" for v in _order_violations(partner)]
        counts["order_violations"] = len(violations)
        checks.append(
            _result(
                "webhooks_delivered",
                lost + unexplained,
                "every subscribed event was delivered or dead-lettered with its reason",
                f"{len(lost)} lost, {len(unexplained)} dead-lettered without reason",
            )
        )
        checks.append(
            _result(
                "webhook_order",
                violations,
                "per-key order held at every receiver",
                f"{len(violations)} out-of-order deliveries",
            )
        )
    if observations.channel is not None:
        checks.append(_channel_check(observations, observations.channel, counts))
    if observations.http is not None:
        checks.append(_server_errors_check(observations.http, counts))
    return Verification(tuple(checks), dict(counts))


def _server_errors_check(http: Mapping[str, int], counts: Counter[str]) -> CheckResult:
    """Saturation is answered with 503/429 and Retry-After, never with another 5xx."""
    errors = sorted(
        (status, n) for status, n in http.items() if status.startswith("5") and status != "503"
    )
    counts["http_5xx"] = sum(n for _, n in errors)
    counts["http_503"] = http.get("503", 0)
    counts["http_429"] = http.get("429", 0)
    return _result(
        "no_server_errors",
        [f"{n} answers with status {status}" for status, n in errors],
        f"no 5xx but 503 ({counts['http_503']} busy, {counts['http_429']} over limit)",
        f"{counts['http_5xx']} server errors",
    )


def _channel_check(
    observations: Observations, channel: ChannelObservation, counts: Counter[str]
) -> CheckResult:
    """Every order answered 201 is in Odoo exactly once, confirmed; nothing else is."""
    name = "channel_orders_exactly_once"
    counts["channel_orders_placed"] = len(channel.placed)
    if channel.in_odoo is None:
        return _not_run(name, observations, "channel_in_odoo")
    found = Counter(ref for ref, _ in channel.in_odoo)
    unconfirmed = sorted(
        {ref for ref, state in channel.in_odoo if state not in CONFIRMED_STATES} & channel.placed
    )
    duplicates = sorted(r for r, n in found.items() if n > 1)
    missing = sorted(channel.placed - set(found))
    unknown = sorted(set(found) - channel.placed - channel.abandoned)
    counts["channel_orders_in_odoo"] = len(channel.placed & set(found))
    counts["channel_orders_duplicates"] = sum(found[r] - 1 for r in duplicates)
    counts["channel_orders_missing"] = len(missing)
    return _result(
        name,
        [f"order {r} is in Odoo {found[r]} times" for r in duplicates]
        + [f"order {r} answered 201 but is not in Odoo" for r in missing]
        + [f"order {r} is in Odoo but not confirmed" for r in unconfirmed]
        + [f"order {r} is in Odoo but the channel never placed it" for r in unknown],
        f"all {len(channel.placed)} channel orders are confirmed in Odoo exactly once",
        f"{len(duplicates)} duplicated, {len(missing)} missing, "
        f"{len(unconfirmed)} unconfirmed, {len(unknown)} unknown channel orders",
    )
