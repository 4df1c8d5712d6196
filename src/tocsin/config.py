"""Process settings (environment variables prefixed TOCSIN_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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
