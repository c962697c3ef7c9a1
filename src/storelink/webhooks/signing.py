"""Standard Webhooks signatures (https://www.standardwebhooks.com).

A signature is ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``; the header
holds a space-separated list so a rotated secret signs with the old and the new
secret during the overlap window. Secrets are ``whsec_`` + base64 of 32 random bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from storelink.errors import SignatureError, StaleTimestampError, ValidationError

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
#: how far a signed timestamp may be from our clock (either way)
TOLERANCE = timedelta(minutes=5)


def generate_secret() -> str:
    """A new signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The raw HMAC key of a ``whsec_`` secret."""
    body = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(body + "==", validate=False)
    except ValueError as exc:
        raise ValidationError("secret is not base64", field="secret") from exc
    if len(key) < 24:
        raise ValidationError("secret must hold at least 24 bytes", field="secret")
    return key


def signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,…`` signature of ``body``."""
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


@dataclass(frozen=True, slots=True)
class Signer:
    """Signs with every active secret of an endpoint (newest first)."""

    keys: tuple[bytes, ...]

    @classmethod
    def of(cls, secrets_: Sequence[str]) -> Signer:
        return cls(tuple(secret_key(secret) for secret in secrets_))

    def headers(self, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
        """The three ``webhook-*`` headers for one attempt."""
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": " ".join(
                signature(key, msg_id, timestamp, body) for key in self.keys
            ),
        }


@dataclass(frozen=True, slots=True)
class VerifiedMessage:
    msg_id: str
    timestamp: datetime


def verify(
    secrets_: Sequence[str], headers: Mapping[str, str], body: bytes, *, now: datetime
) -> VerifiedMessage:
    """Check a signed inbound message.

    Raises :class:`StaleTimestampError` for a timestamp outside the tolerance and
    :class:`SignatureError` for missing headers or no matching signature.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get("webhook-id")
    stamp = lowered.get("webhook-timestamp")
    offered = lowered.get("webhook-signature")
    if not (msg_id and stamp and offered):
        raise SignatureError(
            "webhook-id, webhook-timestamp and webhook-signature headers are required"
        )
    try:
        timestamp = int(stamp)
    except ValueError as exc:
        raise StaleTimestampError("webhook-timestamp must be integer seconds") from exc
    sent = datetime.fromtimestamp(timestamp, tz=now.tzinfo)
    if abs(now - sent) > TOLERANCE:
        raise StaleTimestampError(
            "webhook-timestamp is more than 5 minutes away from the hub's clock",
            skew_s=round((now - sent).total_seconds()),
        )
    candidates = {part for part in offered.split(" ") if part.startswith("v1,")}
    for secret in secrets_:
        expected = signature(secret_key(secret), msg_id, timestamp, body)
        if any(hmac.compare_digest(expected, candidate) for candidate in candidates):
            return VerifiedMessage(msg_id=msg_id, timestamp=sent)
    raise SignatureError("no webhook-signature matches the source's secret")
