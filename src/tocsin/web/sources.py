"""The source loops a serving process runs: the "source silent" check, the MQTT subscriber, the
pulled feeds, the syslog receiver of security alerts and the vulnerability feeds (each only when
configured). `start_sources` starts them and returns the function that stops them all."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from tocsin.adapters.sources.advisory_feeds import AdvisoryFeedLoop
from tocsin.adapters.sources.mqtt import MqttSubscriber
from tocsin.adapters.sources.pull import FeedPuller
from tocsin.adapters.sources.syslog import SyslogReceiver
from tocsin.bootstrap import Container
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.core.errors import NotOwner
from tocsin.core.exposure.advisories import Advisory
from tocsin.core.sources import SourceKind
from tocsin.core.syslog import listen_addresses
from tocsin.services.staleness import start_silence_checks

log = logging.getLogger(__name__)


def start_sources(container: Container) -> Callable[[], None]:
    """Start what the configuration asks for; return a function that stops it."""
    stops: list[Callable[[], None]] = []
    if not runs_sources(container.settings):
        return lambda: None
    # the configuration may have changed what assets run: bring exposure warnings in line
    try:
        container.exposure.reconcile(actor="rule:exposure (start)")
    except NotOwner as err:  # a standby: the process owning the rules writes warnings
        log.info("exposure not reconciled at start: %s", err)
    # in the API role the workers hold the indicators' newest times, not this process: each
    # worker runs the source-silent check for its partitions (`tocsin worker`)
    if container.silence.watched and container.settings.role == "single":
        interval = timedelta(seconds=container.settings.silence_check_interval_s)
        stops.append(start_silence_checks(container.silence, container.clock, interval=interval))
    sources, intake = container.sources, container.intake
    subscriber = mqtt_subscriber(container)
    if subscriber is not None:
        subscriber.start()
        stops.append(subscriber.stop)
    for advisories in sources.advisories:
        loop = AdvisoryFeedLoop(advisories, deliver=partial(_import, container=container))
        loop.start()
        stops.append(loop.stop)
    if container.settings.syslog_listen:
        stops.extend(_syslog(container, container.settings.syslog_listen))
    for feed in sources.pull:
        puller = FeedPuller(
            feed,
            deliver=partial(intake.deliver, SourceKind.PULL),
            counts=intake.counts[SourceKind.PULL],
        )
        puller.start()
        stops.append(puller.stop)

    def stop() -> None:
        for each in reversed(stops):
            each()

    return stop


def runs_sources(settings: Settings) -> bool:
    """Whether this serving process runs the source loops: `TOCSIN_SOURCE_LOOPS`, or when it is
    unset, `TOCSIN_BACKGROUND_WORKERS`.

    >>> runs_sources(Settings(background_workers=False, source_loops=True))
    True
    >>> runs_sources(Settings(background_workers=False))
    False
    """
    chosen = settings.source_loops
    return settings.background_workers if chosen is None else chosen


def mqtt_subscriber(container: Container) -> MqttSubscriber | None:
    """The MQTT subscriber of the configured broker and topics (not started), or None."""
    sources, intake = container.sources, container.intake
    if sources.mqtt_broker is None:
        return None
    return MqttSubscriber(
        sources.mqtt_broker,
        sources.mqtt_topics,
        deliver=partial(intake.deliver, SourceKind.MQTT),
        counts=intake.counts[SourceKind.MQTT],
        now=container.clock.now,
    )


def _import(advisories: list[Advisory], name: str, *, container: Container) -> object:
    """Deliver a scheduled feed's advisories to the exposure service."""
    return container.exposure.import_advisories(
        advisories, principal=system_principal(f"feed:{name}"), where=name
    )


def _syslog(container: Container, listen: str) -> list[Callable[[], None]]:
    """Start the syslog receiver of security alerts; a port that cannot be bound is said in one
    sentence and the rest of the process runs without it."""
    receive = partial(container.security_alerts.receive, principal=system_principal("syslog"))
    receiver = SyslogReceiver(listen_addresses(listen), deliver=receive, now=container.clock.now)
    try:
        receiver.start()
    except OSError as err:
        log.error("syslog receiver not started: cannot listen on %s: %s", listen, err.strerror)
        return []
    return [receiver.stop]
