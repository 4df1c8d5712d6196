"""Process settings (environment variables prefixed TOCSIN_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# the database URLs Tocsin can open (the scheme before "://"), and how to write one
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg", "memory")
DATABASE_FORMS = "sqlite:///FILE, postgresql://USER@HOST:PORT/DATABASE or memory:// (nothing kept)"


class Settings(BaseSettings):
    """Where the database is, which configuration to load, how to serve."""

    model_config = SettingsConfigDict(env_prefix="TOCSIN_", extra="ignore")

    database_url: str = "sqlite:///var/tocsin.db"
    config_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    require_token_for_reads: bool = False
    # the largest request body the API reads (bytes); larger ones are answered 413 unread
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    # writes served at once (more: 429), and observations waiting for the group commit (more: 503)
    ingest_max_inflight: int = Field(default=512, ge=1)
    ingest_queue_rows: int = Field(default=4_000_000, ge=1)
    ingest_group_rows: int = Field(default=1_000_000, ge=1)
    # how often the "source silent" check runs (indicators with a cadence; sources.yaml)
    silence_check_interval_s: float = Field(default=30.0, gt=0)
    webhook_secret: SecretStr | None = None
    benchdata: Path = Path("../shared/benchdata")
    # warning pipeline (docs/warnings.md)
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "tocsin@localhost"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    notify_lease_s: float = 30.0
    dispatch_interval_s: float = 0.5
    background_workers: bool = True
    # the composite risk model shown in the dashboard's risk view (none unless both are set)
    risk_model: Path | None = None
    risk_table: Path | None = None

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str) -> str:
        """Refuse, with the forms that work, a URL Tocsin cannot open."""
        from sqlalchemy.engine import make_url  # here: importing SQLAlchemy takes 0.1 s
        from sqlalchemy.exc import ArgumentError

        try:
            scheme = make_url(url).drivername
        except (ArgumentError, ValueError):  # the URL may hold a password: it is not repeated
            raise ValueError(f"not a database URL (use {DATABASE_FORMS})") from None
        if scheme not in DATABASE_SCHEMES:
            raise ValueError(f"unsupported database {scheme!r} (use {DATABASE_FORMS})")
        return url
