"""A worker's health check and metrics (`tocsin worker --listen HOST:PORT`).

A worker serves no API; a supervisor, a load balancer's probe or Prometheus still needs to
know whether it works. Two read-only routes, no authentication (they say nothing about the
observations, only the worker's own progress; bind them to a private address):

- `GET /healthz`: 200 `{"status": "ok", …}` while the worker's passes over its partitions work,
  503 `{"status": "failing", "reason": …}` when the last pass failed (the stream or the
  database unavailable, a message that cannot be stored) or no pass ended for 30 s. Both
  carry the partitions it owns, their committed sequences and the messages it committed.
- `GET /metrics`: the same as a Prometheus exposition.

Anything else is 404. The server runs in a daemon thread of the worker process
(`http.server`, one thread per request).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tocsin.services.stream_worker import WorkerStatus


def health_body(status: WorkerStatus) -> tuple[int, dict[str, object]]:
    """The health check's status code and JSON body."""
    body: dict[str, object] = {
        "status": "ok" if status.healthy else "failing",
        "partitions": list(status.partitions),
        "offsets": {str(p): s for p, s in sorted(status.offsets.items())},
        "committed_messages": status.committed,
    }
    if not status.healthy:
        body["reason"] = status.reason
    return (200 if status.healthy else 503), body


def metrics_text(status: WorkerStatus) -> str:
    """The Prometheus exposition of a worker's state."""
    lines = [
        "# HELP tocsin_worker_healthy 1 while the worker's passes work.",
        "# TYPE tocsin_worker_healthy gauge",
        f"tocsin_worker_healthy {int(status.healthy)}",
        "# HELP tocsin_worker_partitions_owned Stream partitions this worker owns.",
        "# TYPE tocsin_worker_partitions_owned gauge",
        f"tocsin_worker_partitions_owned {len(status.partitions)}",
        "# HELP tocsin_worker_messages_committed_total Stream messages committed.",
        "# TYPE tocsin_worker_messages_committed_total counter",
        f"tocsin_worker_messages_committed_total {status.committed}",
        "# HELP tocsin_worker_partition_moves_total Times this worker's partitions changed.",
        "# TYPE tocsin_worker_partition_moves_total counter",
        f"tocsin_worker_partition_moves_total {status.moves}",
        "# HELP tocsin_worker_committed_sequence The stream sequence committed, per partition.",
        "# TYPE tocsin_worker_committed_sequence gauge",
    ]
    lines += [
        f'tocsin_worker_committed_sequence{{partition="{p}"}} {s}'
        for p, s in sorted(status.offsets.items())
    ]
    return "\n".join(lines) + "\n"


def serve_status(
    status: Callable[[], WorkerStatus], host: str, port: int
) -> tuple[ThreadingHTTPServer, Callable[[], None]]:
    """Serve the routes on host:port in a daemon thread; the server and a function that stops
    it (OSError when the address cannot be bound)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                code, body = health_body(status())
                self._send(code, "application/json", json.dumps(body))
            elif path == "/metrics":
                self._send(200, "text/plain; version=0.0.4", metrics_text(status()))
            else:
                self._send(404, "application/json", json.dumps({"detail": "not found"}))

        def _send(self, code: int, kind: str, text: str) -> None:
            data = text.encode()
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return  # probes every few seconds: not worth a log line each

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="tocsin-status", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return server, stop
