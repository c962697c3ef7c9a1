"""SSRF rules: https only unless allowed, public addresses only unless allow-listed,
no redirects followed."""

from __future__ import annotations

from collections.abc import Sequence

import httpx2
import pytest

from storelink.errors import UnsafeURLError
from storelink.webhooks import HttpTransport, URLPolicy, WebhookRequest


def resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    async def resolve(host: str) -> Sequence[str]:
        return table[host]

    return resolve


DNS = {
    "partner.example": ["93.184.216.34"],
    "sneaky.example": ["93.184.216.34", "10.1.2.3"],
    "metadata.example": ["169.254.169.254"],
    "v6local.example": ["::1"],
    "mapped.example": ["::ffff:127.0.0.1"],
    "localhost": ["127.0.0.1"],
}


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://partner.example/hooks", True),
        ("http://partner.example/hooks", False),
        ("ftp://partner.example/hooks", False),
        ("https://user:pw@partner.example/hooks", False),
        ("https://sneaky.example/", False),
        ("https://metadata.example/latest", False),
        ("https://v6local.example/", False),
        ("https://mapped.example/", False),
        ("https://10.0.0.1/", False),
        ("https://localhost/", False),
    ],
)
async def test_default_policy(url: str, allowed: bool) -> None:
    policy = URLPolicy(resolver=resolver(DNS | {"10.0.0.1": ["10.0.0.1"]}))
    if allowed:
        assert await policy.check(url) == url
    else:
        with pytest.raises(UnsafeURLError):
            await policy.check(url)


async def test_allow_list_and_http_switch() -> None:
    policy = URLPolicy(
        allow_http=True, allowed_hosts=frozenset({"localhost"}), resolver=resolver(DNS)
    )
    assert await policy.check("http://localhost:8080/h") == "http://localhost:8080/h"
    with pytest.raises(UnsafeURLError, match="non-public"):
        await policy.check("http://metadata.example/")


async def test_redirects_are_not_followed() -> None:
    calls: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(str(request.url))
        return httpx2.Response(302, headers={"location": "http://169.254.169.254/"})

    transport = HttpTransport(transport=httpx2.MockTransport(handler))
    response = await transport.post(
        WebhookRequest(url="https://partner.example/h", headers={}, body=b"{}"), timeout_s=1
    )
    await transport.aclose()
    assert response.status_code == 302
    assert calls == ["https://partner.example/h"]
