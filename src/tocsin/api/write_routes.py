"""The write endpoints the ingest gate serves, with their body formats.

- `POST /api/v1/observations`: JSON, NDJSON, CSV or Arrow IPC (`json_rows`, `table_rows`);
- `POST /api/v1/write`: Prometheus remote write (`remote_write`), answered 204;
- `POST /api/v2/write`: InfluxDB line protocol (`line_protocol`), answered 204; the token may
  also be sent as `Authorization: Token TOKEN`, as InfluxDB clients do.
"""

from __future__ import annotations

from tocsin.api.ingest_gate import BodyDecoder, BodyFormat, Route, WriteContext
from tocsin.api.json_rows import JsonRows, NdjsonRows
from tocsin.api.line_protocol import LineProtocolRows
from tocsin.api.observations import OBSERVATIONS_PATH
from tocsin.api.remote_write import RemoteWriteRows
from tocsin.api.rows import RowSink
from tocsin.api.table_rows import ArrowRows, CsvRows
from tocsin.bootstrap import Container
from tocsin.core.sources import SourceKind

REMOTE_WRITE_PATH = "/api/v1/write"
LINE_PROTOCOL_PATH = "/api/v2/write"
OBSERVATION_FORMATS = {
    "application/json": BodyFormat("observations[{}]", lambda sink, _: JsonRows(sink)),
    "application/x-ndjson": BodyFormat("line {}", lambda sink, _: NdjsonRows(sink)),
    "text/csv": BodyFormat("line {}", lambda sink, _: CsvRows(sink)),
    "application/vnd.apache.arrow.stream": BodyFormat("row {}", lambda sink, _: ArrowRows(sink)),
}


def write_routes(container: Container) -> dict[str, Route]:
    """Every write endpoint, by path."""
    counts = container.intake.counts
    sources = container.sources

    def remote_write(sink: RowSink, context: WriteContext) -> BodyDecoder:
        return RemoteWriteRows(
            sink,
            series=sources.prometheus,
            counts=counts[SourceKind.PROMETHEUS],
            max_bytes=context.max_body_bytes,
        )

    def line_protocol(sink: RowSink, context: WriteContext) -> BodyDecoder:
        return LineProtocolRows(
            sink,
            series=sources.influx,
            counts=counts[SourceKind.INFLUX],
            precision=context.query.get("precision", "ns"),
            now_s=context.now_s,
        )

    return {
        OBSERVATIONS_PATH: Route(OBSERVATION_FORMATS, default="application/json"),
        REMOTE_WRITE_PATH: Route(
            {"application/x-protobuf": BodyFormat("timeseries[{}]", remote_write)},
            kind=SourceKind.PROMETHEUS,
            default="application/x-protobuf",
            encodings=frozenset({"snappy"}),
            quiet=True,
        ),
        LINE_PROTOCOL_PATH: Route(
            {"text/plain": BodyFormat("line {}", line_protocol)},
            kind=SourceKind.INFLUX,
            default="text/plain",
            schemes=("bearer", "token"),
            quiet=True,
        ),
    }
