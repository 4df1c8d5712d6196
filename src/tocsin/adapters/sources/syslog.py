"""A syslog receiver of security alerts: UDP and TCP listeners, batches, bad messages counted.

`TOCSIN_SYSLOG_LISTEN` (off by default) names the addresses; `tocsin serve` starts one thread per
address and one that hands batches on (`web/sources.py`). Each message is read on its own
(`core/syslog.py` for the framing and the header, `security_alert_formats` for the CEF line or
the Wazuh/Suricata JSON): a bad one is counted and logged with its peer, its number and why,
never a traceback, and the others go on. Up to `BATCH` alerts, or what came within `LINGER_S`,
go to the security-alert service as one delivery, validated whole as the API's are; when the
service refuses a batch (an alert's time beyond the clock's skew), each alert is delivered alone
so that only the bad ones are lost. A full queue drops new messages (counted), never blocks a
sender. Nothing is stored before the service stores it: a stopped or killed process loses only
the messages in its queue, and a restarted one listens again on the same addresses.
"""

from __future__ import annotations

import json
import logging
import queue
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from tocsin.adapters.security_alert_formats import parse_alerts
from tocsin.core.errors import InvalidInput, NotOwner, Problem, TocsinError
from tocsin.core.security_alerts import AlertFormat, SecurityAlert
from tocsin.core.syslog import (
    MAX_MESSAGE_BYTES,
    BadFrame,
    ListenAddress,
    Transport,
    payload,
    split_frames,
)

log = logging.getLogger(__name__)

BATCH = 1000  # alerts per delivery at most
LINGER_S = 0.5  # how long a batch waits for more
QUEUE = 20_000  # messages waiting at most; more are dropped (counted)
MAX_CONNECTIONS = 64
IDLE_S = 300.0  # a TCP connection silent this long is closed

Deliver = Callable[[Sequence[SecurityAlert]], object]


@dataclass
class SyslogCounts:
    """What the receiver has seen since it started."""

    messages: int = 0
    alerts: int = 0
    delivered: int = 0
    bad: int = 0
    refused: int = 0
    dropped: int = 0
    last_problem: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        """Add to the counts (thread-safe)."""
        with self.lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)


def _kind(text: str) -> AlertFormat:
    """CEF, or the JSON tool by its shape (Suricata's EVE has `event_type`)."""
    if not text.lstrip().startswith("{"):
        return AlertFormat.CEF
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return AlertFormat.WAZUH  # the JSON reader says what is wrong, naming the message
    return (
        AlertFormat.SURICATA if isinstance(obj, dict) and "event_type" in obj else AlertFormat.WAZUH
    )


def read_message(raw: bytes, *, where: str, received_at: datetime) -> list[SecurityAlert]:
    """The alerts of one syslog message; InvalidInput naming `where` and the reason."""
    try:
        text = raw.decode("utf-8")
        if "\x00" in text:
            raise ValueError("a NUL character in the message")
        body = payload(text.rstrip("\r\n"))
    except (UnicodeDecodeError, ValueError) as err:
        reason = "not UTF-8" if isinstance(err, UnicodeDecodeError) else str(err)
        raise InvalidInput([Problem(where, "", reason)]) from None
    if "\n" in body.strip():
        raise InvalidInput([Problem(where, "", "one alert per message (a line feed in MSG)")])
    try:
        found = parse_alerts(_kind(body), body, received_at=received_at)
    except InvalidInput as err:
        raise InvalidInput([replace(p, where=where) for p in err.problems]) from None
    return [replace(a, where=where) for a in found]


