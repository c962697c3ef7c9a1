"""OAuth2 client credentials and JWT validation."""

from __future__ import annotations

import base64

import httpx2
import jwt
import pytest

from storelink.api import HubState, Principal, Role, tokens
from storelink.api.tokens import hash_secret, verify_secret
from tests.api.conftest import FakeClock, Minter

TOKEN = "/v1/oauth/token"
PROTECTED = "/v1/products"


def test_secret_hash_is_salted_and_verifies() -> None:
    first, second = hash_secret("s3cret"), hash_secret("s3cret")
    assert first != second and "s3cret" not in first
    assert verify_secret("s3cret", first) and not verify_secret("other", first)


async def test_client_credentials_grant_issues_working_token(
    client: httpx2.AsyncClient, hub: HubState
) -> None:
    new = await hub.tokens.add_client(Role.STORE, store="S001")
    answer = await client.post(
        TOKEN,
        data={
            "grant_type": "client_credentials",
            "client_id": new.client_id,
            "client_secret": new.secret,
        },
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    principal = await hub.tokens.verify(body["access_token"])
    assert principal == Principal(new.client_id, Role.STORE, store="S001")


async def test_basic_auth_and_wrong_secret(client: httpx2.AsyncClient, hub: HubState) -> None:
    new = await hub.tokens.add_client(Role.CHANNEL, channel="web")
    basic = base64.b64encode(f"{new.client_id}:{new.secret}".encode()).decode()
    ok = await client.post(
        TOKEN,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert ok.status_code == 200
    wrong = await client.post(
        TOKEN,
        data={
            "grant_type": "client_credentials",
            "client_id": new.client_id,
            "client_secret": new.secret + "x",
        },
    )
    assert wrong.status_code == 401
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.json()["error"] == "invalid_client"
    await hub.tokens.revoke_client(new.client_id)
    revoked = await client.post(
        TOKEN,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert revoked.status_code == 401


async def test_unsupported_grant(client: httpx2.AsyncClient) -> None:
    answer = await client.post(TOKEN, data={"grant_type": "password"})
    assert answer.status_code == 400
    assert answer.json()["error"] == "unsupported_grant_type"


async def _claims_token(hub: HubState, **overrides: object) -> str:
    kid, secret = await hub.tokens.keys.signing_key()
    now = int(hub.clock().timestamp())
    claims: dict[str, object] = {
        "iss": "storelink",
        "aud": "storelink",
        "sub": "forged",
        "iat": now,
        "exp": now + 60,
        "role": "integration_admin",
    }
    claims.update(overrides)
    key = claims.pop("_key", secret)
    header_kid = claims.pop("_kid", kid)
    return jwt.encode(claims, key, algorithm="HS256", headers={"kid": header_kid})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("case", "overrides"),
    [
        ("wrong audience", {"aud": "someone-else"}),
        ("wrong issuer", {"iss": "evil"}),
        ("wrong key", {"_key": b"0" * 32}),
        ("unknown kid", {"_kid": "k000000"}),
        ("no role", {"role": "emperor"}),
    ],
)
async def test_bad_tokens_rejected(
    client: httpx2.AsyncClient, hub: HubState, case: str, overrides: dict[str, object]
) -> None:
    good = await _claims_token(hub)
    assert (
        await client.get(PROTECTED, headers={"Authorization": f"Bearer {good}"})
    ).status_code == 200
    bad = await _claims_token(hub, **overrides)
    answer = await client.get(PROTECTED, headers={"Authorization": f"Bearer {bad}"})
    assert answer.status_code == 401, case
    assert answer.headers["www-authenticate"].startswith("Bearer")


async def test_tampered_and_expired_tokens_rejected(
    client: httpx2.AsyncClient, hub: HubState, clock: FakeClock, auth: Minter
) -> None:
    headers = await auth(Role.STORE, store="S001")
    token = headers["Authorization"].removeprefix("Bearer ")
    header, _payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["store"] = "S002"
    forged_payload = base64.urlsafe_b64encode(jwt.api_jws.json.dumps(claims).encode()).rstrip(b"=")
    tampered = f"{header}.{forged_payload.decode()}.{signature}"
    answer = await client.get(PROTECTED, headers={"Authorization": f"Bearer {tampered}"})
    assert answer.status_code == 401
    assert (await client.get(PROTECTED, headers=headers)).status_code == 200
    clock.advance(901)
    expired = await client.get(PROTECTED, headers=headers)
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    assert (await client.get(PROTECTED)).status_code == 401


async def test_key_rotation_keeps_old_tokens_until_retired(
    client: httpx2.AsyncClient, hub: HubState, auth: Minter
) -> None:
    old_headers = await auth(Role.SUPPORT)
    old_kid = jwt.get_unverified_header(old_headers["Authorization"][7:])["kid"]
    new_kid = await hub.tokens.keys.rotate()
    new_headers = await auth(Role.SUPPORT)
    assert jwt.get_unverified_header(new_headers["Authorization"][7:])["kid"] == new_kid != old_kid
    assert (await client.get(PROTECTED, headers=old_headers)).status_code == 200
    await hub.tokens.keys.retire(old_kid)
    assert (await client.get(PROTECTED, headers=old_headers)).status_code == 401
    assert (await client.get(PROTECTED, headers=new_headers)).status_code == 200


async def test_verified_tokens_cache_forgets_least_recently_used(
    hub: HubState, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tokens, "VERIFIED_CACHE_SIZE", 2)
    checked: list[str] = []
    full_check = hub.tokens._verify

    async def counting(token: str) -> tuple[Principal, str, int]:
        checked.append(token)
        return await full_check(token)

    monkeypatch.setattr(hub.tokens, "_verify", counting)
    a, b, c = [
        (await hub.tokens.mint(Principal(f"client-{n}", Role.SUPPORT))).access_token for n in "abc"
    ]
    for token in (a, b, a, c):  # ``a`` used again after ``b``: ``b`` is the one to forget
        await hub.tokens.verify(token)
    assert checked == [a, b, c]
    assert (await hub.tokens.verify(a)).client_id == "client-a"
    assert (await hub.tokens.verify(b)).client_id == "client-b"
    assert checked == [a, b, c, b]
