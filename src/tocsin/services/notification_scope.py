"""What a principal may see of the notification pipeline: notifications in its scope, with
their addresses redacted, and the suppressors of a warning (those outside the scope unnamed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from tocsin.core.access import Placement, Principal, sees
from tocsin.core.redaction import redact_address, redact_text, url_secrets
from tocsin.core.warnings.outbox import Notification
from tocsin.ports import AlertingSession


def redacted(note: Notification) -> Notification:
    """A notification as it may be shown: its address redacted (no credentials, no e-mail
    address) and its last error with any secret removed."""
    error = redact_text(note.last_error, url_secrets(note.address)) if note.last_error else None
    return replace(note, address=redact_address(note.channel.value, note.address), last_error=error)


HIDDEN = "(outside your scope)"


def shown_suppressors(
    tx: AlertingSession, principal: Principal, named: Sequence[str]
) -> tuple[str, ...]:
    """The suppressors (`silence:<id>`, `warning:<id>`) of a warning, those outside the
    principal's scope shown as `silence:(outside your scope)` without their id."""
    if principal.scope.national:
        return tuple(named)
    out = []
    for entry in named:
        kind, _, ident = entry.partition(":")
        place = None
        if kind == "silence" and (silence := tx.silences.get(ident)) is not None:
            place = Placement(silence.selector.region, silence.selector.domain)
        elif kind == "warning" and (found := tx.warnings.by_ids([ident]).get(ident)):
            place = Placement(found.region, found.domain)
        seen = place is not None and sees(principal.scope, place)
        out.append(entry if seen else f"{kind}:{HIDDEN}")
    return tuple(out)


def sees_notification(
    principal: Principal, note: Notification, places: Mapping[str, Placement]
) -> bool:
    """Whether the principal sees every warning the notification names (a silence notice:
    the silence's region and domain; a task notice: the task's)."""
    if note.warning_ids:
        return all(i in places and sees(principal.scope, places[i]) for i in note.warning_ids)
    task = note.payload.get("task") if note.payload else None
    if isinstance(task, Mapping):  # a task notice: where the task sits (its unit's region)
        return sees(principal.scope, Placement(task.get("region"), task.get("domain")))
    selector = note.payload.get("silence", {}).get("selector") if note.payload else None
    if not isinstance(selector, Mapping):
        return False
    return sees(principal.scope, Placement(selector.get("region"), selector.get("domain")))
