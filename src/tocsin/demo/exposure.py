"""The demo's cyber exposure: packaged NVD and KEV records imported as an operator would.

The demo's substation runs a web server release with two known-exploited vulnerabilities
(`demo/data/exposure/`, see its README); importing the feeds raises the cyber warnings, and the
exposure view shows what fails with the substation.
"""

from __future__ import annotations

from tocsin.adapters.vulnerability_feeds import parse_feed
from tocsin.bootstrap import Container
from tocsin.core.access import system_principal
from tocsin.core.exposure.advisories import Feed
from tocsin.demo import sources
from tocsin.services.exposure import Change

FEEDS = (Feed.NVD, Feed.KEV)


def import_demo_feeds(container: Container) -> list[Change]:
    """Import the packaged feeds (NVD first, then the catalogue) into the demo's store."""
    changes = []
    for feed in FEEDS:
        name = f"exposure/{feed.value}.json"
        advisories = parse_feed(feed, sources.read_text(name), where=f"demo {name}")
        changes.append(
            container.exposure.import_advisories(
                advisories, principal=system_principal("demo"), where=f"demo {name}"
            )
        )
    return changes