class SyslogReceiver:
    """Listens on the addresses, reads each message and delivers batches of alerts."""

    def __init__(
        self,
        addresses: Sequence[ListenAddress],
        *,
        deliver: Deliver,
        now: Callable[[], datetime],
    ) -> None:
        self.addresses = tuple(addresses)
        self.deliver = deliver
        self.now = now
        self.counts = SyslogCounts()
        self.bound: dict[ListenAddress, tuple[str, int]] = {}  # the address each one got
        self._queue: queue.Queue[tuple[str, bytes]] = queue.Queue(QUEUE)
        self._stopping = threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._connections = threading.Semaphore(MAX_CONNECTIONS)
        self._sequence = 0

    def start(self) -> None:
        """Bind every address (OSError if one cannot be bound) and start the threads."""
        for address in self.addresses:
            try:
                sock = _bind(address)
            except OSError:
                for bound in self._sockets:
                    bound.close()
                raise
            self._sockets.append(sock)
            self.bound[address] = sock.getsockname()[:2]
        for address, sock in zip(self.addresses, self._sockets, strict=True):
            serve = self._udp if address.transport is Transport.UDP else self._tcp
            self._thread(f"tocsin-syslog-{address.transport}-{address.port}", serve, sock)
            log.info("syslog listening", extra={"address": str(address)})
        self._thread("tocsin-syslog-batches", self._batches)

    def stop(self) -> None:
        """Close the sockets, deliver what is queued, and wait for the threads (up to 10 s)."""
        self._stopping.set()
        for sock in self._sockets:
            sock.close()
        for thread in self._threads:
            thread.join(timeout=10)

    def _thread(self, name: str, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _put(self, peer: str, raw: bytes) -> None:
        self.counts.add(messages=1)
        try:
            self._queue.put_nowait((peer, raw))
        except queue.Full:
            self.counts.add(dropped=1)

    def _udp(self, sock: socket.socket) -> None:
        sock.settimeout(0.25)
        while not self._stopping.is_set():
            try:
                raw, peer = sock.recvfrom(MAX_MESSAGE_BYTES)
            except TimeoutError:
                continue
            except OSError:
                return  # closed by stop()
            self._put(f"udp {peer[0]}:{peer[1]}", raw)

    def _tcp(self, sock: socket.socket) -> None:
        sock.settimeout(0.25)
        while not self._stopping.is_set():
            try:
                conn, peer = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self._connections.acquire(blocking=False):
                conn.close()
                self._problem(f"tcp {peer[0]}:{peer[1]}", "too many connections; closed")
                continue
            name = f"tocsin-syslog-conn-{peer[1]}"
            self._thread(name, self._connection, conn, f"tcp {peer[0]}:{peer[1]}")

    def _connection(self, conn: socket.socket, peer: str) -> None:
        buffer = b""
        conn.settimeout(0.25)
        idle = 0.0
        try:
            while not self._stopping.is_set() and idle < IDLE_S:
                try:
                    chunk = conn.recv(65536)
                except TimeoutError:
                    idle += 0.25
                    continue
                if not chunk:
                    break
                idle = 0.0
                frames, buffer = split_frames(buffer + chunk)
                for frame in frames:
                    self._put(peer, frame)
            if buffer.strip():
                self._put(peer, buffer)  # the last line of a stream closed without its LF
        except BadFrame as err:
            self.counts.add(bad=1)
            self._problem(peer, f"{err}; connection closed")
        except OSError:
            pass  # the sender went away
        finally:
            conn.close()
            self._connections.release()

    def _batches(self) -> None:
        while not (self._stopping.is_set() and self._queue.empty()):
            alerts = self._gather()
            if alerts:
                self._deliver(alerts)

    def _gather(self) -> list[SecurityAlert]:
        """Read messages for up to LINGER_S (or until BATCH alerts) into alerts."""
        alerts: list[SecurityAlert] = []
        try:
            first = self._queue.get(timeout=LINGER_S)
        except queue.Empty:
            return alerts
        alerts.extend(self._read(*first))
        waited = threading.Event()
        while len(alerts) < BATCH and not waited.wait(0):
            try:
                alerts.extend(self._read(*self._queue.get(timeout=LINGER_S / 5)))
            except queue.Empty:
                waited.set()
        return alerts

    def _read(self, peer: str, raw: bytes) -> list[SecurityAlert]:
        self._sequence += 1
        where = f"syslog message {self._sequence} from {peer}"
        try:
            found = read_message(raw, where=where, received_at=self.now())
        except InvalidInput as err:
            self.counts.add(bad=1)
            reasons = (": ".join(filter(None, (p.field, p.reason))) for p in err.problems[:3])
            self._problem(where, "; ".join(reasons), raw=raw)
            return []
        self.counts.add(alerts=len(found))
        return found

    def _deliver(self, alerts: list[SecurityAlert]) -> None:
        try:
            self.deliver(alerts)
        except InvalidInput as err:
            if len(alerts) > 1:  # find the bad ones: each alone
                for alert in alerts:
                    self._deliver([alert])
                return
            self.counts.add(refused=1)
            self._problem(alerts[0].where, "; ".join(p.reason for p in err.problems[:3]))
            return
        except NotOwner as err:
            self.counts.add(refused=len(alerts))
            self._problem("syslog batch", f"not stored on a standby: {err}")
            return
        except TocsinError as err:  # unavailable store, scope: one sentence
            self.counts.add(refused=len(alerts))
            self._problem("syslog batch", f"not stored: {err}")
            return
        self.counts.add(delivered=len(alerts))

    def _problem(self, where: str, reason: str, *, raw: bytes | None = None) -> None:
        shown = "" if raw is None else f" ({raw[:120].decode('utf-8', 'replace')!r})"
        with self.counts.lock:
            self.counts.last_problem = f"{where}: {reason}"
        log.warning("%s: %s%s", where, reason, shown)


def _bind(address: ListenAddress) -> socket.socket:
    family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
    kind = socket.SOCK_DGRAM if address.transport is Transport.UDP else socket.SOCK_STREAM
    sock = socket.socket(family, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart rebinds at once
    try:
        sock.bind((address.host, address.port))
        if kind == socket.SOCK_STREAM:
            sock.listen(MAX_CONNECTIONS)
    except OSError:
        sock.close()
        raise
    return sock
