"""The worker role: `tocsin worker` consumes partitions of the ingest stream (docs/deployment.md).

The API role is `tocsin serve --role api` (`tocsin.cli.core_commands.serve`)."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from tocsin.cli.common import ConfigOption, DbOption, console, reported, settings

PartitionsOption = Annotated[
    str | None,
    typer.Option(
        metavar="LIST",
        help="The partitions this worker owns: 0-3, 0,2,5 or all (default: a share of them, "
        "moved as workers come and go)",
    ),
]
IndexOption = Annotated[
    int | None, typer.Option(metavar="I", help="This worker's number, 0 to --workers - 1")
]
ListenOption = Annotated[
    str | None,
    typer.Option(
        metavar="HOST:PORT",
        help="Serve GET /healthz and /metrics (Prometheus) on this address (a private one)",
    ),
]
WorkersOption = Annotated[
    int | None, typer.Option(metavar="N", help="How many workers share the partitions evenly")
]


def worker(
    db: DbOption = None,
    config: ConfigOption = None,
    partitions: PartitionsOption = None,
    index: IndexOption = None,
    workers: WorkersOption = None,
    listen: ListenOption = None,
) -> None:
    """Consume partitions of the ingest stream into the database, resuming where the last
    commit ended, and check its partitions' indicators for silent sources (the worker role;
    TOCSIN_STREAM_* name the stream). Without --partitions or --index/--workers, the workers
    share the partitions evenly and move them when one joins or leaves."""
    from datetime import timedelta

    from tocsin.bootstrap_worker import build_worker
    from tocsin.core.errors import TocsinError
    from tocsin.core.stream_partitions import describe, parse_partitions, share_of
    from tocsin.services.background import keep_renewing
    from tocsin.services.staleness import start_silence_checks

    with reported():
        s = settings(db, config)
        n = s.stream_partitions
        owned: tuple[int, ...] | None = None  # None: a share, balanced with the others
        if partitions is not None:
            owned = parse_partitions(partitions, partitions=n)
        elif index is not None and workers is not None:
            owned = share_of(index, workers=workers, partitions=n)
        elif index is not None or workers is not None:
            raise TocsinError("--index and --workers go together")
        address = _address(listen) if listen is not None else None
        role = build_worker(s, partitions=owned)
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        stop_silence = None
        stop_keeping = None
        stop_status = None
        try:
            if address is not None:
                from tocsin.web.worker_status import serve_status

                try:
                    _server, stop_status = serve_status(role.loop.status, *address)
                except OSError as err:
                    raise TocsinError(f"--listen {listen}: cannot serve there: {err}") from err
            ttl = timedelta(seconds=s.lease_s)
            role.hold_partitions(wait=ttl + timedelta(seconds=1))  # a worker just stopped
            role.rebalance()  # a balanced worker joins, and takes the free partitions
            stop_keeping = keep_renewing(role.kept, interval=s.lease_s / 3)
            offsets = role.loop.resume()
            if owned is None or role.silence.watched:  # indicators with a cadence, ours
                every = timedelta(seconds=s.silence_check_interval_s)
                stop_silence = start_silence_checks(
                    role.silence, role.container.clock, interval=every
                )
            share = "a balanced share" if owned is None else "fixed partitions"
            console.print(
                f"worker of partitions {describe(role.loop.partitions) or 'none yet'} of {n} "
                f"({share}), from sequences {offsets}",
                markup=False,
            )
            role.loop.run(stop)
        finally:
            if stop_status is not None:
                stop_status()
            if stop_silence is not None:
                stop_silence()
            if stop_keeping is not None:
                stop_keeping()
            role.close()


def _address(text: str) -> tuple[str, int]:
    """HOST:PORT of --listen (TocsinError naming the option when it is not one)."""
    from tocsin.core.errors import TocsinError

    host, colon, port = text.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65_536:
        raise TocsinError(f"--listen {text!r}: give HOST:PORT, say 127.0.0.1:9108")
    return host.strip("[]"), int(port)
