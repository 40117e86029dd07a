"""Settings, all from the environment (and an optional `.env` file in the working directory).

Platform variables keep the names their platforms document (`SLACK_BOT_TOKEN`, ...); our own
carry the `RUHEPULS_` prefix. README lists every one with its default.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", populate_by_name=True, case_sensitive=False
    )

    redis_url: str | None = Field(None, validation_alias="REDIS_URL")
    data_dir: Path = Field(Path(".ruhepuls"), validation_alias="RUHEPULS_DATA_DIR")
    secret: SecretStr | None = Field(None, validation_alias="RUHEPULS_SECRET")
    session_ttl_days: int = Field(7, ge=1, le=90, validation_alias="RUHEPULS_SESSION_TTL_DAYS")
    language: Literal["de", "en"] = Field("de", validation_alias="RUHEPULS_LANGUAGE")
    timezone: str = Field("Europe/Berlin", validation_alias="RUHEPULS_TIMEZONE")
    min_group_size: int = Field(5, ge=5, validation_alias="RUHEPULS_MIN_GROUP_SIZE")
    log_level: str = Field("INFO", validation_alias="RUHEPULS_LOG_LEVEL")

    host: str = Field("127.0.0.1", validation_alias="HOST")
    port: int = Field(8000, ge=0, le=65535, validation_alias="PORT")

    slack_bot_token: SecretStr | None = Field(None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field("https://slack.com/api/", validation_alias="SLACK_API_URL")

    telegram_bot_token: SecretStr | None = Field(None, validation_alias="TELEGRAM_BOT_TOKEN")
    telegram_webhook_secret: SecretStr | None = Field(
        None, validation_alias="TELEGRAM_WEBHOOK_SECRET"
    )
    telegram_api_url: str = Field("https://api.telegram.org/bot", validation_alias="TELEGRAM_API_URL")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and (self.slack_signing_secret or self.slack_app_token))

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_bot_token is not None

    @property
    def any_platform(self) -> bool:
        return self.slack_enabled or self.telegram_enabled

    @property
    def session_ttl_seconds(self) -> int:
        return self.session_ttl_days * 86_400

    def secret_bytes(self) -> bytes:
        """The key for pseudonyms: RUHEPULS_SECRET, or one generated once into the data dir."""
        if self.secret is not None:
            return self.secret.get_secret_value().encode()
        path = self.data_dir / "secret"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_hex(32))
        return path.read_text().strip().encode()
