"""Vulnerability feeds on a schedule: `sources.yaml` validation, imports from a file and a URL."""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tocsin.adapters.config_yaml import dump_yaml, load_catalog
from tocsin.adapters.sources.advisory_feeds import AdvisoryFeedLoop
from tocsin.adapters.sources_yaml import load_sources
from tocsin.core.errors import InvalidConfig
from tocsin.core.exposure.advisories import Advisory
from tocsin.core.sources import AdvisorySource
from tocsin.testing.scenario import exposure_config, write_small_config

FIXTURES = Path(__file__).parent.parent / "fixtures" / "exposure"


@pytest.fixture
def served() -> Iterator[str]:
    """The fixture directory over HTTP on a free local port."""
    handler = functools.partial(_Quiet, directory=str(FIXTURES))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """No access log on stderr."""


def test_sources_yaml_schedules_feeds_relative_to_the_config_directory(tmp_path: Path) -> None:
    config = write_small_config(tmp_path / "cfg", **exposure_config())
    shutil.copy(FIXTURES / "kev.json", config / "kev.json")
    feeds = [
        {"name": "kev", "feed": "kev", "location": "kev.json", "every_s": 3600},
        {
            "name": "nvd",
            "feed": "nvd",
            "location": "https://example.org/nvd.json",
            "every_s": 86400,
        },
    ]
    (config / "sources.yaml").write_text(dump_yaml({"advisories": feeds}), encoding="utf-8")
    got = load_sources(config, load_catalog(config)).advisories
    assert got == (
        AdvisorySource("kev", "kev", str(config / "kev.json"), 3600),
        AdvisorySource("nvd", "nvd", "https://example.org/nvd.json", 86400),
    )


def test_bad_schedules_are_named(tmp_path: Path) -> None:
    config = write_small_config(tmp_path / "cfg", **exposure_config())
    feeds = [
        {"name": "a", "feed": "cve5", "location": "x.json", "every_s": 3600},
        {"name": "a", "feed": "kev", "location": "x.json", "every_s": 5},
    ]
    (config / "sources.yaml").write_text(dump_yaml({"advisories": feeds}), encoding="utf-8")
    with pytest.raises(InvalidConfig) as err:
        load_sources(config, load_catalog(config))
    found = {(p.field, p.reason.split(" ")[0]) for p in err.value.problems}
    assert ("advisories[0].feed", "Input") in found
    assert ("advisories[1].every_s", "Input") in found


def test_a_scheduled_feed_is_imported_from_a_url_and_a_bad_one_is_counted(served: str) -> None:
    delivered: list[tuple[list[Advisory], str]] = []

    def deliver(advisories: list[Advisory], name: str) -> None:
        delivered.append((advisories, name))

    good = AdvisoryFeedLoop(
        AdvisorySource("kev", "kev", f"{served}/kev.json", 3600), deliver=deliver
    )
    good.import_once()
    assert [(sorted(a.id for a in found), name) for found, name in delivered] == [
        (["CVE-2021-41773", "CVE-2099-0001"], "kev")
    ]
    wrong = AdvisoryFeedLoop(
        AdvisorySource("nvd", "nvd", f"{served}/kev.json", 3600), deliver=deliver
    )
    wrong.import_once()
    missing = AdvisoryFeedLoop(
        AdvisorySource("osv", "osv", f"{served}/missing.json", 3600), deliver=deliver
    )
    missing.import_once()
    assert len(delivered) == 1
    assert (wrong.turns.failed, missing.turns.failed, good.turns.imported) == (1, 1, 1)
    assert missing.turns.last_problem is not None
    assert "HTTP 404" in missing.turns.last_problem


def test_the_loop_imports_on_start_and_stops(served: str) -> None:
    done = threading.Event()
    loop = AdvisoryFeedLoop(
        AdvisorySource("osv", "osv", f"{served}/osv.json", 3600),
        deliver=lambda advisories, name: done.set(),
    )
    loop.start()
    assert done.wait(timeout=30)
    loop.stop()
    assert not loop.thread.is_alive()
