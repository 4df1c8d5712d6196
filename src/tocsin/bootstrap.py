"""The composition root: settings -> adapters -> services."""

from __future__ import annotations

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
from tocsin.adapters.storage.alerting import SqlAlertingStore
from tocsin.adapters.storage.engine import make_engine, migrate
from tocsin.adapters.storage.sql import SqlStore
from tocsin.config import Settings
from tocsin.core.catalog import Catalog
from tocsin.core.errors import NotFound, Unavailable
from tocsin.core.warnings.config import AlertingConfig, default_config
from tocsin.core.warnings.outbox import Channel
from tocsin.ports import Clock, Notifier
from tocsin.services.admin import AdminService
from tocsin.services.alert_receiver import AlertReceiverService
from tocsin.services.ingest import EventService, IngestService
from tocsin.services.notifications import DeliveryWorker, Dispatcher
from tocsin.services.rules import RuleBook
from tocsin.services.scoring import CHECKPOINT, ScoreRules
from tocsin.services.silences import SilenceService
from tocsin.services.warnings import WarningService


@dataclass
class Container:
    """Everything a delivery layer needs, wired."""

    settings: Settings
    store: SqlStore
    bus: MemoryBus
    clock: Clock
    catalog: Catalog
    rules: RuleBook
    ingest: IngestService
    events: EventService
    warnings: WarningService
    admin: AdminService
    # warning pipeline
    alerting_config: AlertingConfig
    alerting_store: SqlAlertingStore
    dispatcher: Dispatcher
    delivery: DeliveryWorker
    silences: SilenceService
    alert_receiver: AlertReceiverService

    def close(self) -> None:
        """Release the database connections."""
        self.store.close()


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for an in-memory database or another dialect)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def open_store(url: str, *, create: bool) -> SqlStore:
    """The database at `url`, migrated to the current schema.

    With `create` False (every command that only reads), a database that does not exist yet is
    an error and nothing is created: no file, no folder, no schema. A database that cannot be
    reached is `Unavailable`, in one sentence.
    """
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


def build(settings: Settings, *, clock: Clock | None = None) -> Container:
    """Open (and migrate) the database, load configuration, wire the services.

    The database is created only when configuration is given to load into it.
    """
    catalog = load_catalog(settings.config_dir) if settings.config_dir is not None else None
    store = open_store(settings.database_url, create=catalog is not None)
    clock = clock or SystemClock()
    admin = AdminService(store, clock)
    if catalog is not None:
        ids = admin.apply_catalog(catalog, actor="system:config")
    else:
        with store.transaction() as tx:
            stored = tx.stored_catalog()
            ids = tx.indicator_ids()
        if stored is None:
            store.close()
            raise NotFound(
                "the database holds no configuration: pass --config DIR (or TOCSIN_CONFIG_DIR)"
            )
        catalog = stored
    rules = RuleBook.build(catalog, ids)
    scoring = ScoreRules(rules)
    with store.transaction() as tx:
        state = tx.load_threshold_state(rules.size)
        saved = tx.load_checkpoint(CHECKPOINT)
    if saved is not None and len(scoring):
        scoring.load(saved)
    bus = MemoryBus()
    config, alerting_store, dispatcher, delivery = _alerting(settings, store, catalog, clock)
    return Container(
        settings=settings,
        store=store,
        bus=bus,
        clock=clock,
        catalog=catalog,
        rules=rules,
        ingest=IngestService(store, bus, clock, rules, state, scoring if len(scoring) else None),
        events=EventService(store, bus, clock, set(catalog.regions.regions), set(catalog.domains)),
        warnings=WarningService(store, bus, clock, catalog.regions),
        admin=admin,
        alerting_config=config,
        alerting_store=alerting_store,
        dispatcher=dispatcher,
        delivery=delivery,
        silences=SilenceService(alerting_store, clock, dispatcher),
        alert_receiver=AlertReceiverService(store, bus, clock, catalog),
    )


def notifiers(settings: Settings) -> dict[Channel, Notifier]:
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


def _alerting(
    settings: Settings, store: SqlStore, catalog: Catalog, clock: Clock
) -> tuple[AlertingConfig, SqlAlertingStore, Dispatcher, DeliveryWorker]:
    """The warning pipeline: routes/escalation config, dispatcher, delivery, silences, receiver."""
    config = (
        load_alerting(settings.config_dir, catalog)
        if settings.config_dir is not None
        else default_config()
    )
    alerting_store = SqlAlertingStore(store.engine)
    dispatcher = Dispatcher(alerting_store, catalog, config)
    delivery = DeliveryWorker(
        alerting_store,
        notifiers(settings),
        lease=timedelta(seconds=settings.notify_lease_s),
        clock=clock,
    )
    return config, alerting_store, dispatcher, delivery
