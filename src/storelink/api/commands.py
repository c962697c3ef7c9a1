"""``storelink clients …``, ``storelink audit …`` and ``storelink customers purge``.

Every command here that changes something is an admin action and is appended
to the audit log, with ``cli:<user>`` as the actor.
"""

from __future__ import annotations

import asyncio
import getpass
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from storelink.api.principal import Role
from storelink.api.state import HubState
from storelink.config import load_settings
from storelink.errors import UsageError
from storelink.ops import audit

T = TypeVar("T")

console = Console()
err_console = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML configuration file (default: $STORELINK_CONFIG)."),
]

_DURATION = re.compile(r"^(\d+)([dhm]?)$")


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m`` or a bare number of days."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise UsageError(f"--older-than: {text!r} is not a duration like 365d, 12h or 90m")
    amount, unit = int(match.group(1)), match.group(2) or "d"
    return {"d": timedelta(days=amount), "h": timedelta(hours=amount)}.get(
        unit, timedelta(minutes=amount)
    )


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _with_hub(config: Path | None, work: Callable[..., Awaitable[T]]) -> T:
    """Run ``work(hub)`` against a migrated database."""
    from storelink.db import create_engine, upgrade

    settings = load_settings(config)

    async def main() -> T:
        engine = create_engine(settings.effective_database_url)
        try:
            await upgrade(engine)
            return await work(HubState(settings=settings, engine=engine))
        finally:
            await engine.dispose()

    return asyncio.run(main())


def register(app: typer.Typer) -> None:
    clients_app = typer.Typer(help="API clients and token signing keys.", no_args_is_help=True)
    audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
    customers_app = typer.Typer(help="Customer data retention.", no_args_is_help=True)
    app.add_typer(clients_app, name="clients")
    app.add_typer(audit_app, name="audit")
    app.add_typer(customers_app, name="customers")

    @clients_app.command("add")
    def clients_add(
        role: Annotated[Role, typer.Option("--role", help="Role of the client.")],
        store: Annotated[
            str | None, typer.Option("--store", help="Store code (store role).")
        ] = None,
        channel: Annotated[
            str | None, typer.Option("--channel", help="Channel name (channel/partner roles).")
        ] = None,
        rate_per_s: Annotated[
            float | None, typer.Option("--rate", help="Requests per second (overrides the role).")
        ] = None,
        burst: Annotated[
            int | None, typer.Option("--burst", help="Bucket size with --rate.")
        ] = None,
        config: ConfigOption = None,
    ) -> None:
        """Create a client and print its secret (shown once, stored only as a hash)."""
        if role is Role.STORE and not store:
            raise UsageError("--store is required for a store client")
        if role in (Role.CHANNEL, Role.PARTNER) and not channel:
            raise UsageError(f"--channel is required for a {role.value} client")
        if role not in (Role.STORE,) and store:
            raise UsageError("--store applies only to store clients")
        if (rate_per_s is None) != (burst is None):
            raise UsageError("give --rate and --burst together")

        async def work(hub: HubState) -> tuple[str, str]:
            new = await hub.tokens.add_client(
                role, store=store, channel=channel, rate_per_s=rate_per_s, burst=burst
            )
            async with hub.engine.begin() as connection:
                await audit.append(
                    connection,
                    actor=_actor(),
                    action="client.add",
                    target=new.client_id,
                    detail={"role": role.value, "store": store, "channel": channel},
                )
            return new.client_id, new.secret

        client_id, secret = _with_hub(config, work)
        console.print(f"client_id:     {client_id}")
        console.print(f"client_secret: {secret}")
        err_console.print("the secret is shown once; store it now")

    @clients_app.command("list")
    def clients_list(config: ConfigOption = None) -> None:
        """List clients (never their secrets)."""
        from storelink.api.tables import api_clients

        async def work(hub: HubState) -> list[tuple[str, ...]]:
            async with hub.engine.connect() as connection:
                rows = await connection.execute(
                    select(api_clients).order_by(api_clients.c.created_at)
                )
                return [
                    (
                        row.client_id,
                        row.role,
                        row.store or row.channel or "",
                        "revoked" if row.revoked_at else "active",
                    )
                    for row in rows.all()
                ]

        table = Table("client_id", "role", "scope", "state")
        for row in _with_hub(config, work):
            table.add_row(*row)
        console.print(table)

    @clients_app.command("revoke")
    def clients_revoke(client_id: str, config: ConfigOption = None) -> None:
        """Revoke a client: it can get no new tokens."""

        async def work(hub: HubState) -> None:
            await hub.tokens.revoke_client(client_id)
            async with hub.engine.begin() as connection:
                await audit.append(
                    connection, actor=_actor(), action="client.revoke", target=client_id
                )

        _with_hub(config, work)
        console.print(f"revoked {client_id}")

    @clients_app.command("rotate-key")
    def rotate_key(config: ConfigOption = None) -> None:
        """Add a new token signing key; older keys keep verifying until retired."""

        async def work(hub: HubState) -> str:
            kid = await hub.tokens.keys.rotate()
            async with hub.engine.begin() as connection:
                await audit.append(connection, actor=_actor(), action="key.rotate", target=kid)
            return kid

        console.print(f"signing with {_with_hub(config, work)}")

    @clients_app.command("retire-key")
    def retire_key(kid: str, config: ConfigOption = None) -> None:
        """Stop accepting tokens signed with KID."""

        async def work(hub: HubState) -> None:
            await hub.tokens.keys.retire(kid)
            async with hub.engine.begin() as connection:
                await audit.append(connection, actor=_actor(), action="key.retire", target=kid)

        _with_hub(config, work)
        console.print(f"retired {kid}")

    @audit_app.command("verify")
    def audit_verify(config: ConfigOption = None) -> None:
        """Check the hash chain; exit 1 naming the first row that was edited or removed."""

        async def work(hub: HubState) -> audit.Verification:
            async with hub.engine.connect() as connection:
                return await audit.verify(connection)

        result = _with_hub(config, work)
        if not result.ok:
            err_console.print(f"audit row {result.bad_seq}: {result.reason}")
            raise typer.Exit(1)
        console.print(f"audit log intact: {result.rows} rows")

    @audit_app.command("show")
    def audit_show(
        after: Annotated[int, typer.Option("--after", help="Show rows after this seq.")] = 0,
        limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 50,
        config: ConfigOption = None,
    ) -> None:
        """Print audit rows."""

        async def work(hub: HubState) -> list[audit.AuditEntry]:
            async with hub.engine.connect() as connection:
                return await audit.entries(connection, after=after, limit=limit)

        table = Table("seq", "at", "actor", "action", "target")
        for entry in _with_hub(config, work):
            table.add_row(
                str(entry.seq), entry.at.isoformat(), entry.actor, entry.action, entry.target
            )
        console.print(table)

    @customers_app.command("purge")
    def customers_purge(
        older_than: Annotated[
            str,
            typer.Option("--older-than", help="Delete customers unchanged for this long (365d)."),
        ],
        config: ConfigOption = None,
    ) -> None:
        """Apply retention: delete stale customers and erase their personal data."""
        from storelink.api.customers import purge_customers

        age = parse_duration(older_than)

        async def work(hub: HubState) -> int:
            return await purge_customers(
                hub.engine, hub.vault, older_than=age, now=hub.clock(), actor=_actor()
            )

        console.print(f"purged {_with_hub(config, work)} customers")
