"""The composition root: settings -> adapters -> services."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from tocsin.adapters.alerting_yaml import load_alerting
from tocsin.adapters.bus.memory import MemoryBus
from tocsin.adapters.cap.codec import XmlCap
from tocsin.adapters.cap.fetch import HttpFetcher
from tocsin.adapters.cap.schema import CapSchema
from tocsin.adapters.cap_yaml import load_cap
from tocsin.adapters.clock import SystemClock
from tocsin.adapters.config_yaml import load_catalog
from tocsin.adapters.contact_cipher import AesGcmContactCipher
from tocsin.adapters.notifiers.email import EmailNotifier
from tocsin.adapters.notifiers.jsonl_file import JsonLinesNotifier
from tocsin.adapters.notifiers.sms import SmsGateway
from tocsin.adapters.notifiers.webhook import WebhookNotifier
from tocsin.adapters.plans_yaml import load_plans
from tocsin.adapters.report_types_yaml import load_report_types
from tocsin.adapters.reports.renderer import SituationRenderer
from tocsin.adapters.sources_yaml import load_sources
from tocsin.adapters.storage.engine import make_engine, migrate
from tocsin.adapters.storage.faults import fault_sentence, is_fault
from tocsin.adapters.storage.memory.store import MemoryStore
from tocsin.adapters.storage.sealing import DEV_KEY, use_key
from tocsin.adapters.storage.sql.alerting import SqlAlertingStore
from tocsin.adapters.storage.sql.store import SqlStore
from tocsin.adapters.stream.config import NatsStreamConfig
from tocsin.adapters.versions import UniversOrder
from tocsin.config import Settings
from tocsin.core.cap.config import CapConfig
from tocsin.core.catalog import Catalog
from tocsin.core.errors import InvalidConfig, NotFound, Problem, TocsinError, Unavailable
from tocsin.core.incidents.plans import PlanBook
from tocsin.core.levels import Level
from tocsin.core.observation_rollups import AfterRetention, RollupPolicy
from tocsin.core.report_abuse import RateLimit
from tocsin.core.report_deadlines import ReportDeadlines
from tocsin.core.report_types import ReportType
from tocsin.core.sources import SourcesConfig
from tocsin.core.warnings.config import AlertingConfig, default_config
from tocsin.core.warnings.outbox import Channel
from tocsin.core.warnings.silence_approval import BreadthPolicy
from tocsin.ports import AlertingStore, Clock, Notifier, ReportRenderer, ResponseStore, Store
from tocsin.services.access import AccessService, CredentialChanges
from tocsin.services.admin import AdminService
from tocsin.services.alert_receiver import AlertReceiverService
from tocsin.services.alert_view import AlertViewService
from tocsin.services.audit import AuditService
from tocsin.services.cap_imports import CapImportService
from tocsin.services.delivery import DeliveryWorker, Handoff
from tocsin.services.dispatcher import Dispatcher
from tocsin.services.exposure import ExposureService
from tocsin.services.group_commit import GroupCommitter
from tocsin.services.incidents import IncidentService
from tocsin.services.indicators import IndicatorService
from tocsin.services.ingest import (
    EventService,
    IngestService,
    ObservationCommitter,
    load_rule_state,
)
from tocsin.services.intake import SourceIntake
from tocsin.services.leadership import (
    FencedAlertingStore,
    ProcessLeases,
    process_holder,
)
from tocsin.services.linked_scope import LinkedScope
from tocsin.services.public_alert_follower import PublicAlertFollower
from tocsin.services.public_alert_views import PublicAlertViews
from tocsin.services.public_alerts import PublicAlertService
from tocsin.services.publication import Drafter, Publisher
from tocsin.services.report_counts import ReportCounts
from tocsin.services.report_deadlines import ReportOverdue
from tocsin.services.report_incidents import ReportIncidents
from tocsin.services.reporter_mail import ReporterMail
from tocsin.services.reports import ReportPolicy, ReportService
from tocsin.services.responder import Responder
from tocsin.services.response_pass import ResponseContext, ResponseRuntime
from tocsin.services.retention import Periods, RetentionService
from tocsin.services.rules import RuleBook
from tocsin.services.scorecard import ScorecardService
from tocsin.services.security_alerts import SecurityAlertService
from tocsin.services.sign_in import SignInService
from tocsin.services.silences import SilenceService
from tocsin.services.situation import SituationService
from tocsin.services.staleness import SilenceCheck
from tocsin.services.stream_intake import StreamIntake
from tocsin.services.tasks import TaskService
from tocsin.services.warnings import WarningService

if TYPE_CHECKING:
    from tocsin.adapters.stream.nats import NatsStream

MEMORY_URL = "memory://"


@dataclass(frozen=True)
class Stores:
    """The storage a container runs on: the foundation store and the pipeline's store."""

    store: Store
    alerting: AlertingStore
    close: Callable[[], None]
    response: ResponseStore | None = None  # incidents and tasks (the pipeline's store)


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
        return Stores(memory, memory, memory.close, memory)
    store = _open_sql(url, create=create)
    alerting = SqlAlertingStore(store.engine)
    return Stores(store, alerting, store.close, alerting)


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
        if _sqlite_file(url) is not None and is_fault(err):  # say what to check
            reason = f"{reason}: {fault_sentence(err)}"
        raise Unavailable(f"cannot open the database {shown}: {reason}") from err
    except NotFound:
        store.close()
        raise
    return store


