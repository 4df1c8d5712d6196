"""Open warnings as Alertmanager's API v2 shows alerts (`GET /api/v2/alerts`, "getAlerts"), so
that `amtool alert query` and other Alertmanager clients read Tocsin's board.

An alert's labels: for a warning raised by an alert posted to `POST /api/v2/alerts` (source
`prometheus`), the alert's own label set, unchanged (so a query by the labels it was posted with
finds it); for any other warning, the labels Tocsin's Alertmanager-format notifications give it
(`alert_labels`: its own labels, `alertname` = its subject, `region`, `domain`, `level`,
`severity`, `source`). Its status: `suppressed` while an active silence matches it or an open
warning inhibits it, else `active`; no warning is ever `unprocessed` (each is routed when it is
stored).

The filters are Alertmanager's: label matchers in its syntax (`parse_api_matcher`), a receiver
regular expression matched against the whole name of any of the alert's receivers, and the
`active`, `silenced`, `inhibited` flags (`AlertQuery.admits`), each true by default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tocsin.core.warnings.model import Warning
from tocsin.core.warnings.regexes import Regex, RegexError, compile_regex
from tocsin.core.warnings.selectors import MAX_MATCHER, Matcher, MatchOp, Selector
from tocsin.core.warnings.silences import Silence, SilenceState

PROMETHEUS = "prometheus"  # the source of warnings raised by posted alerts
SPAN = "valid_for_s"  # the explanation's key for the seconds a posted alert holds
GO_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)  # Alertmanager's "not set" for a time

# Alertmanager's matcher syntax (pkg/labels ParseMatcher): a label name, an operator, a value
# that may be double-quoted, with `\"`, `\\` and `\n` escaped inside it
_API_MATCHER = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*(.*?)\s*$", re.S)


def parse_api_matcher(text: str) -> Matcher:
    """One matcher as Alertmanager's API parses its `filter` parameter: `name="value"`, `!=`,
    `=~` or `!~`, the value quoted or not. ValueError says what is wrong (with Alertmanager's
    words where it has them)."""
    if len(text) > MAX_MATCHER:
        raise ValueError(f"matcher longer than {MAX_MATCHER} characters")
    found = _API_MATCHER.match(text)
    if found is None:
        raise ValueError(f"bad matcher format: {text}")
    name, op, raw = found.groups()
    value = _unquote(raw)
    if op in ("=~", "!~"):
        try:
            compile_regex(value)
        except RegexError as err:
            raise ValueError(f"bad regular expression in {text}: {err}") from err
    return Matcher(name, MatchOp(op), value)


def _unquote(raw: str) -> str:
    """A matcher's value with its quotes and escapes undone (Alertmanager's rules: a stray
    backslash is kept as it is; an unescaped quote inside the value is an error)."""
    quoted = raw.startswith('"')
    body = raw[1:] if quoted else raw
    out: list[str] = []
    escaped = closed = False
    for i, ch in enumerate(body):
        if escaped:
            escaped = False
            out.append({"n": "\n", '"': '"', "\\": "\\"}.get(ch, "\\" + ch))
        elif ch == "\\" and i < len(body) - 1:
            escaped = True
        elif ch == '"':
            if not quoted or i < len(body) - 1:
                raise ValueError(f"matcher value contains unescaped double quote: {raw}")
            closed = True
        else:
            out.append(ch)
    if quoted and not closed:
        raise ValueError(f"matcher value contains unescaped double quote: {raw}")
    return "".join(out)


def parse_receiver(pattern: str | None) -> Regex | None:
    """The receiver filter: a regular expression the whole receiver name must match (None: no
    filter; an empty one too, as amtool sends none when not given). ValueError if malformed."""
    if not pattern:
        return None
    try:
        return compile_regex(pattern)
    except RegexError as err:
        raise ValueError(f"failed to parse receiver param: {err}") from err


def alert_labels(warning: Warning) -> dict[str, str]:
    """The labels Tocsin's Alertmanager-format notifications give a warning."""
    return {
        **{k: str(v) for k, v in warning.labels.items()},
        "alertname": warning.subject,
        "region": warning.region,
        "domain": warning.domain,
        "level": warning.level.value,
        "severity": warning.level.cap_severity.lower(),
        "source": warning.source,
    }


def sender_annotations(warning: Warning) -> dict[str, str]:
    """A posted alert's own annotations (summary, description, runbook_url, …); nothing for
    other warnings."""
    given = warning.explanation.get("annotations") if warning.source == PROMETHEUS else None
    if not isinstance(given, dict):
        return {}
    return {str(k): str(v) for k, v in given.items()}


def alert_annotations(warning: Warning) -> dict[str, str]:
    """What a warning's alert says: a summary and the cause, then a posted alert's own."""
    cause = warning.cause
    return {
        "summary": f"{warning.level.value} warning: {warning.subject} in {warning.region}",
        "description": str(cause.get("reason", "")) or str(dict(cause)),
        **sender_annotations(warning),
    }


def posted(warning: Warning) -> bool:
    """True for a warning raised by an alert posted to the Alertmanager-API receiver."""
    return warning.source == PROMETHEUS


