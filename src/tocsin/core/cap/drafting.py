"""Drafting: a warning (or a request made by hand) as a CAP 1.2 alert, and the messages that
follow it (an Update when the level changes, a Cancel or an all-clear when it is lifted).

One `info` block per configured language, each from the domain's templates (`config.texts`):
category from the domain's CAP category, severity from the level (red→Extreme, orange→Severe,
yellow→Moderate, blue→Minor, `core/levels.py`), urgency from the level and certainty from the
warning's source unless the issuer set them, onset and expires, the web page, the native level
in the parameter `WARNING_LEVEL`, and one area per region (`areas.region_area`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

from tocsin.core.cap.config import CapConfig, InfoTexts
from tocsin.core.cap.message import (
    Alert,
    Area,
    Certainty,
    Info,
    MsgType,
    NamedValue,
    ResponseType,
    Scope,
    Severity,
    Urgency,
)
from tocsin.core.cap.templates import flatten
from tocsin.core.domains import Domain
from tocsin.core.errors import InvalidInput, Problem
from tocsin.core.levels import LEVEL_STYLES, Level
from tocsin.core.regions import Region
from tocsin.core.warnings.model import Warning

LEVEL_PARAMETER: Final = "WARNING_LEVEL"
HEADLINE_MAX: Final = 160  # CAP 1.2 §3.2.2: a headline of fewer than 160 characters
TEXT_FIELDS: Final = ("event", "headline", "description", "instruction")
SAFE_ID: Final = re.compile(r"[^A-Za-z0-9._:-]+")


@dataclass(frozen=True, slots=True)
class DraftRequest:
    """What a public alert is about and what the issuer chose (None: proposed from the
    warning and configuration)."""

    regions: tuple[Region, ...]
    domain: Domain
    domain_chain: tuple[str, ...]  # the domain, then its ancestors
    level: Level
    warning: Warning | None = None
    urgency: Urgency | None = None
    certainty: Certainty | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    texts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # language -> field


def new_identifier(prefix: str, now: datetime, token: str) -> str:
    """`PREFIX.YYYYMMDDhhmmss.TOKEN`: no spaces, commas, `<` or `&` (CAP 1.2 §3.2.1), safe in a
    URL path."""
    stamp = now.strftime("%Y%m%d%H%M%S")
    return SAFE_ID.sub("-", f"{prefix}.{stamp}.{token}")


def template_values(
    request: DraftRequest, *, config: CapConfig, onset: datetime, expires: datetime
) -> dict[str, str]:
    """What the templates' placeholders stand for."""
    warning = request.warning
    values = {
        "region": ", ".join(r.name for r in request.regions),
        "region_code": ", ".join(r.code for r in request.regions),
        "domain": request.domain.code,
        "domain_name": request.domain.name,
        "level": request.level.value,
        "level_label": LEVEL_STYLES[request.level].label,
        "severity": request.level.cap_severity,
        "subject": warning.subject if warning else "",
        "onset": onset.strftime("%Y-%m-%d %H:%M"),
        "expires": expires.strftime("%Y-%m-%d %H:%M"),
        "sender_name": config.sender_name,
        "reason": reason_of(warning) if warning else "",
    }
    if warning is not None:
        values |= flatten("explanation", warning.explanation) | flatten("cause", warning.cause)
    return values


def reason_of(warning: Warning) -> str:
    """Why the warning stands, in a sentence: its cause's reason, else the measurement that
    crossed a threshold (`River level at D11 gauge: 5.5 m (threshold 5 m)`)."""
    cause, explanation = warning.cause, warning.explanation
    if cause.get("reason"):
        return str(cause["reason"])
    if "value" not in cause:
        return ""
    unit = f" {explanation['unit']}" if explanation.get("unit") else ""
    name = explanation.get("name") or warning.subject
    limit = f" (threshold {cause['threshold']:g}{unit})" if _number(cause.get("threshold")) else ""
    value = f"{cause['value']:g}" if _number(cause["value"]) else str(cause["value"])
    return f"{name}: {value}{unit}{limit}."


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def draft_alert(
    request: DraftRequest,
    *,
    config: CapConfig,
    areas: tuple[Area, ...],
    identifier: str,
    now: datetime,
) -> Alert:
    """A CAP alert (msgType Alert) for the request: one info block per configured language."""
    onset = request.onset or now
    expires = request.expires or onset + config.expires_after
    values = template_values(request, config=config, onset=onset, expires=expires)
    infos = tuple(
        _info(request, language, config=config, values=values, areas=areas, identifier=identifier)
        for language in config.languages
    )
    infos = tuple(replace(i, onset=onset, expires=expires) for i in infos)
    return Alert(
        identifier=identifier,
        sender=config.sender,
        sent=now,
        status=config.status,
        msg_type=MsgType.ALERT,
        scope=Scope.PUBLIC,
        source="Tocsin",
        infos=infos,
    )


