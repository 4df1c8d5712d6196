"""Other agencies' alerts read in: which thread a message continues, how bad it is in our
levels, which domain it belongs to, and what it does to our warnings.

A **thread** is a chain of messages (Alert, Update…, Cancel) linked by `references`; it is named
by its first message (`sender,identifier`). A message whose references name a message we know
continues that message's thread; one naming messages we never saw starts the thread of the
first of them. The level is the `WARNING_LEVEL` parameter when it names one of ours (Tocsin's
own alerts), else the colour of a MeteoAlarm-style `awareness_level` ("3; orange; Severe"), else
the severity (Extreme→red, Severe→orange, Moderate→yellow, Minor→blue). An Actual message that
an import rule matches raises or changes one warning per region of its thread (fingerprint:
thread, region, domain), and lifts those of regions it no longer covers; a Cancel, an all-clear
Update, a level under the rule's minimum or the thread's expiry lifts them all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from tocsin.core.cap.config import SEVERITY_LEVEL, ImportRule
from tocsin.core.cap.drafting import LEVEL_PARAMETER
from tocsin.core.cap.message import Alert, Info, MsgType, ResponseType, Severity, Status
from tocsin.core.domains import Domain, DomainCode
from tocsin.core.levels import LEVEL_STYLES, Level
from tocsin.core.regions import RegionCode
from tocsin.core.warnings.model import Command, CommandKind, Place, fingerprint

SOURCE: Final = "cap"
AWARENESS: Final = "awareness_level"
Key = tuple[str, str]  # (sender, identifier)


@dataclass(frozen=True, slots=True)
class ImportedAlert:
    """One message read from another agency, as kept: where it applies and what it did."""

    sender: str
    identifier: str
    sent: datetime
    msg_type: MsgType
    status: Status
    thread: str
    source: str
    received_at: datetime
    event: str
    headline: str
    regions: tuple[str, ...]
    domain: str
    level: Level | None
    expires_at: datetime | None = None
    references: tuple[str, ...] = ()
    rule: str | None = None  # the import rule that applies (None: events only)
    ended_at: datetime | None = None  # when its warnings were lifted (cancel, expiry, update)
    xml: str = ""

    @property
    def key(self) -> Key:
        """(sender, identifier): what `references` name."""
        return (self.sender, self.identifier)


def reference_keys(alert: Alert) -> list[Key]:
    """(sender, identifier) of each well-formed reference."""
    out: list[Key] = []
    for ref in alert.references:
        parts = [p.strip() for p in ref.split(",")]
        if len(parts) == 3 and parts[0] and parts[1]:
            out.append((parts[0], parts[1]))
    return out


def thread_of(alert: Alert, known: Mapping[Key, ImportedAlert]) -> str:
    """The thread a message belongs to (`sender,identifier` of the chain's first message)."""
    refs = reference_keys(alert)
    for key in refs:
        if key in known:
            return known[key].thread
    first = refs[0] if refs else (alert.sender, alert.identifier)
    return f"{first[0]},{first[1]}"


def level_of(info: Info) -> Level | None:
    """Our level for an info block (None: it says nothing we can grade)."""
    own = (info.parameter(LEVEL_PARAMETER) or "").strip().lower()
    if own in LEVEL_STYLES:
        return Level(own)
    awareness = (info.parameter(AWARENESS) or "").lower()
    for colour in (p.strip() for p in awareness.split(";")):
        if colour in LEVEL_STYLES:
            return Level(colour)
    return SEVERITY_LEVEL.get(info.severity) if info.severity is not Severity.UNKNOWN else None


def main_info(alert: Alert, languages: Sequence[str] = ()) -> Info | None:
    """The info block to read: the first in one of `languages` (by primary tag), else the
    first; the most severe level wins when blocks disagree."""
    if not alert.infos:
        return None
    wanted = {lang.split("-")[0].lower() for lang in languages}
    preferred = [i for i in alert.infos if i.language.split("-")[0].lower() in wanted]
    return (preferred or list(alert.infos))[0]


def category_domains(domains: Mapping[DomainCode, Domain]) -> dict[str, str]:
    """For each CAP category, the domain an alert of it belongs to by default: the first root
    domain of that category, else the first domain of it."""
    out: dict[str, str] = {}
    for root_first in (True, False):
        for code, domain in domains.items():
            if (domain.parent is None) == root_first:
                out.setdefault(domain.cap_category, code)
    return out


def choose_rule(alert: Alert, info: Info | None, rules: Sequence[ImportRule]) -> ImportRule | None:
    """The first import rule whose match holds for the message (None: events only)."""
    if info is None:
        return None
    for rule in rules:
        if rule.matches(sender=alert.sender, categories=info.categories, event=info.event):
            return rule
    return None


def ends_thread(alert: Alert, level: Level | None, rule: ImportRule | None) -> bool:
    """True when the message ends its thread's warnings (cancel, all-clear, below minimum)."""
    if alert.msg_type is MsgType.CANCEL:
        return True
    if any(ResponseType.ALL_CLEAR in i.response_types for i in alert.infos):
        return True
    return rule is not None and (level is None or level.rank < rule.min_level.rank)


def warns(record: ImportedAlert) -> bool:
    """True when the message may raise warnings (an Actual alert an import rule matched)."""
    return record.rule is not None and record.status is Status.ACTUAL


@dataclass(frozen=True, slots=True)
class WarningChange:
    """One command for one warning fingerprint, and where a new warning would be raised."""

    fingerprint: str
    command: Command
    place: Place


def warning_changes(
    record: ImportedAlert,
    *,
    previous: ImportedAlert | None,
    ends: bool,
    actor: str,
) -> list[WarningChange]:
    """What the message does to our warnings: raise or change one per region, lift the
    regions the thread no longer covers (all of them when it `ends`)."""
    if not warns(record) and previous is None:
        return []
    before = set(previous.regions) if previous is not None and previous.ended_at is None else set()
    now_in = set() if ends or not warns(record) or record.level is None else set(record.regions)
    out = [
        _lift(record, region, domain=_domain(previous, record), actor=actor)
        for region in sorted(before - now_in)
    ]
    out += [_raise(record, region, actor=actor) for region in sorted(now_in)]
    return out


def _domain(previous: ImportedAlert | None, record: ImportedAlert) -> str:
    return previous.domain if previous is not None else record.domain


def thread_fingerprint(thread: str, region: str, domain: str) -> str:
    """The fingerprint of the warning a thread raises in a region."""
    return fingerprint(SOURCE, thread, region, domain)


def _place(record: ImportedAlert, region: str, domain: str) -> Place:
    return Place(
        SOURCE,
        f"{record.event} ({record.sender})"[:256],
        RegionCode(region),
        DomainCode(domain),
        {"cap_sender": record.sender, "cap_thread": record.thread},
    )


def _cause(record: ImportedAlert) -> dict[str, Any]:
    return {
        "sender": record.sender,
        "identifier": record.identifier,
        "msg_type": record.msg_type.value,
        "reason": record.headline or record.event,
    }


def _raise(record: ImportedAlert, region: str, *, actor: str) -> WarningChange:
    level = record.level or Level.BLUE  # only graded messages raise (see warning_changes)
    explanation = {
        "rule": f"cap:{record.rule}",
        "sender": record.sender,
        "thread": record.thread,
        "event": record.event,
        "level": level.value,
    }
    reason = f"{record.sender}: {record.headline or record.event}"
    command = Command(CommandKind.RAISE, actor, reason, level, _cause(record), explanation)
    fp = thread_fingerprint(record.thread, region, record.domain)
    return WarningChange(fp, command, _place(record, region, record.domain))


def _lift(record: ImportedAlert, region: str, *, domain: str, actor: str) -> WarningChange:
    what = "cancelled" if record.msg_type is MsgType.CANCEL else "ended"
    reason = f"{record.sender}: {record.identifier} {what}"
    command = Command(CommandKind.LIFT, actor, reason, None, _cause(record), None)
    fp = thread_fingerprint(record.thread, region, domain)
    return WarningChange(fp, command, _place(record, region, domain))
