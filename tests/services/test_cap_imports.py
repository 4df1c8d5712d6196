"""Reading other agencies' CAP alerts: every valid file of the benchmark data and the OASIS
examples accepted, every must-reject file refused with a reason and nothing stored; a
neighbour's red flood warning appears on our board, changes with their updates and goes away
when they cancel it; our own feed, read back over HTTP, gives the same alerts."""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path

import pytest

from tests.cap_support import SYSTEM, T0, World, cap_world
from tests.conftest import BENCHDATA
from tocsin.core.cap.config import CapSource
from tocsin.core.cap.times import format_time
from tocsin.core.errors import Forbidden, InvalidInput
from tocsin.core.levels import Level
from tocsin.services.publication import Choices
from tocsin.web.app import create_web_app
from tocsin.web.server import serving

CAP = BENCHDATA / "cap"
VALID = sorted((CAP / "valid-1.2").iterdir()) + sorted((CAP / "oasis-spec-examples").iterdir())
INVALID = sorted((CAP / "invalid").iterdir())
RULES = {
    "rules": [
        {
            "name": "neighbour-floods",
            "senders": ["*@neighbour.example"],
            "events": ["flood"],
            "domain": "natural.flood",
            "min_level": "yellow",
        }
    ]
}
D21_POLYGON = "45.2,12.2 45.2,12.8 45.8,12.8 45.8,12.2 45.2,12.2"  # inside D21 (lon 12-13)
P1_POLYGON = "44.9,9.9 44.9,12.0 46.1,12.0 46.1,9.9 44.9,9.9"  # all of D11 and D12


def neighbour(
    identifier: str,
    *,
    msg_type: str = "Alert",
    severity: str = "Extreme",
    polygon: str = D21_POLYGON,
    references: str = "",
    sent_after: timedelta = timedelta(0),
    expires_after: timedelta = timedelta(hours=6),
) -> bytes:
    """A neighbouring agency's flood alert, written by hand (not by our writer)."""
    sent = format_time(T0 + sent_after)
    refs = f"<references>{references}</references>" if references else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier>
  <sender>met@neighbour.example</sender>
  <sent>{sent}</sent>
  <status>Actual</status>
  <msgType>{msg_type}</msgType>
  <scope>Public</scope>
  {refs}
  <info>
    <category>Met</category>
    <event>River flood</event>
    <urgency>Immediate</urgency>
    <severity>{severity}</severity>
    <certainty>Likely</certainty>
    <expires>{format_time(T0 + sent_after + expires_after)}</expires>
    <headline>Flood warning for the lower valley</headline>
    <area>
      <areaDesc>Lower valley</areaDesc>
      <polygon>{polygon}</polygon>
    </area>
  </info>
</alert>""".encode()


def ref(identifier: str, after: timedelta = timedelta(0)) -> str:
    return f"met@neighbour.example,{identifier},{format_time(T0 + after)}"


def _flood_warnings(world: World) -> list[tuple[str, Level]]:
    found = world.container.warnings.find(principal=SYSTEM)
    return sorted((w.region, w.level) for w in found if w.source == "cap")


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_every_valid_alert_and_oasis_example_is_accepted(tmp_path: Path, path: Path) -> None:
    with cap_world(tmp_path, "memory://") as world:
        result = world.container.cap.imports.push(path.read_bytes(), principal=SYSTEM)
        assert (result.read, result.new) == (1, 1)
        (stored,) = world.container.cap.imports.find(principal=SYSTEM)
        assert stored.identifier
        assert stored.xml
        again = world.container.cap.imports.push(path.read_bytes(), principal=SYSTEM)
        assert again.new == 0  # the same message twice is read once


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_every_must_reject_file_is_refused_with_a_reason_and_nothing_stored(
    tmp_path: Path, path: Path
) -> None:
    with cap_world(tmp_path, f"sqlite:///{tmp_path / 't.db'}") as world:
        imports = world.container.cap.imports
        with pytest.raises(InvalidInput) as refused:
            imports.push(path.read_bytes(), principal=SYSTEM)
        assert refused.value.problems
        assert all(p.reason and p.where for p in refused.value.problems)
        assert imports.find(principal=SYSTEM) == []
        with world.container.store.transaction() as tx:
            assert tx.events.newest() == []


def test_hostile_documents_are_refused_before_anything_is_resolved(tmp_path: Path) -> None:
    laughs = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol2;</identifier></alert>"""
    with cap_world(tmp_path, "memory://") as world:
        imports = world.container.cap.imports
        with pytest.raises(InvalidInput, match="DTDs and entities are not allowed"):
            imports.push(laughs, principal=SYSTEM)
        huge = b"<alert>" + b" " * (world.container.cap.config.max_feed_bytes + 1) + b"</alert>"
        with pytest.raises(InvalidInput, match="bytes are refused"):
            imports.push(huge, principal=SYSTEM)
        assert imports.find(principal=SYSTEM) == []


