"""OAuth2 client credentials: hashed client secrets, rotating signing keys, JWTs.

Tokens are HS256 JWTs whose header names the signing key (``kid``). The newest
unretired key signs; every unretired key verifies, so rotating keeps tokens
already handed out valid until they expire. Key secrets are sealed at rest with
the vault key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.api.principal import Principal, Role
from storelink.api.tables import api_clients, api_signing_keys
from storelink.errors import AuthenticationError, NotFoundError
from storelink.ops.pii import Cipher

ISSUER = "storelink"
ALGORITHM = "HS256"
#: how long a verifier trusts its cached key ring before re-reading it
KEY_CACHE_S = 30.0
#: tolerated difference between the issuer's clock and ours
CLOCK_SKEW_S = 60
#: verified tokens remembered (least recently used forgotten first)
VERIFIED_CACHE_SIZE = 4096
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def hash_secret(secret: str) -> str:
    """A salted scrypt hash, self-describing: ``scrypt$N$r$p$salt$hash``."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P)
    salt_text = base64.urlsafe_b64encode(salt).decode()
    digest_text = base64.urlsafe_b64encode(digest).decode()
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt_text}${digest_text}"


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(
        secret.encode(),
        salt=base64.urlsafe_b64decode(salt),
        n=int(n),
        r=int(r),
        p=int(p),
    )
    return hmac.compare_digest(candidate, base64.urlsafe_b64decode(digest))


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    kid: str


@dataclass(frozen=True)
class NewClient:
    """A client just created; ``secret`` is shown once and never stored."""

    client_id: str
    secret: str
    role: Role
    store: str | None
    channel: str | None


class SigningKeys:
    """The key ring: create, rotate, retire, and look up signing keys by ``kid``."""

    def __init__(self, engine: AsyncEngine, cipher: Cipher, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._cipher = cipher
        self._clock = clock
        self._ring: dict[str, bytes] = {}
        self._newest: str | None = None
        self._loaded_at = -KEY_CACHE_S

    async def rotate(self) -> str:
        """Add a new signing key; it signs from now on. Returns its ``kid``."""
        kid = "k" + secrets.token_hex(6)
        secret = secrets.token_bytes(32)
        async with self._engine.begin() as connection:
            newest = (
                await connection.execute(select(func.max(api_signing_keys.c.created_at)))
            ).scalar_one_or_none()
            created = self._clock()
            if newest is not None and created <= newest:
                # keys are ordered by creation; keep that order under a stopped test clock
                created = newest + timedelta(microseconds=1)
            await connection.execute(
                insert(api_signing_keys).values(
                    kid=kid, sealed=self._cipher.seal(secret, kid), created_at=created
                )
            )
        await self._load()
        return kid

    async def retire(self, kid: str) -> None:
        """Stop accepting tokens signed with ``kid`` (after a leak, or once old tokens expired)."""
        async with self._engine.begin() as connection:
            result = await connection.execute(
                update(api_signing_keys)
                .where(api_signing_keys.c.kid == kid, api_signing_keys.c.retired_at.is_(None))
                .values(retired_at=self._clock())
            )
        if not result.rowcount:
            raise NotFoundError(f"no active signing key {kid!r}", kid=kid)
        await self._load()

    async def _load(self) -> None:
        async with self._engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(api_signing_keys.c.kid, api_signing_keys.c.sealed)
                    .where(api_signing_keys.c.retired_at.is_(None))
                    .order_by(api_signing_keys.c.created_at, api_signing_keys.c.kid)
                )
            ).all()
        self._ring = {row.kid: self._cipher.open(row.sealed, row.kid) for row in rows}
        self._newest = rows[-1].kid if rows else None
        self._loaded_at = time.monotonic()

    async def signing_key(self) -> tuple[str, bytes]:
        if self._newest is None or time.monotonic() - self._loaded_at > KEY_CACHE_S:
            await self._load()
        if self._newest is None:
            await self.rotate()
        assert self._newest is not None
        return self._newest, self._ring[self._newest]

    async def verification_key(self, kid: str) -> bytes | None:
        stale = time.monotonic() - self._loaded_at > KEY_CACHE_S
        if stale or kid not in self._ring:
            await self._load()
        return self._ring.get(kid)


