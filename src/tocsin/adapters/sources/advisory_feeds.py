"""Vulnerability feeds imported on a schedule: read, parse, deliver, every `every_s` seconds.

The loop runs on a daemon thread of the serving process (`web/sources.py` starts it). A feed
that cannot be read or is rejected is logged and tried again at the next turn; what was stored
before stays. The delivery (the exposure service's import) is given by the caller.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from tocsin.adapters.vulnerability_feeds import parse_feed, read_feed_text
from tocsin.core.errors import TocsinError
from tocsin.core.exposure.advisories import Advisory, Feed
from tocsin.core.sources import AdvisorySource

log = logging.getLogger(__name__)

Deliver = Callable[[list[Advisory], str], object]


@dataclass
class FeedTurns:
    """How the loop has fared: imports done, and the last problem (None after a good turn)."""

    imported: int = 0
    failed: int = 0
    last_problem: str | None = None


class AdvisoryFeedLoop:
    """Imports one vulnerability feed now and then every `every_s` seconds."""

    def __init__(self, source: AdvisorySource, *, deliver: Deliver) -> None:
        self.source = source
        self.deliver = deliver
        self.turns = FeedTurns()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"tocsin-advisories-{source.name}")

    def import_once(self) -> None:
        """Read, parse and deliver the feed once; a problem is counted and logged."""
        try:
            text = read_feed_text(self.source.location)
            advisories = parse_feed(Feed(self.source.feed), text, where=self.source.location)
            self.deliver(advisories, self.source.name)
        except TocsinError as err:
            self.turns.failed += 1
            self.turns.last_problem = str(err)
            log.warning("vulnerability feed %s not imported: %s", self.source.name, err)
            return
        self.turns.imported += 1
        self.turns.last_problem = None

    def start(self) -> None:
        """Import now, then every `every_s` seconds, on a daemon thread."""
        self.thread.daemon = True
        self.thread.start()

    def stop(self) -> None:
        """Stop after the import under way."""
        self.stopping.set()
        self.thread.join(timeout=120)

    def _run(self) -> None:
        while not self.stopping.is_set():
            self.import_once()
            self.stopping.wait(self.source.every_s)
