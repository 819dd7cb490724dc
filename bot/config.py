"""Settings of the bot, read from the environment or a `.env` file (pydantic-settings).

Every variable is documented in `.env.example`. A missing or malformed value is reported by
:func:`load_settings` as :class:`SettingsError` naming the variable, so that the command line can
print one clear line and exit with code 2 instead of a traceback.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")
# Telegram's rule for setWebhook's secret_token: 1-256 characters A-Z, a-z, 0-9, _ and -
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_LISTEN_RE = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>\d{1,5})$")
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/reserve.db"


class SettingsError(Exception):
    """A setting is missing or malformed; ``variable`` names the environment variable."""

    def __init__(self, variable: str, reason: str) -> None:
        super().__init__(f"{variable}: {reason}")
        self.variable = variable
        self.reason = reason


class Settings(BaseSettings):
    """The bot's configuration. Field ``x`` is read from the variable ``X``."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    bot_token: str | None = Field(default=None, description="Token from @BotFather.")
    database_url: str = Field(default=DEFAULT_DATABASE_URL)
    # connections the pool keeps open; up to as many again are opened under load
    database_pool_size: int = Field(default=5, ge=1, le=100)
    telegram_api_url: str = Field(default="https://api.telegram.org")
    telegram_clock_speed: float = Field(
        default=1.0,
        gt=0,
        le=100,
        description="For tests and demonstrations against a fake Bot API server whose second "
        "is 1/K of a real one: the bot paces its sends for Telegram's limits on that clock "
        "(30 per 1/K s, one per chat per 1/K s). Anything but 1 needs a loopback "
        "TELEGRAM_API_URL, so that Telegram's real limits cannot be broken.",
    )
    telegram_retry_seconds: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="Seconds one Bot API call (a reply, a reminder, a broadcast's send) may "
        "spend being retried after network errors, 5xx answers and 429s before it fails; "
        "start-up's calls, failing past it, are tried again until Telegram answers.",
    )
    officer_ids: Annotated[tuple[int, ...], NoDecode] = Field(default=())
    default_timezone: str = Field(default="Europe/Moscow")
    invite_ttl_days: int = Field(default=14, ge=1, le=365)
    quiet_hours_start: int = Field(default=21, ge=0, le=23)
    quiet_hours_end: int = Field(default=9, ge=0, le=23)
    reminder_scan_minutes: int = Field(default=5, ge=1, le=1440)
    reminder_days_before: Annotated[tuple[int, ...], NoDecode] = Field(default=(7, 1))
    due_soon_days: int = Field(default=3, ge=0, le=60)
    # days an unfinished dialogue (a registration's answers) is kept before it is purged
    pending_data_days: int = Field(default=7, ge=1, le=365)
    log_level: str = Field(default="INFO")
    log_format: str = Field(default="console", pattern="^(console|json)$")
    clock_start: datetime | None = Field(
        default=None,
        description="For tests and demonstrations: the bot's clock starts at this instant "
        "(an ISO date-time with its UTC offset) and runs on in real time; unset = the real clock.",
    )
    shutdown_grace_seconds: float = Field(default=10.0, ge=0, le=300)
    # webhook mode (`run --webhook`): the public https URL Telegram calls, the secret it sends
    # in X-Telegram-Bot-Api-Secret-Token, and the host:port the bot's web server binds
    webhook_url: str | None = Field(default=None)
    webhook_secret: SecretStr | None = Field(default=None)
    webhook_listen: str = Field(default="127.0.0.1:8080")
    # /healthz and /metrics in polling mode (unset: no web server); webhook mode serves them
    # on WEBHOOK_LISTEN
    health_listen: str | None = Field(default=None)

    @field_validator("bot_token")
    @classmethod
    def _check_token(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not _TOKEN_RE.match(value.strip()):
            msg = "does not look like a bot token (digits:letters, as @BotFather gives it)"
            raise ValueError(msg)
        return value.strip()

    @field_validator("officer_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
            try:
                return tuple(int(p) for p in parts)
            except ValueError:
                msg = "must be comma-separated Telegram user ids (numbers)"
                raise ValueError(msg) from None
        return value

    @field_validator("reminder_days_before", mode="before")
    @classmethod
    def _split_days(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                days = tuple(sorted({int(p) for p in value.split(",") if p.strip()}, reverse=True))
            except ValueError:
                msg = "must be comma-separated whole numbers of days, e.g. 7,1"
                raise ValueError(msg) from None
            if any(d < 0 or d > 90 for d in days):
                msg = "each value must be between 0 and 90 days"
                raise ValueError(msg)
            return days
        return value

    @field_validator("clock_start", mode="before")
    @classmethod
    def _blank_clock(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("clock_start")
    @classmethod
    def _aware_clock(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            msg = "must be an ISO date-time with a UTC offset, e.g. 2027-03-01T12:00+03:00"
            raise ValueError(msg)
        return value.astimezone(UTC)

    @field_validator("webhook_url", "health_listen", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https://[^\s/?#]+(/[^\s]*)?$", value):
            msg = "must be the public https URL Telegram calls, e.g. https://bot.example.org/tg"
            raise ValueError(msg)
        return value

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _check_secret(cls, value: object) -> object:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if value is None or (isinstance(value, str) and not value):
            return None
        if not isinstance(value, str) or not _SECRET_RE.match(value):
            msg = "must be 1-256 characters of A-Z, a-z, 0-9, _ and -"
            raise ValueError(msg)
        return value

    @field_validator("webhook_listen", "health_listen")
    @classmethod
    def _check_listen(cls, value: str | None) -> str | None:
        if value is not None:
            parse_listen(value)
        return value

    @field_validator("default_timezone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            msg = f"unknown time zone {value!r}; use an IANA name such as Europe/Moscow"
            raise ValueError(msg) from None
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            msg = "must be an http(s) URL such as https://api.telegram.org"
            raise ValueError(msg)
        return value.rstrip("/")

    @field_validator("telegram_clock_speed")
    @classmethod
    def _check_clock_speed(cls, value: float, info: ValidationInfo) -> float:
        url = info.data.get("telegram_api_url")  # absent when it failed its own check
        if value != 1 and (url is None or not _loopback(url)):
            msg = "may differ from 1 only with a loopback TELEGRAM_API_URL (a fake Bot API server)"
            raise ValueError(msg)
        return value

    @field_validator("database_url")
    @classmethod
    def _check_db(cls, value: str) -> str:
        if not re.match(r"^(sqlite\+aiosqlite|postgresql\+asyncpg)://", value):
            msg = "must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
            raise ValueError(msg)
        from sqlalchemy.engine import make_url  # noqa: PLC0415 - keeps the CLI's start light
        from sqlalchemy.exc import ArgumentError  # noqa: PLC0415

        try:
            url = make_url(value)
            port = url.port  # parsed lazily: a port that is not a number raises here
        except (ArgumentError, ValueError):
            msg = "is not a valid database URL (is the port a number?)"
            raise ValueError(msg) from None
        if port is not None and not 0 < port < 65536:
            msg = f"has port {port}; a port is between 1 and 65535"
            raise ValueError(msg)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            for parent in Path(url.database).absolute().parents:
                if parent.exists() and not parent.is_dir():
                    msg = f"the SQLite file's folder {parent} is a file, not a folder"
                    raise ValueError(msg)
        return value

    def require_token(self) -> str:
        """Return the bot token; raise :class:`SettingsError` if it is not set."""
        if not self.bot_token:
            raise SettingsError("BOT_TOKEN", "is required to run the bot; get one from @BotFather")
        return self.bot_token

    def require_webhook(self) -> tuple[str, str]:
        """Return (WEBHOOK_URL, WEBHOOK_SECRET); raise :class:`SettingsError` if one is unset."""
        if not self.webhook_url:
            raise SettingsError("WEBHOOK_URL", "is required in webhook mode (run --webhook)")
        if self.webhook_secret is None:
            raise SettingsError(
                "WEBHOOK_SECRET",
                "is required in webhook mode; e.g. python3 -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'",
            )
        return self.webhook_url, self.webhook_secret.get_secret_value()

    def web_listen(self, webhook: bool) -> str | None:
        """The ``host:port`` of the bot's web server: ``WEBHOOK_LISTEN`` in webhook mode,
        ``HEALTH_LISTEN`` in polling mode (None when that is unset: no web server)."""
        return self.webhook_listen if webhook else self.health_listen

    def sqlite_path(self) -> Path | None:
        """The SQLite file of ``database_url``, or None for another database or in-memory."""
        prefix = "sqlite+aiosqlite:///"
        if not self.database_url.startswith(prefix):
            return None
        rest = self.database_url.removeprefix(prefix).split("?", 1)[0]
        if rest in ("", ":memory:"):
            return None
        return Path(rest)


def _loopback(url: str) -> bool:
    """Whether ``url``'s host is this machine: ``localhost`` or a loopback IP address."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_listen(value: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:8080`` for IPv6) as (host, port); port 0 picks a free one.

    Raises:
        ValueError: not host:port, or the port is over 65535.
    """
    match = _LISTEN_RE.match(value.strip())
    if match is None or int(match["port"]) > 65535:
        msg = "must be host:port to listen on, e.g. 127.0.0.1:8080 or 0.0.0.0:8080"
        raise ValueError(msg)
    return match["host"].strip("[]"), int(match["port"])


def settings_env_names() -> frozenset[str]:
    """The environment variables :class:`Settings` reads (upper case; matching ignores case).

    Returns:
        One name per settings field, derived from the model, e.g. ``QUIET_HOURS_START``.
    """
    prefix = str(Settings.model_config.get("env_prefix") or "")
    return frozenset(f"{prefix}{name}".upper() for name in Settings.model_fields)


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment and `.env`; ``overrides`` win (tests use them).

    Raises:
        SettingsError: naming the first variable that is malformed.
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        variable = str(err["loc"][0]).upper() if err["loc"] else "SETTINGS"
        reason = str(err["msg"]).removeprefix("Value error, ")
        raise SettingsError(variable, reason) from None
