"""Inbound source secrets rotate with an overlap window, like endpoint secrets.

Payloads are signed with the official ``standardwebhooks`` package, never with
storelink's own signing code.
"""

from __future__ import annotations

import base64
import os
from uuid import uuid4

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks.webhooks import Webhook

from storelink.db import create_engine, upgrade
from storelink.errors import NotFoundError, SignatureError, ValidationError
from storelink.ops.pii import Cipher
from storelink.webhooks import Intake, ManualClock, SecretBox
from storelink.webhooks.tables import inbound_source_secrets
from tests.webhooks.conftest import price_event


def signed(secret: str, clock: ManualClock) -> tuple[dict[str, str], bytes]:
    """A fresh event signed by ``standardwebhooks`` with ``secret`` at the clock's time."""
    body = price_event().model_dump_json()
    msg_id = f"msg_{uuid4().hex}"
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(clock.now().timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, clock.now(), body),
    }
    return headers, body.encode()


@pytest.fixture
def intake(engine: AsyncEngine, clock: ManualClock, secret_box: SecretBox) -> Intake:
    return Intake(engine, secret_box=secret_box, clock=clock, rotation_overlap_s=3600)


async def test_old_secret_is_accepted_during_the_overlap_only(
    intake: Intake, clock: ManualClock
) -> None:
    old = await intake.add_source("loyalty")
    new = await intake.rotate_secret("loyalty", overlap_s=600)
    assert new != old and new.startswith("whsec_")

    # during the overlap both verify; the new one at once
    await intake.accept("loyalty", *signed(old, clock))
    await intake.accept("loyalty", *signed(new, clock))
    clock.advance(599)
    await intake.accept("loyalty", *signed(old, clock))

    # after it, only the new one
    clock.advance(2)
    with pytest.raises(SignatureError):
        await intake.accept("loyalty", *signed(old, clock))
    await intake.accept("loyalty", *signed(new, clock))


async def test_default_overlap_and_rotating_again(intake: Intake, clock: ManualClock) -> None:
    first = await intake.add_source("shop")
    second = await intake.rotate_secret("shop", overlap_s=0)
    with pytest.raises(SignatureError):  # no overlap: the old secret stops at once
        await intake.accept("shop", *signed(first, clock))

    third = await intake.rotate_secret("shop")  # rotation_overlap_s = 3600
    clock.advance(3599)
    await intake.accept("shop", *signed(second, clock))
    await intake.accept("shop", *signed(third, clock))
    clock.advance(2)
    for gone in (first, second):
        with pytest.raises(SignatureError):
            await intake.accept("shop", *signed(gone, clock))
    await intake.accept("shop", *signed(third, clock))


async def test_rotation_refuses_unknown_sources_and_negative_overlaps(
    intake: Intake, engine: AsyncEngine
) -> None:
    with pytest.raises(NotFoundError):
        await intake.rotate_secret("nobody")
    await intake.add_source("pos")
    with pytest.raises(ValidationError):
        await intake.rotate_secret("pos", overlap_s=-1)
    await intake.rotate_secret("pos")

    # a removed source takes all its secrets with it
    await intake.remove_source("pos")
    async with engine.connect() as connection:
        left = await connection.scalar(select(func.count()).select_from(inbound_source_secrets))
    assert left == 0


async def test_migration_keeps_existing_source_secrets_working(
    database_url: str, clock: ManualClock
) -> None:
    """A source registered before ``webhooks_0003`` still verifies with its secret after it."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "webhooks_0002")
        secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
        cipher = Cipher(os.urandom(32))
        async with engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO inbound_sources (name, sealed, created_at) VALUES (:n, :s, :t)"),
                {
                    "n": "loyalty",
                    # sealed as the code before webhooks_0003 sealed it
                    "s": cipher.seal(secret.encode(), "inbound_sources:loyalty"),
                    "t": clock.now(),
                },
            )
        await upgrade(engine)
        intake = Intake(engine, secret_box=SecretBox(cipher), clock=clock)
        await intake.accept("loyalty", *signed(secret, clock))
        new = await intake.rotate_secret("loyalty", overlap_s=60)
        await intake.accept("loyalty", *signed(secret, clock))
        await intake.accept("loyalty", *signed(new, clock))
    finally:
        await engine.dispose()
