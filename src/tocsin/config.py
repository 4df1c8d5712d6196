"""Process settings (environment variables prefixed TOCSIN_)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tocsin.core.syslog import listen_addresses

# the database URLs Tocsin can open (the scheme before "://"), and how to write one
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg", "memory")
DATABASE_FORMS = "sqlite:///FILE, postgresql://USER@HOST:PORT/DATABASE or memory:// (nothing kept)"


class Settings(BaseSettings):
    """Where the database is, which configuration to load, how to serve."""

    model_config = SettingsConfigDict(env_prefix="TOCSIN_", extra="ignore")

    database_url: str = "sqlite:///var/tocsin.db"
    # "dev" allows what production refuses: no TOCSIN_SECRET_KEY (a published development key
    # seals receiver credentials and e-mail addresses)
    env: Literal["dev", "production"] = "production"
    # the key that encrypts receiver credentials and personal data at rest (Fernet: 32
    # url-safe base64-encoded bytes; `tocsin keys new` prints one)
    secret_key: SecretStr | None = None
    config_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    # reads need a token or a session unless a deployment opens them on purpose (anonymous
    # readers then see everything that is not a secret)
    open_reads: bool = False
    # people's sessions: how long one lasts, and whether the cookie is only sent over TLS
    # ("auto": when the request came over https, directly or as X-Forwarded-Proto from a proxy
    # the deployment trusts)
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    cookie_secure: bool | None = None
    # sign-in with the agency's identity provider (OpenID Connect; off unless issuer and client
    # id are set); the user is the Tocsin user named by `oidc_user_claim` of the ID token
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_redirect_url: str | None = None  # default: this server's callback as requested
    oidc_user_claim: str = "preferred_username"
    # rate limits (per minute; 0 turns one off): sign-in attempts per client address, writes
    # per user or token
    sign_in_per_minute: float = Field(default=10.0, ge=0)
    writes_per_minute: float = Field(default=600.0, ge=0)
    # silences one person may not make alone (a second user approves them): a region at one of
    # these levels (default: the hierarchy's top level, a whole nation) or none, or every level
    # for longer than this many hours
    silence_approval_levels: list[str] | None = None
    silence_approval_after_h: float = Field(default=24.0, gt=0)
    # retention (docs/data.md): days each kind of personal data is kept, and how often the
    # server's retention job runs
    retain_notifications_days: float = Field(default=90.0, gt=0)
    retain_sign_ins_days: float = Field(default=90.0, gt=0)
    retain_events_days: float = Field(default=365.0, gt=0)
    retention_interval_h: float = Field(default=24.0, gt=0)
    # raw observations older than this many days are summarised per `observation_rollup_s`
    # (count, min, max, mean) and deleted, or only deleted (docs/retention.md); none: kept
    retain_observations_days: float | None = Field(default=None, gt=0)
    observation_rollup_s: int = Field(default=3_600, ge=60, le=7 * 86_400)
    observations_after_retention: Literal["downsample", "drop"] = "downsample"
    # the largest request body the API reads (bytes); larger ones are answered 413 unread
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    # how far past the server's clock an observation's time may lie; later ones are refused
    max_clock_skew_s: float = Field(default=300.0, ge=0, le=86_400)
    # writes served at once (more: 429), and observations waiting for the group commit (more: 503)
    ingest_max_inflight: int = Field(default=512, ge=1)
    ingest_queue_rows: int = Field(default=4_000_000, ge=1)
    ingest_group_rows: int = Field(default=1_000_000, ge=1)
    # how long a server's thread holds the interpreter before another may run (ms; CPython's
    # default is 5): 1 lets a commit thread's database calls past a busy event loop sooner
    # (public reports on SQLite: a fifth more a second, p99 halved; docs/deployment.md)
    thread_switch_ms: float = Field(default=1.0, ge=0.1, le=100.0)
    # how often the "source silent" check runs (indicators with a cadence; sources.yaml)
    silence_check_interval_s: float = Field(default=30.0, gt=0)
    # the roles past one machine (docs/deployment.md): "single" (default) stores each write in
    # this process; "api" appends accepted writes to the NATS JetStream stream at `stream_url`,
    # where `tocsin worker` processes consume them, `stream_partitions` partitions keyed by
    # indicator (the same number for every process, for the life of the stream)
    role: Literal["single", "api"] = "single"
    stream_url: str = "nats://127.0.0.1:4222"
    stream_name: str = "TOCSIN_OBSERVATIONS"
    stream_subject: str = "tocsin.observations"
    stream_partitions: int = Field(default=16, ge=1, le=4_096)
    stream_duplicate_window_s: float = Field(default=120.0, gt=0, le=86_400)
    stream_max_age_h: float | None = Field(default=None, gt=0)  # none: kept until removed
    stream_replicas: int = Field(default=1, ge=1, le=5)
    webhook_secret: SecretStr | None = None
    benchdata: Path = Path("../shared/benchdata")
    # public alerts: the OASIS CAP 1.2 schema every message is checked against before it
    # leaves (and every imported one); default: <benchdata>/cap/schema/CAP-v1.2.xsd
    cap_schema: Path | None = None
    cap_poll_interval_s: float = Field(default=10.0, gt=0)
    # warning pipeline (docs/warnings.md)
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "tocsin@localhost"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # reporters who give a phone number: their updates as text messages through an SMS
    # gateway's `sendsms` URL (Kannel's interface; adapters/notifiers/sms.py)
    sms_gateway_url: str | None = None
    sms_username: str | None = None
    sms_password: SecretStr | None = None
    sms_from: str | None = None
    notify_lease_s: float = 30.0
    # several processes on one database: the owner of the rules' state and of the dispatcher
    # holds a lease for this long, renewed every third of it; a standby takes over once it
    # runs out (docs/operations: several servers on one database)
    lease_s: float = Field(default=6.0, ge=0.5, le=600)
    dispatch_interval_s: float = 0.5
    background_workers: bool = True
    # whether a serving process runs the source loops (MQTT, pulled feeds, syslog, vulnerability
    # feeds, the source-silent check; web/sources.py); unset: as `background_workers`. The storm
    # split (`serve` without workers beside `notify run`) sets it true on its one server; API
    # servers beside another that runs them leave it unset (two subscribers would share a feed)
    source_loops: bool | None = None
    # the composite risk model shown in the dashboard's risk view (none unless both are set)
    risk_model: Path | None = None
    risk_table: Path | None = None
    # the cyber exposure model (its live score feeds the risk view and any `live: cyber_exposure`
    # input of the composite model; docs/exposure.md); none: the packaged models/cyber_exposure.yaml
    cyber_model: Path | None = None
    # security alerts over syslog (docs/exposure.md): `udp://HOST:PORT,tcp://HOST:PORT`; none: off
    syslog_listen: str | None = None
    # public hazard reports (Open311 GeoReport v2; docs/reports.md)
    open311_jurisdiction: str = "tocsin.local"
    # API keys of apps that may post reports: comma-separated `label:key` pairs
    open311_api_keys: SecretStr | None = None
    # the key the public report page posts with (its label is `web`); none: no public page posts
    open311_web_key: SecretStr | None = None
    report_contact_key: SecretStr | None = None  # 32 bytes, URL-safe base64; none: no contacts
    report_contact_retention_days: float = Field(default=30.0, gt=0)
    report_coarsen_m: float = Field(default=100.0, ge=0, le=100_000)
    report_duplicate_window_s: float = Field(default=600.0, ge=0)
    report_photo_max_bytes: int = Field(default=2_000_000, ge=1_024, le=20_000_000)
    report_rate_per_client_per_minute: int = Field(default=6_000, ge=1)
    report_rate_per_range_per_10_minutes: int = Field(default=30, ge=1)
    report_acknowledge_within_h: float = Field(default=4.0, gt=0)  # then reminders, escalation
    report_close_within_h: float = Field(default=72.0, gt=0)
    # the address reporters reach this server at (links in their status e-mails); none: host:port
    report_public_url: str | None = Field(default=None, pattern=r"^https?://[^\s?#]+$")

    @field_validator("syslog_listen")
    @classmethod
    def _listen_addresses(cls, text: str | None) -> str | None:
        """Refuse, naming the entry, an address the syslog receiver could not listen on."""
        if text is not None and text.strip():
            listen_addresses(text)
            return text
        return None

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