class TokenService:
    """Issues tokens for client credentials and turns a bearer token back into a Principal."""

    def __init__(
        self,
        engine: AsyncEngine,
        keys: SigningKeys,
        *,
        audience: str,
        ttl_s: int,
        clock: Callable[[], datetime],
    ) -> None:
        self._engine = engine
        self.keys = keys
        self._audience = audience
        self._ttl_s = ttl_s
        self._clock = clock
        #: token -> (principal, kid, exp) of tokens already verified
        self._verified: dict[str, tuple[Principal, str, int]] = {}

    async def add_client(
        self,
        role: Role,
        *,
        store: str | None = None,
        channel: str | None = None,
        rate_per_s: float | None = None,
        burst: int | None = None,
    ) -> NewClient:
        client_id = f"{role.value.split('_')[-1]}-{secrets.token_hex(6)}"
        secret = secrets.token_urlsafe(32)
        async with self._engine.begin() as connection:
            await connection.execute(
                insert(api_clients).values(
                    client_id=client_id,
                    secret_hash=hash_secret(secret),
                    role=role.value,
                    store=store,
                    channel=channel,
                    rate_per_s=rate_per_s,
                    burst=burst,
                    created_at=self._clock(),
                )
            )
        return NewClient(client_id, secret, role, store, channel)

    async def revoke_client(self, client_id: str) -> None:
        """Revoke ``client_id`` (again is fine: revoking is idempotent)."""
        async with self._engine.begin() as connection:
            known = (
                await connection.execute(
                    select(api_clients.c.revoked_at).where(api_clients.c.client_id == client_id)
                )
            ).first()
            if known is None:
                raise NotFoundError(f"no client {client_id!r}", client_id=client_id)
            if known.revoked_at is None:
                await connection.execute(
                    update(api_clients)
                    .where(api_clients.c.client_id == client_id)
                    .values(revoked_at=self._clock())
                )

    async def issue(self, client_id: str, client_secret: str) -> IssuedToken:
        """Client-credentials grant: a signed token for a known, unrevoked client."""
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    select(api_clients).where(api_clients.c.client_id == client_id)
                )
            ).first()
        if row is None or row.revoked_at is not None:
            # hash anyway so unknown ids cost as much as wrong secrets (no timing oracle)
            verify_secret(client_secret, hash_secret("unknown"))
            raise AuthenticationError("invalid client credentials", client_id=client_id)
        if not verify_secret(client_secret, row.secret_hash):
            raise AuthenticationError("invalid client credentials", client_id=client_id)
        principal = Principal(
            client_id=row.client_id,
            role=Role(row.role),
            store=row.store,
            channel=row.channel,
            rate_per_s=row.rate_per_s,
            burst=row.burst,
        )
        return await self.mint(principal)

    async def mint(self, principal: Principal) -> IssuedToken:
        """A signed token for ``principal`` (tests and the token endpoint)."""
        kid, secret = await self.keys.signing_key()
        now = self._clock()
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": self._audience,
            "sub": principal.client_id,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=self._ttl_s)).timestamp()),
            "jti": secrets.token_hex(8),
            "role": principal.role.value,
        }
        if principal.store:
            claims["store"] = principal.store
        if principal.channel:
            claims["channel"] = principal.channel
        if principal.rate_per_s is not None and principal.burst is not None:
            claims["rl"] = [principal.rate_per_s, principal.burst]
        token = jwt.encode(claims, secret, algorithm=ALGORITHM, headers={"kid": kid})
        return IssuedToken(access_token=token, expires_in=self._ttl_s, kid=kid)

    async def verify(self, token: str) -> Principal:
        """The principal a bearer token stands for; AuthenticationError when it is not valid.

        A token verified once is remembered until it expires (clients reuse a token for
        many calls); the remembered answer still honours expiry and key retirement.
        """
        remembered = self._verified.pop(token, None)
        if remembered is not None:
            principal, kid, expires = remembered
            if expires > int(self._clock().timestamp()) and await self.keys.verification_key(kid):
                # re-inserted as the newest: the cache forgets the least recently used first
                self._verified[token] = remembered
                return principal
        principal, kid, expires = await self._verify(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.pop(next(iter(self._verified)))
        self._verified[token] = (principal, kid, expires)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, str, int]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise AuthenticationError("malformed bearer token") from exc
        if not isinstance(kid, str):
            raise AuthenticationError("bearer token names no signing key")
        secret = await self.keys.verification_key(kid)
        if secret is None:
            raise AuthenticationError("bearer token signed with an unknown key", kid=kid)
        try:
            claims = jwt.decode(
                token,
                secret,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=ISSUER,
                leeway=0,
                options={
                    "require": ["exp", "iat", "sub", "aud", "iss"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise AuthenticationError(f"invalid bearer token: {exc}") from exc
        # times are checked against the hub clock (so tests can move time)
        now = int(self._clock().timestamp())
        if int(claims["exp"]) <= now:
            raise AuthenticationError("bearer token expired")
        if int(claims["iat"]) > now + CLOCK_SKEW_S:
            raise AuthenticationError("bearer token issued in the future")
        try:
            role = Role(str(claims.get("role")))
        except ValueError as exc:
            raise AuthenticationError("bearer token carries no valid role") from exc
        rate = claims.get("rl")
        principal = Principal(
            client_id=str(claims["sub"]),
            role=role,
            store=claims.get("store"),
            channel=claims.get("channel"),
            rate_per_s=float(rate[0]) if rate else None,
            burst=int(rate[1]) if rate else None,
        )
        return principal, kid, int(claims["exp"])
