"""Settings, all from the environment (and an optional `.env` file in the working directory).

Platform variables keep the names their platforms document (`SLACK_BOT_TOKEN`, ...); our own
carry the `RUHEPULS_` prefix. README lists every one with its default.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PrivateAttr, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from flows.schedule import SendingHours

SOURCES = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=False, case_sensitive=False)
"""Where every settings model reads from: the environment, then a `.env` file, and only under
each setting's documented name (a field `language` must not read the shell's `LANGUAGE`)."""


class PlatformSettings(BaseSettings):
    """A platform's own settings (`bot/<name>/settings.py`), read from the same environment
    under the names the platform documents. `Settings.section` makes and keeps one per process."""

    model_config = SOURCES

    @property
    def enabled(self) -> bool:
        """Its credentials are configured (the platform serves and reaches people)."""
        return False

    def off_reason(self) -> str | None:
        """Why it is off, in words an admin can act on (None when it is on)."""
        return None

    def secret_values(self) -> list[str]:
        """Every secret set in this section, so that logs can mask it."""
        values = (getattr(self, name) for name in type(self).model_fields)
        return [v.get_secret_value() for v in values if isinstance(v, SecretStr)]


Section = TypeVar("Section", bound=PlatformSettings)


class Settings(BaseSettings):
    model_config = SOURCES
    _given: dict[str, Any] = PrivateAttr(default_factory=dict)
    _sections: dict[type[PlatformSettings], PlatformSettings] = PrivateAttr(default_factory=dict)

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        self._given = values  # what the caller set explicitly, for the platforms' sections too

    def section(self, model: type[Section]) -> Section:
        """A platform's settings, read from the same sources as these (and the same explicit
        values), once."""
        if model not in self._sections:
            self._sections[model] = model(**self._given)
        found = self._sections[model]
        assert isinstance(found, model)
        return found

    redis_url: str | None = Field(None, validation_alias="REDIS_URL")
    redis_sentinels: str | None = Field(None, validation_alias="REDIS_SENTINELS")
    """`host:port,host:port`: find the data Redis through Sentinel (instead of REDIS_URL)."""
    redis_sentinel_master: str = Field("mymaster", validation_alias="REDIS_SENTINEL_MASTER")
    redis_cluster: bool | None = Field(None, validation_alias="REDIS_CLUSTER")
    """REDIS_URL is a Redis Cluster (unset: asked of the server at start)."""
    queue_url: str | None = Field(None, validation_alias="RUHEPULS_QUEUE_URL")
    """A plain Redis for the worker's queue (saq), required when the data Redis is a cluster."""
    session_redis_url: str | None = Field(None, validation_alias="RUHEPULS_SESSION_REDIS_URL")
    """Surveys in progress; point it at a Redis without AOF/RDB so answers never reach a disk (a
    plain Redis or a Cluster, told apart at start)."""
    session_sentinels: str | None = Field(None, validation_alias="RUHEPULS_SESSION_SENTINELS")
    """`host:port,host:port`: find the sessions Redis through Sentinel (instead of
    RUHEPULS_SESSION_REDIS_URL), under RUHEPULS_SESSION_SENTINEL_MASTER."""
    session_sentinel_master: str = Field("sessions", validation_alias="RUHEPULS_SESSION_SENTINEL_MASTER")
    redis_timeout: float = Field(0.8, gt=0, le=30, validation_alias="RUHEPULS_REDIS_TIMEOUT")
    """Seconds one Redis command may take before it is given up (retried once): with the retry
    a click is answered well inside Slack's three seconds whatever Redis does."""
    data_dir: Path = Field(Path(".ruhepuls"), validation_alias="RUHEPULS_DATA_DIR")
    secret_file: Path | None = Field(None, validation_alias="RUHEPULS_SECRET_FILE")
    """Where a local trial keeps its generated secret (default: the user's config directory,
    never the data directory: a copy of the data must not carry the key to its pseudonyms)."""
    secret: SecretStr | None = Field(None, validation_alias="RUHEPULS_SECRET")
    session_ttl_days: int = Field(7, ge=1, le=90, validation_alias="RUHEPULS_SESSION_TTL_DAYS")
    language: Literal["de", "en"] = Field("de", validation_alias="RUHEPULS_LANGUAGE")
    timezone: str = Field("Europe/Berlin", validation_alias="RUHEPULS_TIMEZONE")
    min_group_size: int = Field(5, ge=5, validation_alias="RUHEPULS_MIN_GROUP_SIZE")
    min_group_size_exhaustion: int | None = Field(
        None, ge=5, validation_alias="RUHEPULS_MIN_GROUP_SIZE_EXHAUSTION"
    )
    """A higher k for the load type fed by the exhaustion item (unset: the same k)."""
    support_contacts_raw: str = Field("", validation_alias="RUHEPULS_SUPPORT_CONTACTS")
    """The organisation's own contacts, separated by `;` (e.g. "EAP: 0800 …; Betriebsärztin: …")."""
    support_offer: str | None = Field(None, validation_alias="RUHEPULS_SUPPORT_OFFER")
    """The organisation's real offer and where to sign up (e.g. its de-escalation training)."""
    intro_note: str | None = Field(None, validation_alias="RUHEPULS_INTRO_NOTE")
    """An employer's line for the intro (e.g. "Sie dürfen dafür Arbeitszeit nutzen.")."""
    log_level: str = Field("INFO", validation_alias="RUHEPULS_LOG_LEVEL")
    metrics_token: SecretStr | None = Field(None, validation_alias="RUHEPULS_METRICS_TOKEN")
    """Bearer token for GET /metrics (without one, /metrics answers only on a loopback HOST)."""
    metrics_port: int | None = Field(None, ge=1, le=65535, validation_alias="RUHEPULS_METRICS_PORT")
    """Metrics on a port of their own, for web and worker (the first process on a machine to bind
    it serves them; with PROMETHEUS_MULTIPROC_DIR those of every process). Without it the web
    app serves them at /metrics."""
    log_format: Literal["text", "json"] = Field("text", validation_alias="RUHEPULS_LOG_FORMAT")
    admins_raw: str = Field("", validation_alias="RUHEPULS_ADMINS")
    round_days: int = Field(14, ge=1, le=90, validation_alias="RUHEPULS_ROUND_DAYS")
    quiet_hours: str = Field("18-8", validation_alias="RUHEPULS_QUIET_HOURS")
    workdays: str = Field("mon-fri", validation_alias="RUHEPULS_WORKDAYS")
    tick_cron: str = Field("* * * * *", validation_alias="RUHEPULS_TICK_CRON")
    summary_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = Field(
        "mon", validation_alias="RUHEPULS_SUMMARY_DAY"
    )
    summary_hour: int = Field(9, ge=0, le=23, validation_alias="RUHEPULS_SUMMARY_HOUR")
    worker_concurrency: int = Field(32, ge=1, le=1000, validation_alias="RUHEPULS_WORKER_CONCURRENCY")
    """Jobs one worker process runs at once (teams served side by side; the shared limiter keeps
    every platform's rate however many run)."""
    chart_processes: int | None = Field(None, ge=0, le=64, validation_alias="RUHEPULS_CHART_PROCESSES")
    """Processes that draw the weekly charts beside a worker (unset: one per core; 0: a thread
    of the worker): drawing one takes 50-90 ms, never on the event loop."""
    send_lock_seconds: int = Field(30, ge=1, le=600, validation_alias="RUHEPULS_SEND_LOCK_SECONDS")

    public_url: str | None = Field(None, pattern=r"^https?://[^\s]+$", validation_alias="RUHEPULS_PUBLIC_URL")
    """Where people reach this web app (e.g. https://ruhepuls.example.org): report links use it."""
    report_link_days: int = Field(14, ge=1, le=90, validation_alias="RUHEPULS_REPORT_LINK_DAYS")
    """How long a report link in the lead channel stays valid."""
    host: str = Field("127.0.0.1", validation_alias="HOST")
    port: int = Field(8000, ge=0, le=65535, validation_alias="PORT")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        SendingHours.parse(value, "mon-fri")
        return value

    @field_validator("workdays")
    @classmethod
    def _workdays(cls, value: str) -> str:
        SendingHours.parse("18-8", value)
        return value

    @property
    def admins(self) -> frozenset[str]:
        """Platform-qualified admin ids, e.g. {"slack:U123", "telegram:42"}."""
        return frozenset(a.strip() for a in self.admins_raw.split(",") if a.strip())

    @property
    def sentinels(self) -> list[tuple[str, int]]:
        return _addresses(self.redis_sentinels)

    @property
    def session_sentinel_list(self) -> list[tuple[str, int]]:
        return _addresses(self.session_sentinels)

    @property
    def external_redis(self) -> bool:
        """A Redis of the deployment's own (URL or Sentinel), not the embedded one."""
        return bool(self.redis_url or self.sentinels)

    @property
    def support_contacts(self) -> tuple[str, ...]:
        return tuple(c.strip() for c in self.support_contacts_raw.split(";") if c.strip())

    @property
    def sending_hours(self) -> SendingHours:
        return SendingHours.parse(self.quiet_hours, self.workdays)

    @property
    def session_ttl_seconds(self) -> int:
        return self.session_ttl_days * 86_400

    @property
    def base_url(self) -> str:
        """Where people reach this web app: RUHEPULS_PUBLIC_URL, else HOST and PORT."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def public(self) -> bool:
        """Serving beyond this machine (production): HOST is not a loopback address."""
        return self.host not in ("127.0.0.1", "localhost", "::1")

    def secret_values(self) -> list[str]:
        """Ruhepuls' own secrets, so that logs can mask them (a platform's are in its section)."""
        return [v.get_secret_value() for v in (self.metrics_token, self.secret) if v is not None]

    def generated_secret_path(self) -> Path:
        if self.secret_file is not None:
            return self.secret_file
        config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        return Path(config) / "ruhepuls" / "secret"

    def secret_bytes(self) -> bytes:
        """The key for pseudonyms: RUHEPULS_SECRET, or, for local trials only (the CLI refuses
        everything but `ruhepuls chat` without it when Redis is the deployment's own, and a
        public HOST), one generated once into the user's config directory, outside the data
        directory (a secret an earlier version left there is moved out)."""
        if self.secret is not None:
            return self.secret.get_secret_value().encode()
        path = self.generated_secret_path()
        old = self.data_dir / "secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.touch(mode=0o600)
            path.write_text(old.read_text() if old.exists() else secrets.token_hex(32))
        old.unlink(missing_ok=True)
        return path.read_text().strip().encode()


def _addresses(raw: str | None) -> list[tuple[str, int]]:
    """`host:port,host:port` as pairs (malformed parts left out)."""
    out = []
    for part in (raw or "").split(","):
        host, _, port = part.strip().rpartition(":")
        if host and port.isdigit():
            out.append((host, int(port)))
    return out
