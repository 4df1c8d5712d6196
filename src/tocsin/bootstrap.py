"""The composition root: settings -> adapters -> services."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from tocsin.adapters.alerting_yaml import load_alerting
from tocsin.adapters.bus.memory import MemoryBus
from tocsin.adapters.clock import SystemClock
from tocsin.adapters.config_yaml import load_catalog
from tocsin.adapters.notifiers.email import EmailNotifier
from tocsin.adapters.notifiers.jsonl_file import JsonLinesNotifier
from tocsin.adapters.notifiers.webhook import WebhookNotifier
from tocsin.adapters.sources_yaml import load_sources
from tocsin.adapters.storage.engine import make_engine, migrate
from tocsin.adapters.storage.memory.store import MemoryStore
from tocsin.adapters.storage.sql.alerting import SqlAlertingStore
from tocsin.adapters.storage.sql.store import SqlStore
from tocsin.config import Settings
from tocsin.core.catalog import Catalog
from tocsin.core.errors import NotFound, Unavailable
from tocsin.core.levels import Level
from tocsin.core.sources import SourcesConfig
from tocsin.core.warnings.config import AlertingConfig, default_config
from tocsin.core.warnings.outbox import Channel
from tocsin.ports import AlertingStore, Clock, Notifier, Store
from tocsin.services.admin import AdminService
from tocsin.services.alert_receiver import AlertReceiverService
from tocsin.services.delivery import DeliveryWorker, Handoff
from tocsin.services.dispatcher import Dispatcher
from tocsin.services.group_commit import GroupCommitter
from tocsin.services.ingest import EventService, IngestService
from tocsin.services.intake import SourceIntake
from tocsin.services.rules import RuleBook
from tocsin.services.scoring import CHECKPOINT, ScoreRules
from tocsin.services.silences import SilenceService
from tocsin.services.staleness import SilenceCheck
from tocsin.services.warnings import WarningService

MEMORY_URL = "memory://"


@dataclass(frozen=True)
class Stores:
    """The storage a container runs on: the foundation store and the pipeline's store."""

    store: Store
    alerting: AlertingStore
    close: Callable[[], None]


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for an in-memory database or another dialect)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def open_stores(url: str, *, create: bool = True) -> Stores:
    """SQLite or PostgreSQL by URL, migrated to the current schema, or `memory://` for the
    in-memory reference store (nothing survives the process).

    With `create` False (every command that only reads), a database that does not exist yet is
    an error and nothing is created: no file, no folder, no schema. A database that cannot be
    reached is `Unavailable`, in one sentence.
    """
    if url.startswith(MEMORY_URL):
        memory = MemoryStore()
        return Stores(memory, memory, memory.close)
    store = _open_sql(url, create=create)
    return Stores(store, SqlAlertingStore(store.engine), store.close)


def _open_sql(url: str, *, create: bool) -> SqlStore:
    shown = make_url(url).render_as_string(hide_password=True)
    file = _sqlite_file(url)
    if file is not None and not file.is_file():
        if not create:
            raise NotFound(f"no database at {file} (create one with --config DIR, or tocsin demo)")
        file.parent.mkdir(parents=True, exist_ok=True)
    store = SqlStore(make_engine(url))
    try:
        if not create and not inspect(store.engine).has_table("alembic_version"):
            raise NotFound(f"{shown} holds no Tocsin database (run tocsin migrate first)")
        migrate(store.engine)
    except DBAPIError as err:
        store.close()
        reason = str(err.orig).strip().splitlines()[0] if err.orig else type(err).__name__
        raise Unavailable(f"cannot open the database {shown}: {reason}") from err
    except NotFound:
        store.close()
        raise
    return store


