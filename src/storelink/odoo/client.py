"""An authenticated Odoo session: one backend, the dialect, retries, breaker, counters.

:func:`connect` detects the version through ``common.version``, picks the
protocol (JSON-2 on 19+, JSON-RPC below, XML-RPC on request) and logs in.
:class:`OdooClient` then runs ORM calls with values made JSON/XML-safe
(``Decimal`` → float, aware ``datetime`` → Odoo's UTC ``"%Y-%m-%d %H:%M:%S"``),
behind the circuit breaker and the retry policy, counting round trips.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar

from prometheus_client import Counter

from storelink.errors import ConfigError, OdooError, OdooProtocolError
from storelink.odoo.backend import Call, Credentials, Endpoint, RpcBackend
from storelink.odoo.backends import Json2Backend, JsonRpcBackend, XmlRpcBackend
from storelink.odoo.breaker import CircuitBreaker
from storelink.odoo.retry import RetryPolicy, is_transient
from storelink.odoo.versions import Dialect, Series, dialect_for
from storelink.ops.logging import get_logger
from storelink.ops.metrics import REGISTRY

T = TypeVar("T")
Protocol = Literal["auto", "jsonrpc", "xmlrpc", "json2"]
ODOO_DATETIME = "%Y-%m-%d %H:%M:%S"

ODOO_CALLS = Counter(
    "storelink_odoo_calls_total",
    "Odoo RPC round trips by model, method and outcome",
    ["model", "method", "outcome"],
    registry=REGISTRY,
)

log = get_logger(__name__)


def to_odoo(value: Any) -> Any:
    """``value`` in a form every protocol carries (no Decimal, no datetime objects)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime sent to Odoo")
        return value.astimezone(UTC).strftime(ODOO_DATETIME)
    if isinstance(value, Mapping):
        return {str(k): to_odoo(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_odoo(v) for v in value]
    return value


def from_odoo_number(value: Any) -> Decimal:
    """An Odoo float (``False`` for empty) as the shortest exact Decimal: 12.0 → 12, 0.1 → 0.1."""
    if value is None or value is False:
        return Decimal(0)
    number = Decimal(str(value)).normalize()
    # normalize() writes 1200 as 1.2E+3; quantize back to an integer exponent when whole
    return number.quantize(Decimal(1)) if number == number.to_integral_value() else number


def from_odoo_datetime(value: Any) -> datetime | None:
    """Odoo's naive-UTC datetime string as an aware datetime (``False`` → ``None``)."""
    if not value:
        return None
    return datetime.strptime(str(value)[:19], ODOO_DATETIME).replace(tzinfo=UTC)


@dataclass(frozen=True)
class ConnectOptions:
    """Everything :func:`connect` needs; built from :class:`~storelink.config.OdooSettings`."""

    url: str
    database: str
    login: str
    password: str | None = None
    api_key: str | None = None
    version: Literal["auto", "16", "17", "18", "19"] = "auto"
    protocol: Protocol = "auto"
    timeout_s: float = 30.0
    batch_size: int = 200
    transport: Any = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker: CircuitBreaker | None = None


class OdooClient:
    """ORM calls on one authenticated backend."""

    def __init__(
        self,
        backend: RpcBackend,
        dialect: Dialect,
        uid: int,
        *,
        retry: RetryPolicy,
        breaker: CircuitBreaker,
        batch_size: int = 200,
        round_trips: int = 0,
        target: str = "",
    ) -> None:
        #: which Odoo database this client writes to (``<url>#<database>``)
        self.target = target
        self.backend = backend
        self.dialect = dialect
        self.uid = uid
        self.retry = retry
        self.breaker = breaker
        self.batch_size = batch_size
        #: RPC requests sent (including retries, version and login)
        self.round_trips = round_trips

    @property
    def protocol(self) -> str:
        return self.backend.name

    async def _send(self, call: Call) -> Any:
        self.breaker.before_call()
        self.round_trips += 1
        try:
            result = await self.backend.execute(call)
        except OdooError as exc:
            ODOO_CALLS.labels(call.model, call.method, type(exc).__name__).inc()
            if is_transient(exc):
                self.breaker.record_failure()
            else:
                self.breaker.record_success()
            raise
        ODOO_CALLS.labels(call.model, call.method, "ok").inc()
        self.breaker.record_success()
        return result

    async def call(
        self,
        model: str,
        method: str,
        ids: Sequence[int] | None = None,
        *,
        context: Mapping[str, Any] | None = None,
        retry: bool = True,
        **params: Any,
    ) -> Any:
        """``model.method(**params)`` on ``ids``, retried on transient failures if ``retry``.

        Pass ``retry=False`` for calls that are not idempotent (``create`` of a
        record without a unique key) and retry the surrounding idempotent
        operation instead.
        """
        request = Call(
            model,
            method,
            tuple(int(i) for i in ids) if ids is not None else None,
            to_odoo(params),
            to_odoo(context or {}),
        )
        if not retry:
            return await self._send(request)
        return await self.retry.run(lambda: self._send(request))

    async def retrying(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run a whole idempotent ``operation`` again on transient failures."""
        return await self.retry.run(operation)

    async def search_read(
        self,
        model: str,
        domain: list[Any],
        fields: list[str],
        *,
        order: str | None = None,
        limit: int | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Records matching ``domain``, read in pages of ``batch_size`` (all unless ``limit``)."""
        rows: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = self.batch_size if limit is None else min(self.batch_size, limit - len(rows))
            params: dict[str, Any] = {
                "domain": domain,
                "fields": fields,
                "offset": offset,
                "limit": page,
            }
            if order:
                params["order"] = order
            chunk = await self.call(model, "search_read", context=context, **params)
            if not isinstance(chunk, list):
                raise OdooProtocolError(f"{model}.search_read did not return a list")
            rows.extend(chunk)
            offset += len(chunk)
            if len(chunk) < page or (limit is not None and len(rows) >= limit):
                return rows

    async def create(
        self,
        model: str,
        values: Sequence[Mapping[str, Any]],
        *,
        context: Mapping[str, Any] | None = None,
        retry: bool = False,
    ) -> list[int]:
        """Create records in batches of ``batch_size`` (one round trip each); their ids in order."""
        ids: list[int] = []
        for start in range(0, len(values), self.batch_size):
            chunk = list(values[start : start + self.batch_size])
            result = await self.call(model, "create", context=context, retry=retry, vals_list=chunk)
            ids.extend([int(result)] if isinstance(result, int) else [int(i) for i in result])
        return ids

    async def aclose(self) -> None:
        await self.backend.aclose()


def _backend(protocol: str, endpoint: Endpoint) -> RpcBackend:
    if protocol == "json2":
        return Json2Backend(endpoint)
    if protocol == "xmlrpc":
        return XmlRpcBackend(endpoint)
    return JsonRpcBackend(endpoint)


async def connect(options: ConnectOptions) -> OdooClient:
    """Detect the version, choose the protocol, log in; an :class:`OdooClient` ready to call."""
    endpoint = Endpoint(options.url, options.timeout_s, options.transport)
    breaker = options.breaker or CircuitBreaker(options.url)
    round_trips = 0
    if options.version == "auto":
        probe = _backend("xmlrpc" if options.protocol == "xmlrpc" else "jsonrpc", endpoint)
        try:
            breaker.before_call()
            round_trips += 1
            info = await options.retry.run(probe.version)
        finally:
            await probe.aclose()
        dialect = dialect_for(info)
    else:
        series: Series = options.version
        dialect = Dialect(series)
    protocol = dialect.default_protocol if options.protocol == "auto" else options.protocol
    if protocol == "json2" and not options.api_key:
        if options.protocol == "json2":
            raise ConfigError("odoo.api_key is required for the JSON-2 protocol")
        log.warning("odoo.json2_needs_api_key", fallback="jsonrpc", version=dialect.series)
        protocol = "jsonrpc"
    secret = options.api_key or options.password
    if not secret:
        raise ConfigError("odoo.password or odoo.api_key is required")
    backend = _backend(protocol, endpoint)
    credentials = Credentials(options.database, options.login, secret)
    try:
        round_trips += 1
        uid = await options.retry.run(lambda: backend.authenticate(credentials))
    except BaseException:
        await backend.aclose()
        raise
    return OdooClient(
        backend,
        dialect,
        uid,
        retry=options.retry,
        breaker=breaker,
        batch_size=options.batch_size,
        round_trips=round_trips,
        target=f"{options.url.rstrip('/')}#{options.database}",
    )
