"""Security alerts as tools write them: Wazuh alerts (JSON), Suricata EVE JSON, CEF lines.

Wazuh writes one alert object per line (`alerts.json`; a JSON array is accepted too) with
`rule.level` 0-15, `agent.name` and `agent.ip`. Suricata's EVE log has one event per line; only
`event_type: alert` lines are alerts (flows, DNS and the rest are skipped), with
`alert.severity` 1 (highest) to 4. A CEF line (ArcSight Common Event Format, version 0/1) is
`CEF:Version|Vendor|Product|Version|Class ID|Name|Severity|extensions`, maybe after a syslog
header, with `\\|` and `\\=` quoting. Only what placing, deduplicating and grading need is read:
user names, payloads and free text about people are never kept (see core/security_alerts.py).
Every bad line rejects the whole delivery, naming the line and the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

from tocsin.core.duplicate_keys import DuplicateKey, loads_once
from tocsin.core.errors import InvalidInput, Problem
from tocsin.core.levels import Level
from tocsin.core.moments import EARLIEST, EPOCH_MAX, LATEST, moment
from tocsin.core.security_alerts import AlertFormat, SecurityAlert, content_id

MAX_ALERTS = 100_000
# Wazuh rule levels (0-15, "Rules classification" in the Wazuh manual), lowest level of each band
WAZUH_LEVELS = ((12, Level.RED), (10, Level.ORANGE), (7, Level.YELLOW), (0, Level.BLUE))
SURICATA_LEVELS = {1: Level.ORANGE, 2: Level.YELLOW, 3: Level.BLUE, 4: Level.BLUE}
# CEF severity: 0-3 low, 4-6 medium, 7-8 high, 9-10 very high (or those words)
CEF_WORDS = {"low": 0, "medium": 4, "high": 7, "very-high": 9, "very high": 9}
CEF_LEVELS = ((9, Level.RED), (7, Level.ORANGE), (4, Level.YELLOW), (0, Level.BLUE))
CEF_HOSTS = ("dvchost", "dvc", "dhost", "dst", "shost", "src")
_CEF_HEADER = re.compile(r"CEF:(\d+)\|((?:[^|\\]|\\.)*\|){6}")
_CEF_KEY = re.compile(r"(?:^|\s)([A-Za-z0-9_.\[\]-]+)=")


class BadAlert(ValueError):
    """One field of one alert is wrong."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


def _get(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def _text(obj: Any, path: str, *, required: bool = True) -> str:
    value = _get(obj, path)
    if value is None and not required:
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool) or str(value) == "":
        raise BadAlert(path, "missing or not text")
    return str(value)[:1000]


