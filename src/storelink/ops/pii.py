"""Tokenization of personal data: clear values live only in an encrypted vault table.

Callers store the token (``pii_…``) in their own rows; :class:`Vault` keeps the
clear value sealed with AES-GCM under ``security.vault_key`` (the token is the
associated data, so a sealed value cannot be moved to another token). Deleting a
vault row erases the value for good (retention, right to be forgotten).

    token = await vault.tokenize(connection, "ada@example.com")
    clear = await vault.detokenize(connection, [token])
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Column, LargeBinary, String, Table, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storelink.config import Settings
from storelink.db.metadata import metadata
from storelink.db.types import UtcDateTime
from storelink.errors import ConfigError, StorageError
from storelink.model import utcnow

TOKEN_PREFIX = "pii_"
_NONCE_BYTES = 12

pii_vault = Table(
    "pii_vault",
    metadata,
    Column("token", String(64), primary_key=True),
    Column("sealed", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)


def decode_key(encoded: str) -> bytes:
    """The 32 raw bytes of an urlsafe-base64 vault key."""
    try:
        raw = base64.urlsafe_b64decode(encoded.encode() + b"=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ConfigError("security.vault_key is not urlsafe base64", field="vault_key") from exc
    if len(raw) != 32:
        raise ConfigError("security.vault_key must decode to 32 bytes", field="vault_key")
    return raw


def new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def load_vault_key(settings: Settings) -> bytes:
    """The configured vault key, or one generated once into ``<data_dir>/vault.key`` (mode 0600).

    The generated file is the embedded default; production sets ``security.vault_key``.
    """
    if settings.security.vault_key is not None:
        return decode_key(settings.security.vault_key.get_secret_value())
    path = Path(settings.data_dir) / "vault.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process won the race; read its key below
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(new_key())
    return decode_key(path.read_text().strip())


class Cipher:
    """AES-256-GCM sealing with associated data (the record's identity)."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, clear: bytes, associated: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, clear, associated.encode())

    def open(self, sealed: bytes, associated: str) -> bytes:
        try:
            return self._aead.decrypt(
                sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], associated.encode()
            )
        except InvalidTag as exc:
            raise StorageError(
                "sealed value cannot be opened with this key", record=associated
            ) from exc


class Vault:
    """Tokens in, clear values out, for whoever is allowed to ask."""

    def __init__(self, cipher: Cipher) -> None:
        self._cipher = cipher

    async def tokenize(
        self, connection: AsyncConnection, clear: str, *, now: datetime | None = None
    ) -> str:
        token = TOKEN_PREFIX + secrets.token_urlsafe(24)
        await connection.execute(
            insert(pii_vault).values(
                token=token,
                sealed=self._cipher.seal(clear.encode(), token),
                created_at=now or utcnow(),
            )
        )
        return token

    async def detokenize(
        self, connection: AsyncConnection, tokens: Iterable[str | None]
    ) -> dict[str, str]:
        wanted = [token for token in tokens if token]
        if not wanted:
            return {}
        rows = await connection.execute(
            select(pii_vault.c.token, pii_vault.c.sealed).where(pii_vault.c.token.in_(wanted))
        )
        return {row.token: self._cipher.open(row.sealed, row.token).decode() for row in rows.all()}

    async def erase(self, connection: AsyncConnection, tokens: Iterable[str | None]) -> int:
        wanted = [token for token in tokens if token]
        if not wanted:
            return 0
        result = await connection.execute(delete(pii_vault).where(pii_vault.c.token.in_(wanted)))
        return int(result.rowcount or 0)


def mask(value: str) -> str:
    """A support-safe rendering: first character of each word (and the email domain) kept."""
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    digits = [c for c in value if c.isdigit()]
    if len(digits) >= 6 and len(digits) * 2 >= len(value):
        return "***" + "".join(digits[-2:])
    return " ".join(word[:1] + "***" for word in value.split()) or "***"
