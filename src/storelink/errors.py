"""Every error storelink raises on purpose, in one hierarchy.

Callers catch the most specific type they can act on; the CLI and the API turn
any :class:`StorelinkError` into one clear line (CLI) or an RFC 9457 problem
document (API), never a traceback. Errors carry their context as keyword
arguments (``field=``, ``store=``, ``model=`` …) available as ``.context``, and
transport errors are chained to their cause with ``raise … from exc``.

::

    StorelinkError
    ├── ConfigError                  bad configuration file or environment (exit 2)
    │   └── UsageError               a command line that cannot be carried out (exit 2)
    ├── ValidationError              input that breaks a rule; names the field
    ├── NotFoundError                no such record (also hides records a caller may not see)
    ├── ConflictError                a write that contradicts an earlier one
    │   └── IdempotencyConflictError same idempotency key, different request
    ├── AuthError
    │   ├── AuthenticationError      missing, expired or forged credentials
    │   └── PermissionDeniedError    authenticated, but not allowed
    ├── RateLimitedError             too many requests; carries retry_after
    ├── StorageError                 the database failed or is unreachable
    │   └── MigrationError           schema migrations could not be applied
    ├── BusError                     the event log
    │   ├── PublishError             an event could not be appended
    │   └── ConsumerError            a consumer group could not be served
    ├── OdooError                    anything about talking to Odoo
    │   ├── OdooTransportError       network, timeout, 502/503/504 (retryable)
    │   ├── OdooConcurrencyError     serialization / concurrent update (retryable)
    │   ├── OdooAuthenticationError  wrong database, login, password or API key
    │   ├── OdooProtocolError        an answer that is not what the protocol promises
    │   ├── CircuitOpenError         the breaker is open; Odoo is not being called
    │   └── OdooBusinessError        Odoo refused the call (never retried)
    │       ├── OdooAccessError      odoo.exceptions.AccessError / AccessDenied
    │       ├── OdooValidationError  odoo.exceptions.ValidationError
    │       ├── OdooUserError        odoo.exceptions.UserError
    │       └── OdooMissingError     odoo.exceptions.MissingError
    ├── WebhookError
    │   ├── UnsafeURLError           an endpoint URL refused by the SSRF rules
    │   ├── SignatureError           an inbound payload failed verification
    │   │   ├── StaleTimestampError  webhook-timestamp outside the 5-minute tolerance
    │   │   └── ReplayedWebhookError a webhook-id already accepted from that source
    │   └── DeliveryError            an outbound attempt failed
    ├── SyncError                    store agent <-> hub synchronisation
    │   ├── HubUnreachableError      the hub cannot be reached right now (retryable)
    │   └── CursorExpiredError       a delta cursor too old to resume from; resync in full
    └── SandboxError                 a sandbox run could not set up or drive its estate
"""

from __future__ import annotations

from typing import Any, ClassVar


class StorelinkError(Exception):
    """Root of every deliberate storelink error.

    ``message`` is one human sentence; keyword arguments are kept as context::

        raise ValidationError("quantity must be positive", field="lines[0].quantity")
    """

    #: process exit code the CLI uses for this kind of error
    exit_code: ClassVar[int] = 1
    #: whether retrying the same operation later may succeed
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context: dict[str, Any] = context

    def __str__(self) -> str:
        return self.message


class ConfigError(StorelinkError):
    """The configuration file or environment cannot be used."""

    exit_code = 2

    def __init__(self, message: str, *, problems: list[str] | None = None, **context: Any):
        super().__init__(message, **context)
        #: one line per problem, each naming the key and what is wrong
        self.problems: list[str] = problems or [message]


class UsageError(ConfigError):
    """A command line asks for something that cannot be done."""


class ValidationError(StorelinkError):
    """Input breaks a rule. ``field`` names the offending field (a JSON pointer or dotted path)."""

    def __init__(self, message: str, *, field: str | None = None, **context: Any) -> None:
        super().__init__(message, field=field, **context)
        self.field = field


class NotFoundError(StorelinkError):
    """No such record, or one the caller may not know exists."""


class ConflictError(StorelinkError):
    """A write contradicts an earlier one."""


class IdempotencyConflictError(ConflictError):
    """The same idempotency key was used with a different request."""


class AuthError(StorelinkError):
    """Base of authentication and authorisation failures."""


class AuthenticationError(AuthError):
    """Credentials are missing, expired, or forged."""


class PermissionDeniedError(AuthError):
    """The caller is known but may not do this."""


class RateLimitedError(StorelinkError):
    """Too many requests; ``retry_after`` seconds until the next one is allowed."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float, **context: Any) -> None:
        super().__init__(message, retry_after=retry_after, **context)
        self.retry_after = retry_after


class StorageError(StorelinkError):
    """The database failed or cannot be reached."""

    retryable = True


class MigrationError(StorageError):
    """Schema migrations could not be applied."""

    retryable = False


class BusError(StorelinkError):
    """The event log failed."""


class PublishError(BusError):
    """An event could not be appended to the log."""

    retryable = True


class ConsumerError(BusError):
    """A consumer group could not be served."""


class OdooError(StorelinkError):
    """Anything that went wrong talking to Odoo."""


class OdooTransportError(OdooError):
    """The network, a timeout, or a 502/503/504 stood between us and Odoo."""

    retryable = True


class OdooConcurrencyError(OdooError):
    """Odoo's database reported a serialization failure or concurrent update."""

    retryable = True


class OdooAuthenticationError(OdooError):
    """Odoo rejected the database, login, password or API key."""


class OdooProtocolError(OdooError):
    """Odoo answered something the protocol does not allow."""


class CircuitOpenError(OdooError):
    """The circuit breaker is open: calls are refused until it half-opens."""

    retryable = True


class OdooBusinessError(OdooError):
    """Odoo refused the call for a business reason; retrying will not help.

    ``odoo_exception`` is Odoo's exception name (e.g. ``odoo.exceptions.UserError``)
    and the message is Odoo's own.
    """

    def __init__(self, message: str, *, odoo_exception: str | None = None, **context: Any):
        super().__init__(message, odoo_exception=odoo_exception, **context)
        self.odoo_exception = odoo_exception


class OdooAccessError(OdooBusinessError):
    """``odoo.exceptions.AccessError`` / ``AccessDenied``."""


class OdooValidationError(OdooBusinessError):
    """``odoo.exceptions.ValidationError``."""


class OdooUserError(OdooBusinessError):
    """``odoo.exceptions.UserError``."""


class OdooMissingError(OdooBusinessError):
    """``odoo.exceptions.MissingError``: the record does not exist (any more)."""


class WebhookError(StorelinkError):
    """Base of webhook delivery and intake errors."""


class UnsafeURLError(WebhookError):
    """An endpoint URL is refused by the SSRF rules."""


class SignatureError(WebhookError):
    """An inbound webhook failed signature, timestamp or replay checks."""


class StaleTimestampError(SignatureError):
    """An inbound webhook's timestamp is too far from the hub's clock."""


class ReplayedWebhookError(SignatureError):
    """An inbound webhook-id was already accepted from the same source."""


class DeliveryError(WebhookError):
    """An outbound delivery attempt failed."""

    retryable = True


class SyncError(StorelinkError):
    """Synchronisation between a store agent and the hub failed."""


class HubUnreachableError(SyncError):
    """The hub cannot be reached right now; the agent keeps queueing."""

    retryable = True


class CursorExpiredError(SyncError):
    """A delta cursor is older than the hub can resume from: the agent resyncs in full."""


class SandboxError(StorelinkError):
    """The sandbox could not set up or drive its simulated estate (a child process, a service)."""
