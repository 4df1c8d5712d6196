"""The composition root: settings -> adapters -> services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from tocsin.adapters.alerting_yaml import load_alerting
from tocsin.adapters.bus.memory import MemoryBus
from tocsin.adapters.clock import SystemClock
from tocsin.adapters.config_yaml import load_catalog
from tocsin.adapters.notifiers.email import EmailNotifier
from tocsin.adapters.notifiers.webhook import WebhookNotifier
from tocsin.adapters.storage.alerting import SqlAlertingStore
from tocsin.adapters.storage.engine import make_engine, migrate
from tocsin.adapters.storage.sql import SqlStore
from tocsin.config import Settings
from tocsin.core.catalog import Catalog
from tocsin.core.errors import NotFound
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


def _ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


def build(settings: Settings, *, clock: Clock | None = None) -> Container:
    """Open (and migrate) the database, load configuration, wire the services."""
    _ensure_sqlite_dir(settings.database_url)
    store = SqlStore(make_engine(settings.database_url))
    migrate(store.engine)
    clock = clock or SystemClock()
    admin = AdminService(store, clock)
    if settings.config_dir is not None:
        catalog = load_catalog(settings.config_dir)
        ids = admin.apply_catalog(catalog, actor="system:config")
    else:
        with store.transaction() as tx:
            stored = tx.stored_catalog()
            ids = tx.indicator_ids()
        if stored is None:
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
    """The delivery channels the settings enable (webhooks always; e-mail with an SMTP host)."""
    secret = settings.webhook_secret
    out: dict[Channel, Notifier] = {
        Channel.WEBHOOK: WebhookNotifier(
            secret=secret.get_secret_value().encode() if secret else None
        )
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
