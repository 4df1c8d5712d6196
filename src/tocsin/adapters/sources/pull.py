"""Pulled feeds: a JSON, GeoJSON or CSV document fetched on a schedule, each record an
observation (an earthquake feed, river gauges).

Each fetch is a conditional GET (`If-None-Match` with the last ETag, `If-Modified-Since` with
the last `Last-Modified`): 304 means nothing new. A document is all or nothing: a document that
is not JSON (or CSV), or a record whose value or time is missing or not of the configured kind,
or that the ingest refuses (an unknown indicator, a time past the server's clock), refuses the
whole fetch: counted as one refusal, kept with the feed's name and its problem (`document` or
`record i`, the field, why) among the latest refusals (`GET /api/v1/sources`), logged, and
fetched again next time, without the conditions. A record whose indicator key is not in the map
is counted as unmapped (once the document is taken). The validators are kept only once the
observations are committed, so a fetch that was not stored is fetched again. A document larger
than `MAX_BYTES` is refused. Whatever else goes wrong in a fetch is logged, and the feed is
fetched again at its next time: the loop never ends but by `stop`.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np

from tocsin.adapters.sources.records import (
    Deliver,
    RecordError,
    json_reason,
    lookup,
    record_number,
    record_time,
)
from tocsin.core.errors import InvalidInput, Problem, TocsinError
from tocsin.core.sources import PullSource, Refusal, SourceCounts

log = logging.getLogger(__name__)

MAX_BYTES = 64 * 1024 * 1024
TIMEOUT_S = 30.0


class DocumentRefused(ValueError):
    """A fetched document that cannot be observations, with its problem (where, field, why)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Fetched:
    """What one fetch did."""

    status: int
    stored: int = 0
    unmapped: int = 0
    problem: str | None = None


def records_of(source: PullSource, body: bytes) -> list[Any]:
    """The records of a document (a list at `records`; GeoJSON: its features; CSV: its rows);
    DocumentRefused if it holds none."""
    try:
        text = body.decode("utf-8-sig")  # a spreadsheet's CSV starts with a byte-order mark
    except UnicodeDecodeError:
        raise DocumentRefused(Problem("document", "", "not UTF-8 text")) from None
    if source.format == "csv":
        try:
            return list(csv.DictReader(io.StringIO(text)))
        except csv.Error as err:
            raise DocumentRefused(Problem("document", "", f"not CSV: {err}")) from None
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise DocumentRefused(Problem("document", "", f"not JSON: {json_reason(err)}")) from None
    path = source.records or ("features" if source.format == "geojson" else "")
    try:
        found = lookup(document, path) if path else document
    except RecordError as err:
        raise DocumentRefused(Problem("document", err.field, err.reason)) from None
    if not isinstance(found, list):
        raise DocumentRefused(Problem("document", path, "not a list of records"))
    return found


@dataclass(frozen=True, slots=True)
class Mapped:
    """A document's mapped records (indicators, times, values, which record each is) and the
    series of those no rule maps."""

    codes: list[str]
    times: list[int]
    values: list[float]
    where: list[str]
    unmapped: list[str]


def observations_of(source: PullSource, records: list[Any]) -> Mapped:
    """The records' observations; DocumentRefused naming the first bad record."""
    text = source.format == "csv"
    mapped = Mapped([], [], [], [], [])
    for i, record in enumerate(records):
        try:
            key = lookup(record, source.indicator_field) if source.indicator_field else None
            code = source.indicator_of(key)
            if code is None:
                mapped.unmapped.append(f"{source.name}: {source.indicator_field}={key}")
                continue
            value = record_number(record, source.value, text=text)
            time = record_time(record, source.time, unit=source.time_unit, text=text)
        except RecordError as err:
            raise DocumentRefused(Problem(f"record {i}", err.field, err.reason)) from None
        mapped.codes.append(code)
        mapped.times.append(time)
        mapped.values.append(value)
        mapped.where.append(f"record {i}")
    return mapped


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
        try:
            records = records_of(self.source, response.content)
            mapped = observations_of(self.source, records)
        except DocumentRefused as err:
            return self._refused((err.problem,), rows=1)
        self.counts.received += len(records)
        if mapped.codes:
            times, values = np.array(mapped.times, np.int64), np.array(mapped.values)
            try:
                future = self.deliver(mapped.codes, times, values, where=mapped.where)
            except InvalidInput as err:  # the intake counted its rows as refused
                return self._refused(err.problems, rows=0)
            except TocsinError as err:  # overloaded, not the owner: the whole document next time
                return self._not_stored(err)
            try:
                future.result()
            except Exception as err:  # the commit failed (the intake counted it)
                return self._not_stored(err)
        for name in mapped.unmapped:
            self.counts.unmapped_series(name)
        self._keep_validators(response)
        return Fetched(200, stored=len(mapped.codes), unmapped=len(mapped.unmapped))

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

    def _refused(self, problems: Sequence[Problem], *, rows: int) -> Fetched:
        """Keep the refusal where the API shows it, log it; fetch the document whole next time."""
        self.counts.refused_message(Refusal(self.source.name, tuple(problems)), rows)
        self.validators = {}
        reason = "; ".join(map(str, problems))
        log.warning("feed %s refused: %s", self.source.name, reason)
        return Fetched(200, problem=reason)

    def _not_stored(self, err: Exception) -> Fetched:
        self.validators = {}  # fetch it whole again next time
        log.warning("feed %s not stored: %s", self.source.name, err)
        return Fetched(200, problem=f"not stored: {err}")

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
            except Exception:  # the outermost loop: whatever it was, the feed is fetched again
                log.exception("feed %s not fetched", self.source.name)
            self.stopping.wait(self.source.every_s)