def test_a_neighbours_red_flood_warning_appears_changes_and_goes_when_they_cancel(
    tmp_path: Path, db_url: str
) -> None:
    with cap_world(tmp_path, db_url, **{"import": RULES}) as world:
        imports = world.container.cap.imports
        first = imports.push(neighbour("nb-1"), principal=SYSTEM)
        assert (first.new, first.events) == (1, 1)
        assert _flood_warnings(world) == [("D21", Level.RED)]
        with world.container.store.transaction() as tx:
            (event,) = tx.events.newest()
        assert (event.event.region, event.event.domain) == ("D21", "natural.flood")
        world.later(30)
        update = neighbour(
            "nb-2",
            msg_type="Update",
            severity="Moderate",
            references=ref("nb-1"),
            sent_after=timedelta(minutes=30),
        )
        imports.push(update, principal=SYSTEM)
        assert _flood_warnings(world) == [("D21", Level.YELLOW)]  # the same warning, downgraded
        world.later(30)
        cancel = neighbour(
            "nb-3",
            msg_type="Cancel",
            references=ref("nb-2", timedelta(minutes=30)),
            sent_after=timedelta(minutes=60),
        )
        imports.push(cancel, principal=SYSTEM)
        assert _flood_warnings(world) == []
        lifted = world.container.warnings.find(principal=SYSTEM, open_only=False)
        assert [w.state.value for w in lifted if w.source == "cap"] == ["lifted"]


def test_a_polygon_lands_in_the_most_specific_regions_it_overlaps_and_expiry_lifts(
    tmp_path: Path,
) -> None:
    with cap_world(tmp_path, "memory://", **{"import": RULES}) as world:
        imports = world.container.cap.imports
        imports.push(
            neighbour("nb-p1", polygon=P1_POLYGON, expires_after=timedelta(hours=1)),
            principal=SYSTEM,
        )
        assert _flood_warnings(world) == [("D11", Level.RED), ("D12", Level.RED)]
        world.later(61)
        assert imports.expire() == 1
        assert _flood_warnings(world) == []


def test_an_import_outside_the_pushers_scope_is_refused_whole(tmp_path: Path) -> None:
    with cap_world(tmp_path, "memory://", **{"import": RULES}) as world:
        imports = world.container.cap.imports
        carol = world.person("carol")  # P2
        with pytest.raises(Forbidden, match="outside the scope of carol"):
            imports.push(neighbour("nb-x", polygon=P1_POLYGON), principal=carol)
        assert imports.find(principal=SYSTEM) == []
        assert imports.push(neighbour("nb-y"), principal=carol).new == 1
        assert [r.identifier for r in imports.find(principal=carol)] == ["nb-y"]
        with pytest.raises(Forbidden):
            imports.push(neighbour("nb-z"), principal=world.person("dave"))  # may not ingest


def test_our_own_feed_read_back_over_http_gives_the_same_alerts(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with cap_world(tmp_path / "ours", f"sqlite:///{tmp_path / 'ours.db'}", base_url=base) as ours:
        ours.observe("D11.river_level", 5.5)
        ours.observe("D21.reservoir", 25.0)
        published = []
        for subject in ("D11.river_level", "D21.reservoir"):
            alerts = ours.container.cap.alerts
            draft = alerts.draft_from_warning(
                ours.warning(subject).id, principal=ours.person("alice"), choices=Choices()
            )
            alerts.submit(draft.identifier, principal=ours.person("alice"))
            published.append(alerts.approve(draft.identifier, principal=ours.person("bob")))
        app = create_web_app(ours.container, risk=None)
        with (
            serving(app, port=port) as url,
            cap_world(tmp_path / "theirs", f"sqlite:///{tmp_path / 'theirs.db'}") as theirs,
        ):
            result = theirs.container.cap.imports.from_source(
                f"{url}/cap/feed.atom", principal=SYSTEM
            )
            assert (result.read, result.new) == (2, 2)
            read = theirs.container.cap.imports.find(principal=SYSTEM)
            got = {(r.identifier, r.sender, r.regions, r.level, r.msg_type.value) for r in read}
            want = {
                (p.identifier, p.message.sender, p.regions, p.level, "Alert") for p in published
            }
            assert got == want
            # the full feed embeds the alerts: read by a third Tocsin, the same alerts
            with cap_world(tmp_path / "third", "memory://") as third:
                full = third.container.cap.imports.from_source(
                    f"{url}/cap/feed.atom?full=true", principal=SYSTEM
                )
                assert (full.read, full.new) == (2, 2)
                again = third.container.cap.imports.find(principal=SYSTEM)
                assert {(r.identifier, r.level) for r in again} == {
                    (p.identifier, p.level) for p in published
                }
            # polled: the feed's entries are read again (nothing new); polled once more, the
            # server answers 304 Not Modified to the conditional GET
            source = CapSource("ours", f"{url}/cap/feed.atom")
            polled = theirs.container.cap.imports.poll(source, principal=SYSTEM)
            assert (polled.new, polled.not_modified) == (0, False)
            repeated = theirs.container.cap.imports.poll(source, principal=SYSTEM)
            assert repeated.not_modified


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_an_rss_feed_of_links_is_read_with_its_linked_documents(tmp_path: Path) -> None:
    (tmp_path / "nb-rss.xml").write_bytes(neighbour("nb-rss"))
    rss = """<?xml version="1.0"?><rss version="2.0"><channel><title>Neighbour</title>
<link>https://neighbour.example/</link>
<item><title>Flood</title><link>nb-rss.xml</link><guid>nb-rss</guid></item>
</channel></rss>"""
    (tmp_path / "feed.rss").write_text(rss, encoding="utf-8")
    with cap_world(tmp_path / "w", "memory://", **{"import": RULES}) as world:
        result = world.container.cap.imports.from_source(
            str(tmp_path / "feed.rss"), principal=SYSTEM
        )
        assert (result.read, result.new, result.events) == (1, 1, 1)
        assert _flood_warnings(world) == [("D21", Level.RED)]
