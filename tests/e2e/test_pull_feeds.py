"""Pulled feeds against a local HTTP server: a USGS-earthquake-shaped GeoJSON feed and a
river-gauge CSV, conditional GET (ETag, Last-Modified), a bad record refusing the fetch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.e2e.collector_harness import eventually, served_with_sources
from tests.http_server import local_http_server
from tocsin.adapters.sources.pull import FeedPuller
from tocsin.bootstrap import Container, build
from tocsin.cli.main import app
from tocsin.config import Settings
from tocsin.core.sources import PullSource, SourceCounts, SourceKind, TimeUnit
from tocsin.testing.scenario import write_small_config

T = 1_767_225_600


def quake(code: str, magnitude: Any, at_ms: int) -> dict[str, Any]:
    """A feature shaped like the USGS earthquake GeoJSON feed's."""
    return {
        "type": "Feature",
        "id": code,
        "properties": {"mag": magnitude, "time": at_ms, "net": code[:2], "place": "somewhere"},
        "geometry": {"type": "Point", "coordinates": [-117.6, 35.7, 8.2]},
    }


@dataclass
class Feed:
    """What the local server serves, and the conditional requests it saw."""

    documents: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # path: (body, etag)
    seen: list[tuple[str, str | None, str | None]] = field(default_factory=list)


@contextmanager
def feed_server(feed: Feed) -> Iterator[str]:
    """Serve `feed` on a free port (ETag and Last-Modified; 304 when they match)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, etag = feed.documents[self.path]
            since = self.headers.get("If-Modified-Since")
            match = self.headers.get("If-None-Match")
            feed.seen.append((self.path, match, since))
            if match == etag:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", "Thu, 01 Jan 2026 00:00:00 GMT")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            """Quiet."""

    with local_http_server(Handler) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def container(tmp_path: Path) -> Iterator[Container]:
    config = write_small_config(tmp_path / "config")
    built = build(Settings(database_url=f"sqlite:///{tmp_path / 't.db'}", config_dir=config))
    yield built
    built.close()


def _series(container: Container, code: str) -> tuple[list[int], list[float]]:
    with container.store.transaction() as tx:
        got = tx.observations.read(container.rules.ids[code])
    return got.times.tolist(), got.values.tolist()


def quakes_source(url: str) -> PullSource:
    return PullSource(
        name="quakes",
        url=f"{url}/quakes.geojson",
        format="geojson",
        every_s=60,
        value="properties.mag",
        time="properties.time",
        time_unit=TimeUnit.MILLISECONDS,
        indicator_field="properties.net",
        indicators={"ci": "D11.river_level"},  # stands for a seismic indicator of D11
    )


def quakes_puller(container: Container, url: str, counts: SourceCounts) -> FeedPuller:
    """A puller of the quakes feed at `url` into the container's ingest."""
    deliver = partial(container.intake.deliver, SourceKind.PULL)
    return FeedPuller(quakes_source(url), deliver=deliver, counts=counts)


def test_a_geojson_feed_with_conditional_gets(container: Container) -> None:
    feed = Feed()
    features = [quake("ci40001", 2.5, T * 1000), quake("nc7001", 3.1, T * 1000 + 999)]
    feed.documents["/quakes.geojson"] = (json.dumps({"features": features}).encode(), '"v1"')
    counts = container.intake.counts[SourceKind.PULL]
    with feed_server(feed) as url:
        puller = quakes_puller(container, url, counts)
        first = puller.fetch_once()
        assert (first.status, first.stored, first.unmapped) == (200, 1, 1)
        assert _series(container, "D11.river_level") == ([T], [2.5])
        assert puller.fetch_once().status == 304  # nothing new
        features.append(quake("ci40002", 4.0, (T + 60) * 1000))
        feed.documents["/quakes.geojson"] = (json.dumps({"features": features}).encode(), '"v2"')
        assert puller.fetch_once().stored == 2
        puller.client.close()
    assert _series(container, "D11.river_level") == ([T, T + 60], [2.5, 4.0])
    assert feed.seen[1][1:] == ('"v1"', "Thu, 01 Jan 2026 00:00:00 GMT")
    assert counts.examples == {"quakes: properties.net=nc": 2}