@dataclass(frozen=True)
class CapServices:
    """Public alerts: configuration, people's use cases, reads, the follower, imports."""

    config: CapConfig
    alerts: PublicAlertService
    views: PublicAlertViews
    follower: PublicAlertFollower
    imports: CapImportService


@dataclass(frozen=True)
class Response:
    """The response (incidents, plans, tasks, scorecards, situation reports), wired."""

    plans: PlanBook
    responder: Responder
    incidents: IncidentService
    tasks: TaskService
    scorecards: ScorecardService
    situation: SituationService
    renderer: ReportRenderer


def response_store(stores: Stores) -> ResponseStore:
    """The store of incidents and tasks (and of their notices' outbox)."""
    if stores.response is None:
        raise Unavailable("these stores keep no incidents (Stores.response is not set)")
    return stores.response


def _response(
    stores: Stores,
    *,
    catalog: Catalog,
    plans: PlanBook,
    clock: Clock,
    handoff: Handoff,
    indicators: IndicatorService,
    report_types: Mapping[str, ReportType],
) -> Response:
    """The response's services over the pipeline's store (incidents, tasks, reports)."""
    store = response_store(stores)
    context = ResponseContext(catalog, plans)
    runtime = ResponseRuntime(store, clock, context, handoff)
    domains = {code: str(t.domain) for code, t in report_types.items()}
    incidents = IncidentService(runtime, LinkedScope(stores.alerting, stores.store, domains))
    situation = SituationService(store, stores.store, context, incidents, indicators, handoff)
    return Response(
        plans=plans,
        responder=Responder(store, context, handoff=handoff, reports=situation),
        incidents=incidents,
        tasks=TaskService(runtime),
        scorecards=ScorecardService(store, context),
        situation=situation,
        renderer=SituationRenderer(catalog.regions),
    )


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
    committer: ObservationCommitter
    sources: SourcesConfig
    intake: SourceIntake
    silence: SilenceCheck
    events: EventService
    warnings: WarningService
    admin: AdminService
    access: AccessService
    audit: AuditService
    retention: RetentionService
    sign_in: SignInService
    indicators: IndicatorService
    # warning pipeline
    alerting_config: AlertingConfig
    alerting_store: AlertingStore
    handoff: Handoff
    dispatcher: Dispatcher
    delivery: DeliveryWorker
    silences: SilenceService
    alert_receiver: AlertReceiverService
    alert_views: AlertViewService  # open warnings as Alertmanager's API lists alerts
    cap: CapServices
    response: Response
    exposure: ExposureService
    security_alerts: SecurityAlertService
    leases: ProcessLeases
    reports: ReportService
    report_overdue: ReportOverdue
    reporter_mail: ReporterMail | None  # reporters' status e-mails (None: no contact key)
    api_keys: Mapping[str, str]  # an app's Open311 API key -> its label
    stream: StreamIntake | None = None  # the "api" role's ingest stream

    def close(self) -> None:
        """Commit what is queued (reports, observations, alert posts), stop the delivery
        worker's sending, give up the leases this process holds, and release the database
        connections."""
        self.reports.close()
        self.committer.close()
        self.alert_receiver.commits.close()
        self.delivery.close()
        if self.stream is not None:
            self.stream.close()
        self.leases.release()
        self.stores.close()


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    stores: Stores | None = None,
    channels: Mapping[Channel, Notifier] | None = None,
    alerting: AlertingConfig | None = None,
    cap: CapConfig | None = None,
    address: str = "",
) -> Container:
    """Open (and migrate) the database, load configuration, wire the services.

    `stores`, `channels`, `alerting` and `cap` replace what the settings would choose (tests
    and benchmarks: a store shared across restarts, recording channels, a routing tree). The
    database is created only when configuration is given to load into it. `address` is where
    this process serves (named to clients when another process is the owner)."""
    use_secret_key(settings)
    configured = load_catalog(settings.config_dir) if settings.config_dir is not None else None
    stores = stores or open_stores(settings.database_url, create=configured is not None)
    clock = clock or SystemClock()
    changes = CredentialChanges()  # one count for the process: a kept principal is still good
    admin = AdminService(stores.store, clock, changes=changes)
    try:
        catalog, ids = _catalog(configured, store=stores.store, admin=admin)
    except NotFound:
        stores.close()
        raise
    admin.use_catalog(catalog)
    rules = RuleBook.build(catalog, ids)
    bus = MemoryBus()
    config = alerting or _alerting_config(settings, catalog)
    notifiers = channels if channels is not None else default_channels(settings)
    lease = timedelta(seconds=settings.notify_lease_s)
    handoff = Handoff(notifiers, lease=lease)
    leases = ProcessLeases(
        stores.store,
        clock,
        holder=process_holder(address),
        ttl=timedelta(seconds=settings.lease_s),
    )
    dispatcher = Dispatcher(
        FencedAlertingStore(stores.alerting, leases.dispatch),
        catalog,
        config=config,
        handoff=handoff,
    )
    access = AccessService(stores.store, clock, catalog, changes)
    regions: set[str] = set(catalog.regions.regions)
    domains: set[str] = set(catalog.domains)
    skew = timedelta(seconds=settings.max_clock_skew_s)
    ingest = _ingest(stores.store, rules, bus=bus, clock=clock, max_ahead=skew, leases=leases)
    stream = _stream_intake(settings, rules)
    committer: ObservationCommitter = GroupCommitter(
        ingest.ingest_group if stream is None else stream.append_group,
        size=len,
        max_group_rows=settings.ingest_group_rows,
        max_queued_rows=settings.ingest_queue_rows,
        after=ingest.settle if stream is None else None,
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
    indicators = IndicatorService(stores.store, catalog, rules)
    plans = load_plans(settings.config_dir, catalog) if settings.config_dir else PlanBook()
    report_types = load_report_types(settings.config_dir, catalog)
    response = _response(
        stores,
        catalog=catalog,
        plans=plans,
        clock=clock,
        handoff=handoff,
        indicators=indicators,
        report_types=report_types,
    )
    reports = _reports(
        settings,
        stores.store,
        clock=clock,
        bus=bus,
        catalog=catalog,
        counts=ReportCounts(committer, rules.ids),
        chain=ResponseContext(catalog, plans).chain,
        incidents=ReportIncidents(response.incidents),
        types=report_types,
    )
    reporter_mail = _reporter_mail(
        settings, stores.store, clock=clock, reports=reports, mailer=notifiers.get(Channel.EMAIL)
    )
    if reporter_mail is not None and reporter_mail.serves:
        notifiers = {**notifiers, Channel.REPORTER: reporter_mail}
    warnings = WarningService(stores.store, bus, clock, catalog.regions, catalog.assets)
    silences = SilenceService(
        stores.alerting,
        clock,
        notices=dispatcher,
        handoff=handoff,
        regions=catalog.regions,
        policy=_breadth(settings, catalog),
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
        warnings=warnings,
        admin=admin,
        access=access,
        audit=AuditService(stores.store),
        retention=RetentionService(
            stores.store, clock, _periods(settings), observations=_rollups(settings)
        ),
        sign_in=SignInService(
            stores.store, clock, access, session_for=timedelta(hours=settings.session_hours)
        ),
        indicators=indicators,
        alerting_config=config,
        alerting_store=stores.alerting,
        handoff=handoff,
        dispatcher=dispatcher,
        delivery=DeliveryWorker(
            stores.alerting, notifiers, lease=lease, clock=clock, pacing=config.pacing
        ),
        silences=silences,
        alert_receiver=AlertReceiverService(stores.store, bus, clock, catalog, max_ahead=skew),
        alert_views=AlertViewService(warnings, stores.alerting, clock, catalog, config, silences),
        leases=leases,
        cap=_cap(
            settings,
            cap or _cap_config(settings, catalog),
            stores=stores,
            catalog=catalog,
            handoff=handoff,
            clock=clock,
            bus=bus,
        ),
        response=response,
        exposure=ExposureService(
            stores.store, bus, clock=clock, catalog=catalog, order=UniversOrder()
        ),
        security_alerts=SecurityAlertService(
            stores.store, clock, catalog=catalog, ingest=ingest, stream=stream
        ),
        reports=reports,
        report_overdue=ReportOverdue(
            stores.store,
            response_store(stores),
            clock=clock,
            units=catalog.units,
            deadlines=reports.policy.deadlines,
            handoff=handoff,
        ),
        reporter_mail=reporter_mail,
        api_keys=api_keys(settings),
        stream=stream,
    )


def _reporter_mail(
    settings: Settings, store: Store, *, clock: Clock, reports: ReportService, mailer: object
) -> ReporterMail | None:
    """Reporters' status updates: with a contact key (else no contact is kept), sent through
    the e-mail channel when there is one, and to phone numbers through the SMS gateway when
    one is configured."""
    if reports.cipher is None:
        return None
    base = (settings.report_public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    sender = mailer if isinstance(mailer, EmailNotifier) else None
    sms = None
    if settings.sms_gateway_url:
        sms = SmsGateway(
            settings.sms_gateway_url,
            username=settings.sms_username,
            password=settings.sms_password,
            sender=settings.sms_from,
        )
    return ReporterMail(store, clock, reports.cipher, base, mailer=sender, sms=sms)


def _breadth(settings: Settings, catalog: Catalog) -> BreadthPolicy:
    """What one person may silence alone (the hierarchy's top level needs two, by default)."""
    wide = settings.silence_approval_levels
    if wide is None:
        wide = list(catalog.regions.levels[:1])
    return BreadthPolicy(frozenset(wide), timedelta(hours=settings.silence_approval_after_h))


def _periods(settings: Settings) -> Periods:
    return Periods(
        notifications=timedelta(days=settings.retain_notifications_days),
        sign_ins=timedelta(days=settings.retain_sign_ins_days),
        events=timedelta(days=settings.retain_events_days),
    )


def _rollups(settings: Settings) -> RollupPolicy | None:
    """What becomes of raw observations past their retention (None: they are kept)."""
    if settings.retain_observations_days is None:
        return None
    return RollupPolicy(
        timedelta(days=settings.retain_observations_days),
        interval_s=settings.observation_rollup_s,
        after=AfterRetention(settings.observations_after_retention),
    )


def use_secret_key(settings: Settings) -> None:
    """Seal with the configured key; without one, only in dev (or with nothing stored)."""
    key = settings.secret_key
    if key is not None:
        use_key(key.get_secret_value().strip().encode())
    elif settings.env == "dev" or settings.database_url.startswith(MEMORY_URL):
        use_key(DEV_KEY)
    else:
        raise TocsinError(
            "TOCSIN_SECRET_KEY is required (it encrypts receiver credentials and e-mail "
            "addresses): set it to the output of `tocsin keys new`, or TOCSIN_ENV=dev to "
            "develop with a published key"
        )


def _reports(
    settings: Settings,
    store: Store,
    *,
    clock: Clock,
    bus: MemoryBus,
    catalog: Catalog,
    counts: ReportCounts,
    chain: Callable[[str, str], Sequence[str]],
    incidents: ReportIncidents,
    types: Mapping[str, ReportType],
) -> ReportService:
    """The report service: the report types, the contact cipher (if a key is set), the policy."""
    key = settings.report_contact_key
    policy = ReportPolicy(
        coarsen_m=settings.report_coarsen_m,
        contact_retention=timedelta(days=settings.report_contact_retention_days),
        duplicate_window=timedelta(seconds=settings.report_duplicate_window_s),
        photo_max_bytes=settings.report_photo_max_bytes,
        per_client=RateLimit(settings.report_rate_per_client_per_minute, timedelta(minutes=1)),
        per_range=RateLimit(settings.report_rate_per_range_per_10_minutes, timedelta(minutes=10)),
        deadlines=ReportDeadlines(
            acknowledge_within=timedelta(hours=settings.report_acknowledge_within_h),
            close_within=timedelta(hours=settings.report_close_within_h),
        ),
    )
    return ReportService(
        store,
        clock,
        bus=bus,
        catalog=catalog,
        types=types,
        cipher=AesGcmContactCipher(key.get_secret_value()) if key is not None else None,
        policy=policy,
        counts=counts,
        chain=chain,
        incidents=incidents,
    )


def api_keys(settings: Settings) -> dict[str, str]:
    """The Open311 API keys (`label:key` pairs, and the public page's key as `web`) by key."""
    out: dict[str, str] = {}
    raw = settings.open311_api_keys.get_secret_value() if settings.open311_api_keys else ""
    for i, pair in enumerate(p for p in raw.split(",") if p.strip()):
        label, sep, key = pair.strip().partition(":")
        if not sep or not label or len(key) < 16:
            why = "not `label:key` with a key of at least 16 characters"
            raise InvalidConfig([Problem("TOCSIN_OPEN311_API_KEYS", f"[{i}]", why)])
        out[key] = label
    if settings.open311_web_key is not None:
        out[settings.open311_web_key.get_secret_value()] = "web"
    return out


def stream_config(settings: Settings) -> NatsStreamConfig:
    """The ingest stream's connection and shape, from the TOCSIN_STREAM_* settings."""
    hours = settings.stream_max_age_h
    return NatsStreamConfig(
        url=settings.stream_url,
        name=settings.stream_name,
        subject=settings.stream_subject,
        duplicate_window_s=settings.stream_duplicate_window_s,
        max_age_s=hours * 3600 if hours is not None else None,
        replicas=settings.stream_replicas,
    )


def _stream_intake(settings: Settings, rules: RuleBook) -> StreamIntake | None:
    """Where accepted batches go in the "api" role: the ingest stream, for the workers (in the
    "single" role, None: they are stored in this process)."""
    if settings.role == "single":
        return None
    return StreamIntake(stream_reader(settings), rules, partitions=settings.stream_partitions)


def stream_reader(settings: Settings) -> NatsStream:
    """The NATS JetStream adapter (imported only where a role uses it)."""
    try:
        from tocsin.adapters.stream.nats import NatsStream
    except ImportError as err:
        raise InvalidConfig(
            [
                Problem(
                    "TOCSIN_ROLE",
                    "",
                    f"needs the broker extra (pip install 'tocsin[broker]'): {err}",
                )
            ]
        ) from err
    return NatsStream(stream_config(settings))


def _ingest(
    store: Store,
    rules: RuleBook,
    *,
    bus: MemoryBus,
    clock: Clock,
    max_ahead: timedelta,
    leases: ProcessLeases,
) -> IngestService:
    """The ingest service, with the rule state and the detectors' checkpoint as stored, owned
    through the rules lease (reloaded when this process takes the lease over)."""
    state, scoring = load_rule_state(store, rules)
    service = IngestService(
        store, bus, clock, rules, state, scoring, max_ahead=max_ahead, owner=leases.rules
    )
    leases.rules.on_gain = service.adopt
    return service


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


def _cap_config(settings: Settings, catalog: Catalog) -> CapConfig:
    """cap.yaml from the configuration directory, else the defaults (served at host:port)."""
    base_url = f"http://{settings.host}:{settings.port}"
    return load_cap(settings.config_dir, catalog, base_url=base_url)


def cap_schema_path(settings: Settings) -> Path:
    """Where the OASIS CAP 1.2 schema is read from."""
    return settings.cap_schema or settings.benchdata / "cap" / "schema" / "CAP-v1.2.xsd"


def cap_codec(settings: Settings, config: CapConfig | None = None) -> XmlCap:
    """CAP XML writing, reading and checking against the schema the settings name."""
    config = config or CapConfig()
    return XmlCap(
        CapSchema(cap_schema_path(settings)),
        base_url=config.base_url,
        title=f"{config.sender_name}: public alerts",
        author=config.sender_name,
    )


def _cap(
    settings: Settings,
    config: CapConfig,
    *,
    stores: Stores,
    catalog: Catalog,
    handoff: Handoff,
    clock: Clock,
    bus: MemoryBus,
) -> CapServices:
    """The public alert services over one codec (the schema is read on first use)."""
    codec = cap_codec(settings, config)
    drafter = Drafter(catalog, config)
    publisher = Publisher(codec, config, handoff)
    alerts = PublicAlertService(
        stores.alerting, clock, drafter, publisher, publish_on_approval=config.publish_on_approval
    )
    return CapServices(
        config=config,
        alerts=alerts,
        views=PublicAlertViews(stores.alerting, clock, catalog, publisher, codec),
        follower=PublicAlertFollower(stores.alerting, alerts, config),
        imports=CapImportService(stores.store, bus, clock, catalog, config, codec, HttpFetcher()),
    )


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
