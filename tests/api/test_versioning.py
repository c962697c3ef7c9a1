"""Deprecation and Sunset headers on a deprecated route."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx2
import pytest
from fastapi import Depends, FastAPI

from storelink.api.versioning import deprecation


async def test_deprecated_route_announces_itself() -> None:
    app = FastAPI()
    since = datetime(2026, 1, 1, tzinfo=UTC)
    sunset = datetime(2026, 7, 1, tzinfo=UTC)

    @app.get(
        "/v1/old",
        deprecated=True,
        dependencies=[Depends(deprecation(since=since, sunset=sunset, link="/v1/new"))],
    )
    async def old() -> dict[str, str]:
        return {"ok": "yes"}

    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url="http://t"
    ) as c:
        answer = await c.get("/v1/old")
    assert answer.headers["deprecation"] == "@1767225600"
    assert answer.headers["sunset"] == "Wed, 01 Jul 2026 00:00:00 GMT"
    assert answer.headers["link"] == '</v1/new>; rel="successor-version"'
    assert app.openapi()["paths"]["/v1/old"]["get"]["deprecated"] is True


def test_sunset_must_follow_deprecation() -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="sunset"):
        deprecation(since=when, sunset=when)
