"""Configuration sections, one per part. Each section is a strict pydantic model."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, model_validator
from typing_extensions import Self


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class OdooSettings(Section):
    """How to reach Odoo. No ``url`` means the built-in emulator is used."""

    url: HttpUrl | None = None
    database: str | None = None
    user: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None
    #: "auto" detects the version at connect time through ``common.version``
    version: Literal["auto", "16", "17", "18", "19"] = "auto"
    timeout_s: float = Field(default=30.0, gt=0, le=600)
    batch_size: int = Field(default=200, ge=1, le=10_000)
    poll_interval_s: float = Field(default=30.0, gt=0)
    webhook_token: SecretStr | None = None

    @model_validator(mode="after")
    def _credentials(self) -> Self:
        if self.url is not None:
            if not self.database:
                raise ValueError("odoo.database is required when odoo.url is set")
            if self.password is None and self.api_key is None:
                raise ValueError("odoo.password or odoo.api_key is required when odoo.url is set")
        return self


class ApiSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8420, ge=1, le=65535)
    #: base URL others use to reach this hub (webhook intake, agents)
    public_url: HttpUrl | None = None
    token_ttl_s: int = Field(default=900, ge=30, le=86_400)
    token_audience: str = "storelink"


class WebhookSettings(Section):
    allow_http: bool = False
    #: hosts allowed even though they resolve to private/loopback addresses
    allowed_hosts: list[str] = Field(default_factory=list)
    timeout_s: float = Field(default=15.0, gt=0, le=120)
    #: seconds before each retry; the default follows Standard Webhooks practice
    retry_schedule_s: list[float] = Field(
        default_factory=lambda: [0, 5, 300, 1800, 7200, 18000, 36000, 36000]
    )
    disable_after_s: float = Field(default=5 * 86_400, gt=0)


class AgentSettings(Section):
    store: str | None = None
    hub_url: HttpUrl | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8421, ge=1, le=65535)
    client_id: str | None = None
    client_secret: SecretStr | None = None
    upload_batch_size: int = Field(default=200, ge=1, le=5000)


class ObservabilitySettings(Section):
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"
    service_name: str = "storelink"
    #: OTLP/HTTP traces endpoint; tracing exports nothing when unset
    otlp_endpoint: HttpUrl | None = None


class SecuritySettings(Section):
    #: key for the PII vault and token signing keys at rest (urlsafe base64, 32 bytes)
    vault_key: SecretStr | None = None


def default_data_dir() -> Path:
    return Path("storelink-data")