def test_a_bad_record_refuses_the_fetch_and_it_is_fetched_again(container: Container) -> None:
    feed = Feed()
    bad = [quake("ci40001", 2.5, T * 1000), quake("ci40003", None, T * 1000)]
    feed.documents["/quakes.geojson"] = (json.dumps({"features": bad}).encode(), '"v1"')
    with feed_server(feed) as url:
        puller = quakes_puller(container, url, SourceCounts())
        refused = puller.fetch_once()
        assert refused.problem == "record 1: properties.mag: not a number: None"
        assert _series(container, "D11.river_level") == ([], [])
        assert puller.fetch_once().problem is not None
        puller.client.close()
    assert feed.seen[1][1] is None  # fetched whole again: no validator kept


def gauges(url: str) -> dict[str, Any]:
    """sources.yaml with a river-gauge CSV feed at `url`, station 4711 mapped, polled every 1 s."""
    feed = {
        "name": "gauges",
        "url": f"{url}/gauges.csv",
        "format": "csv",
        "every_s": 1,
        "indicator_field": "station",
        "indicators": {"4711": "D12.river_level"},
        "value": "level_m",
        "time": "observed_at",
        "time_unit": "rfc3339",
    }
    return {"pull": [feed]}


def test_a_csv_gauge_feed_runs_on_the_servers_schedule(tmp_path: Path) -> None:
    feed = Feed()
    rows = (
        "station,observed_at,level_m\n4711,2026-01-01T00:00:00Z,1.25\n4712,2026-01-01T00:00:00Z,9\n"
    )
    feed.documents["/gauges.csv"] = (rows.encode(), '"g1"')
    with feed_server(feed) as url:
        sources = gauges(url)
        with served_with_sources(tmp_path, sources) as tocsin:
            assert eventually(lambda: tocsin.series("D12.river_level") == ([T], [1.25]))
            assert eventually(lambda: len(feed.seen) >= 2)
            pulled = tocsin.sources()["pull"]
            assert pulled["stored"] == 1
            assert "gauges: station=4712" in pulled["unmapped_series"]
            shown = CliRunner().invoke(
                app, ["sources", "--server", tocsin.url, "--token", tocsin.token]
            )
            assert shown.exit_code == 0, shown.output
            assert "unmapped pull: gauges: station=4712 (" in shown.output
    assert feed.seen[1][1] == '"g1"'


@pytest.mark.parametrize("source_loops", [True, None])
def test_the_storm_splits_server_pulls_feeds_when_told_to(
    tmp_path: Path, source_loops: bool | None
) -> None:
    """A server without background workers (beside `notify run`) runs the source loops with
    TOCSIN_SOURCE_LOOPS=true, and none without it (API servers beside one that runs them)."""
    feed = Feed()
    body = b"station,observed_at,level_m\n4711,2026-01-01T00:00:00Z,2\n"
    feed.documents["/gauges.csv"] = (body, '"g"')
    with feed_server(feed) as url:
        sources = gauges(url)
        with served_with_sources(
            tmp_path, sources, background_workers=False, source_loops=source_loops
        ) as tocsin:
            if source_loops:
                ok = eventually(lambda: tocsin.series("D12.river_level") == ([T], [2.0]))
                assert ok, (feed.seen, tocsin.sources()["pull"], tocsin.series("D12.river_level"))
            else:
                assert not eventually(lambda: bool(feed.seen), timeout=2.0)
                assert tocsin.series("D12.river_level") == ([], [])


