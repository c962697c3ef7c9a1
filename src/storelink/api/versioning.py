"""The ``/v1`` versioning policy in code: announcing deprecations on a route.

``/v1`` is stable: fields and routes are only added. A route to be removed is
first marked deprecated; it then answers with ``Deprecation`` (RFC 9745, the
date it was deprecated) and ``Sunset`` (RFC 8594, the date it stops working)
headers and a ``Link`` to its successor, and is flagged in the OpenAPI document::

    @router.get("/v1/old", deprecated=True,
                dependencies=[Depends(deprecation(since=..., sunset=..., link="/v1/new"))])
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import format_datetime

from fastapi import Response


def deprecation(
    *, since: datetime, sunset: datetime, link: str | None = None
) -> Callable[[Response], Awaitable[None]]:
    """A route dependency adding the deprecation headers to every answer."""
    if sunset <= since:
        raise ValueError("sunset must come after the deprecation date")
    deprecated_at = f"@{int(since.astimezone(UTC).timestamp())}"
    sunset_at = format_datetime(sunset.astimezone(UTC), usegmt=True)

    async def announce(response: Response) -> None:
        response.headers["Deprecation"] = deprecated_at
        response.headers["Sunset"] = sunset_at
        if link is not None:
            response.headers["Link"] = f'<{link}>; rel="successor-version"'

    return announce
