"""The write endpoints the ingest gate serves, with their body formats.

- `POST /api/v1/observations`: JSON, NDJSON, CSV or Arrow IPC (`json_rows`, `table_rows`);
- `POST /api/v1/write`: Prometheus remote write (`remote_write`), answered 204;
- `POST /api/v2/write`: InfluxDB line protocol (`line_protocol`), answered 204; the token may
  also be sent as `Authorization: Token TOKEN`, as InfluxDB clients do;
- `POST /write`: InfluxDB 1.x's write (Telegraf's `outputs.influxdb`, the `influx` shell), the
  same line protocol and mapping: `db`, `rp` and `consistency` are taken and not used,
  `precision` is one of 1.x's (`n` by default), the token is also taken as the password of
  `Basic` credentials or of the query (`u`, `p`), any Content-Type is read as line protocol
  (1.x reads none), errors carry 1.x's `error` member, and a server too busy answers 503
  rather than 429, which Telegraf's 1.x output would drop instead of retrying.
"""

from __future__ import annotations

from tocsin.api.auth import BASIC, QUERY_PASSWORD
from tocsin.api.ingest_gate import BodyDecoder, BodyFormat, Route, WriteContext
from tocsin.api.json_rows import JsonRows, NdjsonRows
from tocsin.api.line_protocol import V1_PRECISION, LineProtocolRows
from tocsin.api.observations import OBSERVATIONS_PATH
from tocsin.api.remote_write import RemoteWriteRows
from tocsin.api.rows import RowSink
from tocsin.api.table_rows import ArrowRows, CsvRows
from tocsin.bootstrap import Container
from tocsin.core.sources import SourceKind

REMOTE_WRITE_PATH = "/api/v1/write"
LINE_PROTOCOL_PATH = "/api/v2/write"
INFLUX_V1_PATH = "/write"
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

    def line_protocol_v1(sink: RowSink, context: WriteContext) -> BodyDecoder:
        return LineProtocolRows(
            sink,
            series=sources.influx,
            counts=counts[SourceKind.INFLUX],
            precision=context.query.get("precision") or "n",
            now_s=context.now_s,
            precisions=V1_PRECISION,
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
        INFLUX_V1_PATH: Route(
            {"text/plain": BodyFormat("line {}", line_protocol_v1)},
            kind=SourceKind.INFLUX,
            default="text/plain",
            schemes=("bearer", "token", BASIC, QUERY_PASSWORD),
            quiet=True,
            any_media=True,
            busy_status=503,
            error_member=True,
        ),
    }