def test_refused_documents_are_shown_counted_once_and_the_feed_carries_on(
    tmp_path: Path,
) -> None:
    """A document nested past the JSON parser's depth (a RecursionError, not a ValueError)
    once ended the feed's thread: the feed was never fetched again. Each refusal is one, is
    shown with its problem, and the feed is stored once its document is good."""
    feed = Feed()
    feed.documents["/quakes.geojson"] = (b"[" * 200_000, '"deep"')
    with feed_server(feed) as url:
        source = {
            "name": "quakes",
            "url": f"{url}/quakes.geojson",
            "format": "geojson",
            "every_s": 1,
            "indicator_field": "properties.net",
            "indicators": {"ci": "D11.river_level"},
            "value": "properties.mag",
            "time": "properties.time",
            "time_unit": "ms",
        }
        with served_with_sources(tmp_path, {"pull": [source]}) as tocsin:
            assert eventually(lambda: len(feed.seen) >= 2)  # fetched again after the first
            pulled = tocsin.sources()["pull"]
            assert pulled["recent_refusals"][0] == {
                "source": "quakes",
                "problems": [
                    {"where": "document", "field": "", "reason": "not JSON: nested too deeply"}
                ],
            }
            assert pulled["refused"] == len(pulled["recent_refusals"])  # fetches, not bytes
            bad = [quake("ci40001", 2.5, T * 1000), quake("ci40002", "2.6", T * 1000 + 60_000)]
            feed.documents["/quakes.geojson"] = (json.dumps({"features": bad}).encode(), '"b"')
            assert eventually(
                lambda: (
                    tocsin.sources()["pull"]["recent_refusals"][-1]["problems"]
                    == [
                        {
                            "where": "record 1",
                            "field": "properties.mag",
                            "reason": "not a number: '2.6'",
                        }
                    ]
                )
            )
            good = [quake("ci40001", 2.5, T * 1000), quake("nc7001", 3.1, T * 1000)]
            feed.documents["/quakes.geojson"] = (json.dumps({"features": good}).encode(), '"g"')
            assert eventually(lambda: tocsin.series("D11.river_level") == ([T], [2.5]))
            pulled = tocsin.sources()["pull"]
            assert pulled["unmapped_series"] == {"quakes: properties.net=nc": 1}  # once: taken
            assert pulled["stored"] == 1


def test_a_record_the_ingest_refuses_refuses_the_fetch_counted_once(
    container: Container,
) -> None:
    """A time past the server's clock is refused by the ingest, which counts its rows; the
    feed keeps the refusal naming the record, and does not count it a second time."""
    feed = Feed()
    future_ms = 4_102_444_800_000  # 2100
    features = [quake("ci40001", 2.5, T * 1000), quake("ci40002", 2.6, future_ms)]
    feed.documents["/quakes.geojson"] = (json.dumps({"features": features}).encode(), '"f"')
    counts = container.intake.counts[SourceKind.PULL]
    with feed_server(feed) as url:
        puller = quakes_puller(container, url, counts)
        refused = puller.fetch_once()
        puller.client.close()
    assert refused.problem is not None
    assert refused.problem.startswith("record 1: time: ")
    assert counts.refused == 2  # the two rows of the write the ingest refused
    assert [p.where for p in counts.refusals[0].problems] == ["record 1"]
    assert _series(container, "D11.river_level") == ([], [])


def test_a_number_past_pythons_digit_limit_is_refused_in_tocsins_words(
    container: Container,
) -> None:
    """Python's own message (with its advice to call sys.set_int_max_str_digits) once reached
    the refusal: it says what the REST API's JSON bodies say."""
    feed = Feed()
    digits = "9" * 5_000
    body = f'{{"features": [{{"properties": {{"mag": {digits}}}}}]}}'.encode()
    feed.documents["/quakes.geojson"] = (body, '"big"')
    with feed_server(feed) as url:
        puller = quakes_puller(container, url, SourceCounts())
        refused = puller.fetch_once()
        puller.client.close()
    assert refused.problem == "document: not JSON: a number of more than 4,300 digits"


def test_a_csv_feed_saved_by_a_spreadsheet_with_a_byte_order_mark(container: Container) -> None:
    """Its first column was named '\ufeffstation', so every fetch was refused."""
    feed = Feed()
    rows = "\ufeffstation,observed_at,level_m\n4711,2026-01-01T00:00:00Z,1.25\n"
    feed.documents["/gauges.csv"] = (rows.encode(), '"g1"')
    with feed_server(feed) as url:
        puller = FeedPuller(
            PullSource(
                name="gauges",
                url=f"{url}/gauges.csv",
                format="csv",
                every_s=60,
                value="level_m",
                time="observed_at",
                time_unit=TimeUnit.RFC3339,
                indicator_field="station",
                indicators={"4711": "D12.river_level"},
            ),
            deliver=partial(container.intake.deliver, SourceKind.PULL),
            counts=SourceCounts(),
        )
        fetched = puller.fetch_once()
        puller.client.close()
    assert (fetched.problem, fetched.stored) == (None, 1)
    assert _series(container, "D12.river_level") == ([T], [1.25])