@dataclass
class Container:
    """Everything a delivery layer needs, wired."""

    settings: Settings
    stores: Stores
    store: Store
    bus: MemoryBus
    clock: Clock
    catalog: Catalog
    rules: RuleBook
    ingest: IngestService
    committer: GroupCommitter
    sources: SourcesConfig
    intake: SourceIntake
    silence: SilenceCheck
    events: EventService
    warnings: WarningService
    admin: AdminService
    # warning pipeline
    alerting_config: AlertingConfig
    alerting_store: AlertingStore
    handoff: Handoff
    dispatcher: Dispatcher
    delivery: DeliveryWorker
    silences: SilenceService
    alert_receiver: AlertReceiverService

    def close(self) -> None:
        """Commit what is queued (observations, alert posts), stop the delivery worker's
        sending, then release the database connections."""
        self.committer.close()
        self.alert_receiver.commits.close()
        self.delivery.close()
        self.stores.close()


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    stores: Stores | None = None,
    channels: Mapping[Channel, Notifier] | None = None,
    alerting: AlertingConfig | None = None,
) -> Container:
    """Open (and migrate) the database, load configuration, wire the services.

    `stores`, `channels` and `alerting` replace what the settings would choose (tests and
    benchmarks: a store shared across restarts, recording channels, a routing tree). The
    database is created only when configuration is given to load into it."""
    configured = load_catalog(settings.config_dir) if settings.config_dir is not None else None
    stores = stores or open_stores(settings.database_url, create=configured is not None)
    clock = clock or SystemClock()
    admin = AdminService(stores.store, clock)
    try:
        catalog, ids = _catalog(configured, store=stores.store, admin=admin)
    except NotFound:
        stores.close()
        raise
    rules = RuleBook.build(catalog, ids)
    bus = MemoryBus()
    config = alerting or _alerting_config(settings, catalog)
    notifiers = channels if channels is not None else default_channels(settings)
    lease = timedelta(seconds=settings.notify_lease_s)
    handoff = Handoff(notifiers, lease=lease)
    dispatcher = Dispatcher(stores.alerting, catalog, config=config, handoff=handoff)
    regions: set[str] = set(catalog.regions.regions)
    domains: set[str] = set(catalog.domains)
    ingest = _ingest(stores.store, rules, bus=bus, clock=clock)
    committer = GroupCommitter(
        ingest,
        max_group_rows=settings.ingest_group_rows,
        max_queued_rows=settings.ingest_queue_rows,
    )
    sources = load_sources(settings.config_dir, catalog) if settings.config_dir else SourcesConfig()
    silence = SilenceCheck(
        stores.store,
        bus,
        rules=rules,
        ingest=ingest,
        after_cadences=sources.silent_after_cadences,
        level=Level(sources.silent_level),
    )
    return Container(
        settings=settings,
        stores=stores,
        store=stores.store,
        bus=bus,
        clock=clock,
        catalog=catalog,
        rules=rules,
        ingest=ingest,
        committer=committer,
        sources=sources,
        intake=SourceIntake(ingest, committer),
        silence=silence,
        events=EventService(stores.store, bus, clock, regions, domains),
        warnings=WarningService(stores.store, bus, clock, catalog.regions),
        admin=admin,
        alerting_config=config,
        alerting_store=stores.alerting,
        handoff=handoff,
        dispatcher=dispatcher,
        delivery=DeliveryWorker(
            stores.alerting, notifiers, lease=lease, clock=clock, pacing=config.pacing
        ),
        silences=SilenceService(stores.alerting, clock, notices=dispatcher, handoff=handoff),
        alert_receiver=AlertReceiverService(stores.store, bus, clock, catalog),
    )


def _ingest(store: Store, rules: RuleBook, *, bus: MemoryBus, clock: Clock) -> IngestService:
    """The ingest service, with the rule state and the detectors' checkpoint as stored."""
    scoring = ScoreRules(rules)
    with store.transaction() as tx:
        state = tx.checkpoints.load_thresholds(rules.size)
        saved = tx.checkpoints.load(CHECKPOINT)
    if saved is not None and len(scoring):
        scoring.load(saved)
    return IngestService(store, bus, clock, rules, state, scoring if len(scoring) else None)


def _catalog(
    configured: Catalog | None, *, store: Store, admin: AdminService
) -> tuple[Catalog, dict[str, int]]:
    """The configured catalogue (applied to the store), else the one the store holds."""
    if configured is not None:
        return configured, admin.apply_catalog(configured, actor="system:config")
    with store.transaction() as tx:
        stored = tx.catalog.stored()
        ids = tx.catalog.indicator_ids()
    if stored is None:
        raise NotFound(
            "the database holds no configuration: pass --config DIR (or TOCSIN_CONFIG_DIR)"
        )
    return stored, ids


def _alerting_config(settings: Settings, catalog: Catalog) -> AlertingConfig:
    """Routes and escalation from the configuration directory, else the defaults."""
    if settings.config_dir is None:
        return default_config()
    return load_alerting(settings.config_dir, catalog)


def default_channels(settings: Settings) -> dict[Channel, Notifier]:
    """The delivery channels the settings enable (webhooks and files always; e-mail with an
    SMTP host)."""
    secret = settings.webhook_secret
    out: dict[Channel, Notifier] = {
        Channel.WEBHOOK: WebhookNotifier(
            secret=secret.get_secret_value().encode() if secret else None
        ),
        Channel.FILE: JsonLinesNotifier(),
    }
    if settings.smtp_host:
        password = settings.smtp_password
        out[Channel.EMAIL] = EmailNotifier(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=password.get_secret_value() if password else None,
        )
    return out
