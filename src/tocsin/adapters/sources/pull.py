"""Pulled feeds: a JSON, GeoJSON or CSV document fetched on a schedule, each record an
observation (an earthquake feed, river gauges).

Each fetch is a conditional GET (`If-None-Match` with the last ETag, `If-Modified-Since` with
the last `Last-Modified`): 304 means nothing new. A document is all or nothing: a record whose
value or time is missing or not of the configured kind refuses the whole fetch (counted, logged
with the record and field, and fetched again next time, without the conditions); a record whose
indicator key is not in the map is counted as unmapped. The validators are kept only once the
observations are committed, so a fetch that was not stored is fetched again. A document larger
than `MAX_BYTES` is refused.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt

from tocsin.adapters.sources.records import RecordError, lookup, record_number, record_time
from tocsin.core.errors import TocsinError
from tocsin.core.sources import PullSource, SourceCounts

log = logging.getLogger(__name__)

MAX_BYTES = 64 * 1024 * 1024
TIMEOUT_S = 30.0
Deliver = Callable[[Sequence[str], npt.NDArray[np.int64], npt.NDArray[np.float64]], Future[Any]]


@dataclass(frozen=True, slots=True)
class Fetched:
    """What one fetch did."""

    status: int
    stored: int = 0
    unmapped: int = 0
    problem: str | None = None


def records_of(source: PullSource, body: bytes) -> list[Any]:
    """The records of a document (a list at `records`; GeoJSON: its features; CSV: its rows)."""
    if source.format == "csv":
        return list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
    document = json.loads(body)
    path = source.records or ("features" if source.format == "geojson" else "")
    found = lookup(document, path) if path else document
    if not isinstance(found, list):
        raise RecordError(f"{path or 'the document'} is not a list of records")
    return found


def observations_of(
    source: PullSource, records: list[Any], *, counts: SourceCounts
) -> tuple[list[str], list[int], list[float]]:
    """The mapped records' (indicators, times, values); RecordError naming the first bad one."""
    text = source.format == "csv"
    codes: list[str] = []
    times: list[int] = []
    values: list[float] = []
    for i, record in enumerate(records):
        try:
            key = lookup(record, source.indicator_field) if source.indicator_field else None
            code = source.indicator_of(key)
            if code is None:
                counts.unmapped_series(f"{source.name}: {source.indicator_field}={key}")
                continue
            values.append(record_number(record, source.value, text=text))
            times.append(record_time(record, source.time, unit=source.time_unit, text=text))
        except RecordError as err:
            raise RecordError(f"record {i}: {err}") from err
        codes.append(code)
    return codes, times, values


class FeedPuller:
    """Fetches one feed on a schedule (or once, `fetch_once`) and delivers its records."""

    def __init__(
        self,
        source: PullSource,
        *,
        deliver: Deliver,
        counts: SourceCounts,
        client: httpx.Client | None = None,
    ) -> None:
        self.source = source
        self.deliver = deliver
        self.counts = counts
        self.client = client or httpx.Client(timeout=TIMEOUT_S, follow_redirects=True)
        self.validators: dict[str, str] = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"tocsin-pull-{source.name}")

    def fetch_once(self) -> Fetched:
        """One conditional GET; the records delivered and committed (or the problem)."""
        response = self._get()
        if response is None:
            return Fetched(0, problem=f"larger than {MAX_BYTES:,} bytes")
        if response.status_code == 304:
            return Fetched(304)
        if response.status_code != 200:
            return Fetched(response.status_code, problem=f"HTTP {response.status_code}")
        before = self.counts.unmapped
        try:
            records = records_of(self.source, response.content)
            codes, times, values = observations_of(self.source, records, counts=self.counts)
        except (RecordError, ValueError) as err:
            return self._refused(len(response.content), str(err))
        self.counts.received += len(records)
        if codes:
            try:
                self.deliver(codes, np.array(times, np.int64), np.array(values)).result()
            except TocsinError as err:
                return self._refused(len(codes), str(err))
        self._keep_validators(response)
        return Fetched(200, stored=len(codes), unmapped=self.counts.unmapped - before)

    def _get(self) -> httpx.Response | None:
        headers = {}
        if "etag" in self.validators:
            headers["If-None-Match"] = self.validators["etag"]
        if "last-modified" in self.validators:
            headers["If-Modified-Since"] = self.validators["last-modified"]
        with self.client.stream("GET", self.source.url, headers=headers) as response:
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    return None
        return httpx.Response(response.status_code, headers=response.headers, content=bytes(body))

    def _keep_validators(self, response: httpx.Response) -> None:
        self.validators = {
            name: response.headers[name]
            for name in ("etag", "last-modified")
            if name in response.headers
        }

    def _refused(self, rows: int, reason: str) -> Fetched:
        self.counts.refused += rows
        self.validators = {}  # fetch it whole again next time
        log.warning("feed %s refused: %s", self.source.name, reason)
        return Fetched(200, problem=reason)

    def start(self) -> None:
        """Fetch now, then every `every_s` seconds, on a daemon thread."""
        self.thread.daemon = True
        self.thread.start()

    def stop(self) -> None:
        """Stop after the fetch under way."""
        self.stopping.set()
        self.thread.join(timeout=TIMEOUT_S + 5)
        self.client.close()

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.fetch_once()
            except (httpx.HTTPError, TocsinError) as err:  # unreachable, overloaded: next time
                log.warning("feed %s not fetched: %s", self.source.name, err)
            self.stopping.wait(self.source.every_s)
