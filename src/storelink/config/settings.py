"""The root :class:`Settings` object."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from storelink.config.sections import (
    AgentSettings,
    ApiSettings,
    BusSettings,
    HubSettings,
    ObservabilitySettings,
    OdooSettings,
    SecuritySettings,
    WebhookSettings,
    default_data_dir,
)

DATABASE_SCHEMES = ("sqlite+aiosqlite", "postgresql+psycopg")
BUS_SCHEMES = ("embedded", "nats", "tls")


class Settings(BaseSettings):
    """Effective configuration. Build it with :func:`storelink.config.load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="STORELINK_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    #: empty means SQLite at ``<data_dir>/hub.db``
    database_url: str = ""
    #: "embedded" (SQLite event log beside the database) or ``nats://host:port``
    bus_url: str = "embedded"
    bus: BusSettings = Field(default_factory=BusSettings)
    odoo: OdooSettings = Field(default_factory=OdooSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    agent: AgentSettings = Field(default_factory=AgentSettings)
    hub: HubSettings = Field(default_factory=HubSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: str) -> str:
        if value and not value.startswith(tuple(f"{s}://" for s in DATABASE_SCHEMES)):
            allowed = ", ".join(f"{s}://" for s in DATABASE_SCHEMES)
            raise ValueError(f"must start with one of {allowed}")
        return value

    @field_validator("bus_url")
    @classmethod
    def _bus_scheme(cls, value: str) -> str:
        if value != "embedded" and not value.startswith(("nats://", "tls://")):
            raise ValueError('must be "embedded" or a nats:// URL')
        return value

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'hub.db').as_posix()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # First wins: the environment overrides the file (passed as init values).
        return (env_settings, init_settings)