def _time(obj: Any, path: str) -> datetime:
    raw = _get(obj, path)
    try:
        return moment(raw)
    except (ValueError, TypeError):
        pass
    try:  # Wazuh and Suricata write offsets without a colon: +0000
        found = datetime.strptime(str(raw), "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)
    except ValueError:
        raise BadAlert(path, f"{str(raw)[:60]!r} is not an RFC 3339 time") from None
    if not EARLIEST <= found <= LATEST:
        raise BadAlert(path, f"{str(raw)[:60]!r} is not an RFC 3339 time, 1900 to 9999")
    return found


def _banded(value: int, bands: tuple[tuple[int, Level], ...]) -> Level:
    return next(level for floor, level in bands if value >= floor)


def wazuh(obj: Any) -> SecurityAlert | None:
    """A Wazuh alert."""
    level = _get(obj, "rule.level")
    if not isinstance(level, int) or isinstance(level, bool) or not 0 <= level <= 15:
        raise BadAlert("rule.level", "an integer from 0 to 15")
    hosts = tuple(h for h in (_get(obj, "agent.name"), _get(obj, "agent.ip")) if isinstance(h, str))
    return SecurityAlert(
        AlertFormat.WAZUH,
        _text(obj, "id"),
        _time(obj, "timestamp"),
        hosts,
        _text(obj, "rule.id"),
        _text(obj, "rule.description"),
        _banded(level, WAZUH_LEVELS),
    )


def suricata(obj: Any) -> SecurityAlert | None:
    """A Suricata EVE alert; None for the other event types (flow, dns, http, …). A record
    without an event type is not EVE at all: refused."""
    kind = _get(obj, "event_type")
    if not isinstance(kind, str) or not kind:
        raise BadAlert("event_type", "required: an EVE record names its event type")
    if kind != "alert":
        return None
    severity = _get(obj, "alert.severity")
    if severity not in SURICATA_LEVELS or isinstance(severity, bool):
        raise BadAlert("alert.severity", "an integer from 1 to 4")
    at = _time(obj, "timestamp")
    rule = _text(obj, "alert.signature_id")
    hosts = tuple(h for h in (_get(obj, "dest_ip"), _get(obj, "src_ip")) if isinstance(h, str))
    key = content_id(at.isoformat(), _get(obj, "flow_id"), rule, *hosts)
    title = _text(obj, "alert.signature")
    return SecurityAlert(
        AlertFormat.SURICATA, key, at, hosts, rule, title, SURICATA_LEVELS[severity]
    )


def _cef_fields(line: str) -> tuple[list[str], dict[str, str]]:
    found = _CEF_HEADER.search(line)
    if found is None:
        raise BadAlert("header", "no CEF:Version|Vendor|Product|Version|Class|Name|Severity|")
    header = re.split(r"(?<!\\)\|", line[found.start() : found.end()])[:-1]
    header = [h.replace("\\|", "|").replace("\\\\", "\\") for h in header]
    rest = line[found.end() :]
    keys = list(_CEF_KEY.finditer(rest))
    ext = {
        k.group(1): rest[k.end() : (keys[i + 1].start() if i + 1 < len(keys) else len(rest))]
        .strip()
        .replace("\\=", "=")
        .replace("\\\\", "\\")
        for i, k in enumerate(keys)
    }
    return header, ext


def _cef_time(ext: dict[str, str], received_at: datetime) -> datetime:
    raw = ext.get("rt") or ext.get("end")
    if raw is None:
        return received_at
    if raw.isdigit():
        if int(raw) > EPOCH_MAX * 1000:
            raise BadAlert("rt", f"{raw[:60]!r} epoch milliseconds is past the year 9999")
        try:
            return datetime.fromtimestamp(int(raw) / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            raise BadAlert("rt", f"{raw[:60]!r} milliseconds is past the year 9999") from None
    try:
        return datetime.strptime(raw, "%b %d %Y %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        raise BadAlert(
            "rt", f"{raw[:60]!r} is neither epoch milliseconds nor MMM dd yyyy HH:mm:ss"
        ) from None


def cef(line: str, *, received_at: datetime) -> SecurityAlert:
    """A CEF line (times default to when it was received)."""
    header, ext = _cef_fields(line)
    word = header[6].strip().lower()
    score = CEF_WORDS.get(word, int(word) if word.isdigit() else -1)
    if not 0 <= score <= 10:
        raise BadAlert("severity", "0-10 or Low, Medium, High, Very-High")
    hosts = tuple(ext[k] for k in CEF_HOSTS if ext.get(k))
    key = ext.get("externalId") or content_id(line.strip())
    title = header[5][:1000] or header[4]
    return SecurityAlert(
        AlertFormat.CEF,
        key[:256],
        _cef_time(ext, received_at),
        hosts,
        f"{header[1]}/{header[2]}:{header[4]}"[:1000],
        title,
        _banded(score, CEF_LEVELS),
    )


def _json_items(text: str) -> Iterator[tuple[str, Any]]:
    if text.lstrip().startswith("["):
        try:
            items = loads_once(text)
        except DuplicateKey as err:
            raise InvalidInput([err.problem("")]) from None
        except (ValueError, RecursionError) as err:
            raise InvalidInput([Problem("body", "", f"not JSON: {err}")]) from None
        yield from ((f"alerts[{i}]", item) for i, item in enumerate(items))
        return
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                yield f"line {n}", loads_once(line)
            except DuplicateKey as err:
                raise InvalidInput([err.problem(f"line {n}")]) from None
            except (ValueError, RecursionError) as err:
                raise InvalidInput([Problem(f"line {n}", "", f"not JSON: {err}")]) from None


JSON_FORMATS: dict[AlertFormat, Callable[[Any], SecurityAlert | None]] = {
    AlertFormat.WAZUH: wazuh,
    AlertFormat.SURICATA: suricata,
}


def _items(
    kind: AlertFormat, text: str, *, received_at: datetime
) -> Iterator[tuple[str, Callable[[], SecurityAlert | None]]]:
    if kind is AlertFormat.CEF:
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                yield f"line {n}", partial(cef, line, received_at=received_at)
        return
    parse = JSON_FORMATS[kind]
    for where, item in _json_items(text):
        yield where, partial(parse, item)


def parse_alerts(kind: AlertFormat, text: str, *, received_at: datetime) -> list[SecurityAlert]:
    """Every alert of a delivery; InvalidInput naming every bad line (up to 50) and field."""
    if not text.strip():
        raise InvalidInput([Problem("body", "", "empty: no alerts")])
    alerts: list[SecurityAlert] = []
    problems: list[Problem] = []
    items = 0
    for where, read in _items(kind, text, received_at=received_at):
        items += 1
        try:
            alert = read()
        except BadAlert as err:
            problems.append(Problem(where, err.field, str(err)))
            continue
        if alert is not None:
            alerts.append(replace(alert, where=where))
    if items == 0:  # `[]`: a document that holds nothing
        problems.append(Problem("body", "", "empty: no alerts"))
    if len(alerts) > MAX_ALERTS:
        problems.append(Problem("body", "", f"{len(alerts):,} alerts; at most {MAX_ALERTS:,}"))
    if problems:
        raise InvalidInput(problems[:50])
    return alerts