def _info(
    request: DraftRequest,
    language: str,
    *,
    config: CapConfig,
    values: Mapping[str, str],
    areas: tuple[Area, ...],
    identifier: str,
) -> Info:
    texts = config.texts(request.domain_chain, language)
    if texts is None:
        reason = f"no texts for language {language} (domain {request.domain.code} or default)"
        raise InvalidInput([Problem("cap.yaml", "templates", reason)])
    words = {**values, "level": texts.level_words.get(request.level, request.level.value)}
    chosen = _texts(texts, words, request.texts.get(language, {}))
    source = request.warning.source if request.warning else ""
    return Info(
        language=language,
        categories=(request.domain.cap_category,),
        event=chosen["event"] or request.domain.name,
        response_types=texts.response_types,
        urgency=request.urgency or config.urgency.get(request.level, Urgency.UNKNOWN),
        severity=Severity(request.level.cap_severity),
        certainty=request.certainty or config.certainty.get(source, Certainty.LIKELY),
        audience=texts.audience,
        sender_name=config.sender_name,
        headline=_clip(chosen["headline"], HEADLINE_MAX) or None,
        description=chosen["description"] or None,
        instruction=chosen["instruction"] or None,
        web=f"{config.base_url.rstrip('/')}/cap/#{identifier}",
        parameters=(NamedValue(LEVEL_PARAMETER, request.level.value),),
        areas=areas,
    )


def _texts(
    texts: InfoTexts, values: Mapping[str, str], overrides: Mapping[str, str]
) -> dict[str, str]:
    """Each text field: the issuer's own words where given, else the template filled in."""
    return {
        name: (overrides.get(name) or getattr(texts, name).render(values)).strip()
        for name in TEXT_FIELDS
    }


def _clip(text: str, limit: int) -> str:
    return text if len(text) < limit else text[: limit - 2].rstrip() + "…"


def follow_up(previous: Alert, content: Alert, *, kind: MsgType, now: datetime) -> Alert:
    """An Update (new content) or Cancel of a published message: a new identifier's content
    with `references` to the message it replaces."""
    return replace(content, msg_type=kind, references=(previous.reference(),), sent=now)


def ending(
    previous: Alert,
    *,
    identifier: str,
    config: CapConfig,
    all_clear: bool,
    now: datetime,
) -> Alert:
    """The message that ends a published alert: a Cancel (or an Update with responseType
    AllClear), its info blocks those of the alert, in the feed for `cancel_visible_for`."""
    until = now + config.cancel_visible_for
    infos = tuple(
        replace(
            info,
            urgency=Urgency.PAST,
            response_types=(ResponseType.ALL_CLEAR,) if all_clear else info.response_types,
            effective=None,
            onset=None,
            expires=until,
            web=f"{config.base_url.rstrip('/')}/cap/#{identifier}",
        )
        for info in previous.infos
    )
    kind = MsgType.UPDATE if all_clear else MsgType.CANCEL
    return Alert(
        identifier=identifier,
        sender=previous.sender,
        sent=now,
        status=previous.status,
        msg_type=kind,
        scope=previous.scope,
        source=previous.source,
        references=(previous.reference(),),
        infos=infos,
    )


def edited(
    message: Alert, *, choices: Mapping[str, object], texts: Mapping[str, Mapping[str, str]]
) -> Alert:
    """The message with the issuer's changes: `choices` (urgency, certainty, onset, expires)
    for every info block, `texts` (language -> field -> words) for the blocks of a language;
    what is not named stays as it was."""
    common: dict[str, Any] = {k: v for k, v in choices.items() if v is not None}
    infos = []
    for info in message.infos:
        words: dict[str, Any] = {
            k: v for k, v in texts.get(info.language, {}).items() if k in TEXT_FIELDS
        }
        if "headline" in words:
            words["headline"] = _clip(words["headline"], HEADLINE_MAX)
        infos.append(replace(info, **common, **words))
    return replace(message, infos=tuple(infos))
