"""The server-side exceptions Odoo raises, reproduced so each protocol can render them.

These are not storelink errors: they stand for what happens *inside* Odoo, and
each carries the dotted name Odoo's serializer puts on the wire
(``odoo.exceptions.AccessError``, ``psycopg2.errors.SerializationFailure`` …).
The protocol modules turn them into XML-RPC faults, JSON-RPC error objects or
JSON-2 error responses exactly as Odoo's own controllers do.
"""

from __future__ import annotations

from typing import ClassVar


class OdooServerError(Exception):
    """Anything raised while serving a call; ``odoo_name`` is the name on the wire."""

    odoo_name: ClassVar[str] = "builtins.Exception"
    #: status a JSON-2 response carries for this error
    http_status: ClassVar[int] = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UserError(OdooServerError):
    odoo_name = "odoo.exceptions.UserError"
    http_status = 422


class ValidationError(UserError):
    odoo_name = "odoo.exceptions.ValidationError"


class AccessError(UserError):
    odoo_name = "odoo.exceptions.AccessError"
    http_status = 403


class AccessDenied(UserError):
    odoo_name = "odoo.exceptions.AccessDenied"
    http_status = 401

    def __init__(self, message: str = "Access Denied") -> None:
        super().__init__(message)


class MissingError(UserError):
    odoo_name = "odoo.exceptions.MissingError"
    http_status = 404


class ProgrammingError(OdooServerError):
    """A Python error inside Odoo (bad argument, unknown field): not a business error."""

    def __init__(self, message: str, python_type: str = "ValueError") -> None:
        super().__init__(message)
        #: the Python exception Odoo would have raised (``builtins.ValueError`` …)
        self.wire_name = f"builtins.{python_type}"


class DatabaseMissing(OdooServerError):
    """``psycopg2.OperationalError`` raised when the named database does not exist."""

    odoo_name = "psycopg2.OperationalError"

    def __init__(self, db: str) -> None:
        super().__init__(
            'connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: '
            f'FATAL:  database "{db}" does not exist\n'
        )


class SerializationFailure(OdooServerError):
    """What escapes Odoo's service layer once its concurrency retries are exhausted."""

    odoo_name = "psycopg2.errors.SerializationFailure"

    def __init__(self) -> None:
        super().__init__("could not serialize access due to concurrent update\n")


class HttpNotFound(OdooServerError):
    """``werkzeug.exceptions.NotFound`` (JSON-2: unknown model or method)."""

    odoo_name = "werkzeug.exceptions.NotFound"
    http_status = 404


class HttpUnprocessable(OdooServerError):
    """``werkzeug.exceptions.UnprocessableEntity`` (JSON-2: arguments do not bind)."""

    odoo_name = "werkzeug.exceptions.UnprocessableEntity"
    http_status = 422


class HttpUnauthorized(OdooServerError):
    """``werkzeug.exceptions.Unauthorized`` (JSON-2: missing or wrong API key)."""

    odoo_name = "werkzeug.exceptions.Unauthorized"
    http_status = 401


def wire_name(exc: BaseException) -> str:
    """The dotted exception name Odoo's ``serialize_exception`` would report."""
    if isinstance(exc, ProgrammingError):
        return exc.wire_name
    if isinstance(exc, OdooServerError):
        return exc.odoo_name
    cls = type(exc)
    return f"{cls.__module__}.{cls.__name__}"
