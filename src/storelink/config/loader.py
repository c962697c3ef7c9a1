"""Reading, validating and describing the configuration."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr
from pydantic import ValidationError as PydanticValidationError

from storelink.config.settings import Settings
from storelink.errors import ConfigError

#: where ``storelink`` looks for a file when none is given
DEFAULT_FILE_ENV = "STORELINK_CONFIG"
MASK = "********"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such configuration file", path=str(path)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})", path=str(path)) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}", path=str(path)) from exc


def _problem_line(error: Any) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(root)"
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key"
    if error["type"] == "missing":
        return f"{key}: required"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{key}: {message}"


def load_settings(path: Path | str | None = None) -> Settings:
    """Load ``path`` (or ``$STORELINK_CONFIG``, or nothing) and the environment.

    Raises :class:`ConfigError` whose ``problems`` holds one line per problem.
    """
    if path is None and os.environ.get(DEFAULT_FILE_ENV):
        path = os.environ[DEFAULT_FILE_ENV]
    values = _read_toml(Path(path)) if path is not None else {}
    try:
        return Settings(**values)
    except PydanticValidationError as exc:
        problems = [_problem_line(error) for error in exc.errors()]
        raise ConfigError(
            f"{len(problems)} configuration problem(s): {'; '.join(problems)}", problems=problems
        ) from exc


def mask_url(url: str) -> str:
    """``scheme://user:secret@host/db`` → ``scheme://user:********@host/db``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", f":{MASK}@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def mask_secrets(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return MASK if value.get_secret_value() else ""
    if isinstance(value, dict):
        return {k: mask_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    return value


def describe(settings: Settings) -> dict[str, Any]:
    """The effective configuration as plain data, secrets masked."""
    raw = mask_secrets(settings.model_dump(mode="python"))
    raw["database_url"] = mask_url(settings.effective_database_url)
    raw["bus_url"] = mask_url(settings.bus_url)

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if value is None or isinstance(value, bool | int | float | str):
            return value
        return str(value)

    result: dict[str, Any] = plain(raw)
    return result