@dataclass(frozen=True, slots=True)
class AlertView:
    """One open warning as Alertmanager's gettableAlert."""

    warning_id: str
    fingerprint: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: datetime
    ends_at: datetime  # GO_ZERO_TIME: no end is known (the warning holds until it is lifted)
    updated_at: datetime
    receivers: tuple[str, ...]
    silenced_by: tuple[str, ...]  # the ids the reader may see (the state counts them all)
    inhibited_by: tuple[str, ...]
    suppressed: bool
    generator_url: str

    @property
    def state(self) -> str:
        """`suppressed` or `active`."""
        return "suppressed" if self.suppressed else "active"


def view_of(
    warning: Warning,
    *,
    receivers: tuple[str, ...],
    silenced_by: tuple[str, ...],
    inhibited_by: tuple[str, ...],
    suppressed: bool,
    url: str,
) -> AlertView:
    """A warning as an alert; `url` is where the warning is read in Tocsin's API (a posted
    alert keeps its own generator URL when it gave one)."""
    own = posted(warning)
    generator = str(warning.explanation.get("generator_url") or "") if own else ""
    return AlertView(
        warning_id=warning.id,
        fingerprint=warning.fingerprint,
        labels=dict(warning.labels) if own and warning.labels else alert_labels(warning),
        annotations=alert_annotations(warning),
        starts_at=warning.first_seen_at,
        ends_at=ends_at(warning),
        updated_at=max(warning.updated_at, warning.last_seen_at),
        receivers=receivers,
        silenced_by=silenced_by,
        inhibited_by=inhibited_by,
        suppressed=suppressed,
        generator_url=generator or url,
    )


def ends_at(warning: Warning) -> datetime:
    """When a posted alert ends unless posted again (its last post plus its span, as the
    receiver lifts it); Go's zero time for a warning that holds until it is lifted."""
    span = warning.explanation.get(SPAN) if posted(warning) else None
    if not isinstance(span, int | float) or isinstance(span, bool):
        return GO_ZERO_TIME
    return warning.last_seen_at + timedelta(seconds=span)


@dataclass(frozen=True, slots=True)
class AlertQuery:
    """Alertmanager's getAlerts filters."""

    matchers: tuple[Matcher, ...] = ()
    receiver: Regex | None = None
    active: bool = True
    silenced: bool = True
    inhibited: bool = True

    def admits(
        self,
        view: AlertView,
        *,
        silenced: bool,
        inhibited: bool,
        now: datetime,
    ) -> bool:
        """True when the alert passes every filter (as Alertmanager's alertFilter: an alert
        that has ended is left out; `silenced` and `inhibited` count every suppressor, seen or
        not)."""
        if view.ends_at != GO_ZERO_TIME and view.ends_at < now:
            return False
        if not self.active and not (silenced or inhibited):
            return False
        if (not self.silenced and silenced) or (not self.inhibited and inhibited):
            return False
        if self.receiver is not None and not any(
            self.receiver.fullmatch(r) for r in view.receivers
        ):
            return False
        return all(m.matches(view.labels) for m in self.matchers)


@dataclass(frozen=True, slots=True)
class SilenceMatcher:
    """One matcher of a silence as Alertmanager's API shows it."""

    name: str
    value: str
    is_regex: bool
    is_equal: bool


def silence_matchers(selector: Selector, *, region_label: str) -> tuple[SilenceMatcher, ...]:
    """A silence's selector as Alertmanager matchers on the labels warnings are matched by
    (`tocsin.services.targets`): its region's subtree is `region_<level>="R"` (`region_label`
    names that label), its domain's subtree `domain=~"d(\\..+)?"`, its levels `level=~"…"`,
    then its own matchers; a selector of everything is `region=~".+"` (Alertmanager wants at
    least one matcher)."""
    out: list[SilenceMatcher] = []
    if selector.region is not None:
        out.append(SilenceMatcher(region_label, selector.region, False, True))
    if selector.domain is not None:
        out.append(SilenceMatcher("domain", re.escape(selector.domain) + r"(\..+)?", True, True))
    if selector.levels:
        levels = "|".join(sorted(lv.value for lv in selector.levels))
        out.append(SilenceMatcher("level", levels, True, True))
    for m in selector.matchers:
        regex = m.op in (MatchOp.RE, MatchOp.NRE)
        out.append(SilenceMatcher(m.name, m.value, regex, m.op in (MatchOp.EQ, MatchOp.RE)))
    return tuple(out) or (SilenceMatcher("region", ".+", True, True),)


# Alertmanager knows three states; a broad silence awaiting its second person's approval
# suppresses nothing yet (pending), a refused one never will (expired)
SILENCE_STATE = {
    SilenceState.ACTIVE: "active",
    SilenceState.PENDING: "pending",
    SilenceState.AWAITING_APPROVAL: "pending",
    SilenceState.REFUSED: "expired",
    SilenceState.EXPIRED: "expired",
}
_STATE_ORDER = {"active": 0, "pending": 1, "expired": 2}


def silence_state(silence: Silence, now: datetime) -> str:
    """`active`, `pending` or `expired`, as Alertmanager names a silence's state."""
    return SILENCE_STATE[silence.state(now)]


def alertmanager_order(silences: list[Silence], now: datetime) -> list[Silence]:
    """As Alertmanager lists silences: active ones first, the next to end first; then pending
    ones, the next to start first; then expired ones, the last to end first."""

    def key(s: Silence) -> tuple[int, float]:
        state = silence_state(s, now)
        moment = s.starts_at if state == "pending" else s.ends_at
        sign = -1 if state == "expired" else 1
        return _STATE_ORDER[state], sign * moment.timestamp()

    return sorted(silences, key=key)
