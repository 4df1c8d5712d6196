"""Public alerts under load: from approval to the alert in the feed and handed to a subscriber,
and the Atom feed served, each with 10,000 active alerts.

Builds the small scenario on SQLite (or `--db URL`) in a temporary directory with a webhook
subscriber (a local HTTP receiver on 127.0.0.1), stores `--active` published alerts (drafted
and written as publication writes them: message, XML, feed entries per language; stored in
batches, not checked one by one, to keep the set-up short), then serves the web app with
uvicorn on 127.0.0.1 with its background workers running, as `tocsin serve` does.

1. Publication: `--publications` times, a duty officer drafts an alert by hand and submits it,
   a second one approves it (publication follows, with the schema and rule checks); measured
   from the moment approval is asked for until both (a) a GET of the full feed answers with the
   alert in it (a cold render: every publication changes the feed) and (b) the subscriber's
   webhook has received it from the delivery worker.
2. The feed: `--requests` GETs of `/cap/feed.atom` with the cache cold (a publication just
   changed the feed), warm (rendered before), and conditional (`If-None-Match`: 304); in the same
   run as many GETs of `/healthz`, the reference, and the ratio of medians.

Run: ``python bench/cap.py [--active N] [--publications N] [--requests N] [--db URL]``.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx

from machine import describe
from tocsin.adapters.config_yaml import dump_yaml
from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.access import Principal
from tocsin.core.cap.lifecycle import AlertState, PublicAlert, new_draft
from tocsin.core.levels import LEVELS
from tocsin.core.users import Role
from tocsin.services.publication import Choices
from tocsin.testing.scenario import small_cap_config, write_small_config
from tocsin.web.app import create_web_app
from tocsin.web.server import serving

REPO = Path(__file__).resolve().parents[1]
BENCHDATA = REPO.parent / "shared" / "benchdata"
DISTRICTS = ("D11", "D12", "D21")
DOMAINS = ("natural.flood", "natural.storm", "supply.water", "infrastructure.power")


class Receiver:
    """A webhook receiver on 127.0.0.1: when each public alert arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.event = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                ident = json.loads(body).get("identifier")
                with receiver.event:
                    receiver.arrived[str(ident)] = time.perf_counter()
                    receiver.event.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, identifier: str, timeout: float = 30.0) -> float:
        """When the alert arrived (waiting for it)."""
        with self.event:
            self.event.wait_for(lambda: identifier in self.arrived, timeout=timeout)
            return self.arrived[identifier]


def person(container: Container, name: str) -> Principal:
    """A national duty officer."""
    container.admin.add_user(name, Role.DUTY_OFFICER, unit="NAT", actor="bench")
    user = next(u for u, _ in container.admin.users() if u.name == name)
    return container.access.principal(user)


def seed(container: Container, count: int) -> float:
    """Store `count` published, active alerts as publication writes them; seconds taken."""
    started = time.perf_counter()
    cap = container.cap
    drafter, publisher = cap.alerts.drafter, cap.alerts.publisher
    now = container.clock.now()
    batch: list[PublicAlert] = []
    for i in range(count):
        level = LEVELS[i % 4]
        region, domain = DISTRICTS[i % 3], DOMAINS[i % 4]
        request = drafter.request(
            regions=[region], domain=domain, level=level, warning=None, choices=Choices()
        )
        message = drafter.message(request, now=now, identifier=drafter.identifier(now))
        draft, _ = new_draft(
            message,
            thread=None,
            regions=(region,),
            domain=domain,
            level=level,
            author="seed",
            warning_id=None,
            reason="seed",
            now=now,
        )
        done = replace(
            draft,
            state=AlertState.PUBLISHED,
            xml=publisher.codec.write(message),
            published_at=now,
            approved_by="seed",
        )
        batch.append(done)
        if len(batch) == 500 or i == count - 1:
            with container.stores.alerting.transaction() as tx:
                for alert in batch:
                    tx.public_alerts.add(replace(alert, state=AlertState.DRAFT, xml=None))
            with container.stores.alerting.transaction() as tx:
                for alert in batch:
                    tx.public_alerts.save(alert, entries=publisher.entries(alert))
            batch = []
    return time.perf_counter() - started


def publish_one(
    container: Container, i: int, writer: Principal, approver: Principal
) -> tuple[str, float]:
    """Draft by hand, submit, approve (publication follows); the alert's identifier and the
    moment approval was asked for."""
    alerts = container.cap.alerts
    draft = alerts.draft(
        regions=[DISTRICTS[i % 3]],
        domain=DOMAINS[i % 4],
        level=LEVELS[i % 4],
        principal=writer,
        choices=Choices(),
    )
    alerts.submit(draft.identifier, principal=writer)
    started = time.perf_counter()
    alerts.approve(draft.identifier, principal=approver)
    return draft.identifier, started


def timed_get(client: httpx.Client, path: str, **headers: str) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.get(path, headers=headers)
    return (time.perf_counter() - started) * 1000, response


def publications(
    container: Container, client: httpx.Client, receiver: Receiver, runs: int
) -> dict[str, Any]:
    """Approval to feed and subscriber, `runs` times: milliseconds."""
    writer, approver = person(container, "writer"), person(container, "approver")
    latencies, feed_ms, hook_ms = [], [], []
    for i in range(runs):
        identifier, started = publish_one(container, i, writer, approver)
        response = client.get("/cap/feed.atom")
        in_feed = time.perf_counter()
        if identifier not in response.text:
            raise RuntimeError(f"{identifier} is not in the feed")
        handed = receiver.wait(identifier)
        latencies.append((max(in_feed, handed) - started) * 1000)
        feed_ms.append((in_feed - started) * 1000)
        hook_ms.append((handed - started) * 1000)
    return {
        "runs": runs,
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(quantile(latencies, 0.99), 1),
        "max_ms": round(max(latencies), 1),
        "to_feed_p50_ms": round(statistics.median(feed_ms), 1),
        "to_subscriber_p50_ms": round(statistics.median(hook_ms), 1),
    }


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def feed(container: Container, client: httpx.Client, requests: int) -> dict[str, Any]:
    """The feed served cold, warm and conditionally, against /healthz: milliseconds."""
    writer, approver = person(container, "writer2"), person(container, "approver2")
    cold, warm, conditional, healthz, sizes = [], [], [], [], []
    for i in range(requests):
        publish_one(container, i, writer, approver)  # the feed changed: a cold render follows
        ms, response = timed_get(client, "/cap/feed.atom")
        cold.append(ms)
        sizes.append(len(response.content))
        ms, response = timed_get(client, "/cap/feed.atom")
        warm.append(ms)
        ms, unchanged = timed_get(
            client, "/cap/feed.atom", **{"If-None-Match": response.headers["etag"]}
        )
        if unchanged.status_code != 304:
            raise RuntimeError(f"conditional GET answered {unchanged.status_code}")
        conditional.append(ms)
        healthz.append(timed_get(client, "/healthz")[0])
    reference = statistics.median(healthz)
    return {
        "requests": requests,
        "entries": response.text.count("<entry>"),
        "bytes": int(statistics.median(sizes)),
        "cold_p50_ms": round(statistics.median(cold), 1),
        "cold_p95_ms": round(quantile(cold, 0.95), 1),
        "warm_p50_ms": round(statistics.median(warm), 1),
        "warm_p95_ms": round(quantile(warm, 0.95), 1),
        "not_modified_p50_ms": round(statistics.median(conditional), 2),
        "healthz_p50_ms": round(reference, 2),
        "cold_over_healthz": round(statistics.median(cold) / reference, 1),
        "warm_over_healthz": round(statistics.median(warm) / reference, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--active", type=int, default=10_000)
    parser.add_argument("--publications", type=int, default=200)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--db", default=None, help="a database URL (default: SQLite in a temp dir)")
    args = parser.parse_args()
    machine = describe()
    print(f"machine: {machine}")
    receiver = Receiver()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        config = write_small_config(work / "config")
        cap = {
            **small_cap_config(),
            "subscribers": [{"name": "bench", "webhooks": [{"url": receiver.url}]}],
        }
        (config / "cap.yaml").write_text(dump_yaml(cap), encoding="utf-8")
        url = args.db or f"sqlite:///{work / 'bench.db'}"
        settings = Settings(
            database_url=url,
            config_dir=config,
            benchdata=BENCHDATA,
            dispatch_interval_s=0.5,
            env="dev",  # a throw-away database: the development key seals its secrets
        )
        container = build(settings)
        seconds = seed(container, args.active)
        print(f"stored {args.active:,} active alerts in {seconds:.1f} s", flush=True)
        with (
            serving(create_web_app(container, risk=None)) as base,
            httpx.Client(base_url=base, timeout=60) as client,
        ):
            client.get("/cap/feed.atom")  # the schema is loaded and the first feed rendered
            published = publications(container, client, receiver, args.publications)
            print(f"approval to feed and subscriber: {published}", flush=True)
            served = feed(container, client, args.requests)
            print(f"feed: {served}", flush=True)
        container.close()
    receiver.server.shutdown()
    database = "postgresql" if url.startswith("postgresql") else "sqlite"
    print(
        json.dumps(
            {
                "machine": machine,
                "database": database,
                "active": args.active,
                "publication": published,
                "feed": served,
            }
        )
    )


if __name__ == "__main__":
    main()
