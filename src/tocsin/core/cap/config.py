"""Public alert configuration (`cap.yaml`) as values: who sends, in which languages, with which
texts, what is published without a second person, who is told, what is read from others.

Every part has a default, so Tocsin drafts valid CAP without a `cap.yaml`: one language
(`en-US`) with the English texts of `DEFAULT_TEXTS`. `adapters/cap_yaml.py` reads the file and
checks it against the catalogue (domains, regions, units) and `templates.template_problems`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Final

from tocsin.core.cap.message import Certainty, ResponseType, Severity, Status, Urgency
from tocsin.core.cap.templates import Template
from tocsin.core.levels import Level
from tocsin.core.warnings.outbox import Address

DEFAULT_DOMAIN: Final = "default"  # the templates used where a domain has none of its own


class LiftAs(StrEnum):
    """What a lifted warning's published alert becomes."""

    CANCEL = "cancel"  # msgType Cancel
    ALL_CLEAR = "all_clear"  # msgType Update with responseType AllClear


@dataclass(frozen=True, slots=True)
class InfoTexts:
    """The texts of one info block, in one language, for one domain."""

    event: Template
    headline: Template
    description: Template
    instruction: Template
    response_types: tuple[ResponseType, ...] = ()
    audience: str | None = None
    level_words: Mapping[Level, str] = field(default_factory=dict)  # `{level}` in this language


DEFAULT_TEXTS: Final = InfoTexts(
    event=Template("{domain_name}"),
    headline=Template("{level_label} warning: {domain_name} in {region}"),
    description=Template(
        "A {level} warning for {domain_name} is in force in {region} from {onset} until "
        "{expires} (UTC). {reason}"
    ),
    instruction=Template("Follow the advice of the local authorities and keep informed."),
    response_types=(ResponseType.MONITOR,),
)

URGENCY: Final[Mapping[Level, Urgency]] = {
    Level.RED: Urgency.IMMEDIATE,
    Level.ORANGE: Urgency.EXPECTED,
    Level.YELLOW: Urgency.EXPECTED,
    Level.BLUE: Urgency.FUTURE,
}
# how sure a warning is, by its source: a measured threshold is observed, a model's a guess
CERTAINTY: Final[Mapping[str, Certainty]] = {
    "threshold": Certainty.OBSERVED,
    "prometheus": Certainty.OBSERVED,
    "cap": Certainty.OBSERVED,
    "detector": Certainty.LIKELY,
    "risk": Certainty.POSSIBLE,
}
SEVERITY_LEVEL: Final[Mapping[Severity, Level]] = {
    Severity.EXTREME: Level.RED,
    Severity.SEVERE: Level.ORANGE,
    Severity.MODERATE: Level.YELLOW,
    Severity.MINOR: Level.BLUE,
}


@dataclass(frozen=True, slots=True)
class AutoPublish:
    """Warnings of this domain (and its sub-domains) at these levels are published at once,
    without a second person: an explicit, audited exception to approval."""

    domain: str
    levels: frozenset[Level]


@dataclass(frozen=True, slots=True)
class Subscriber:
    """Someone told of every published alert within a filter (empty: no limit)."""

    name: str
    addresses: tuple[Address, ...]
    regions: frozenset[str] = frozenset()  # region codes, each with its subtree (expanded)
    domains: frozenset[str] = frozenset()  # domain codes, each with its sub-domains (expanded)
    levels: frozenset[Level] = frozenset()


@dataclass(frozen=True, slots=True)
class ImportRule:
    """How another agency's alerts raise, update and lift our warnings (the first rule whose
    match holds applies; alerts no rule matches become events only)."""

    name: str
    domain: str
    senders: tuple[str, ...] = ()  # shell-style patterns (`*@metoffice.example`)
    categories: frozenset[str] = frozenset()
    events: tuple[str, ...] = ()  # regular expressions, searched case-insensitively
    min_level: Level = Level.BLUE
    warn: bool = True

    def matches(self, *, sender: str, categories: tuple[str, ...], event: str) -> bool:
        """True when the alert's sender, categories and event satisfy this rule."""
        if self.senders and not any(fnmatch.fnmatchcase(sender, p) for p in self.senders):
            return False
        if self.categories and not self.categories & set(categories):
            return False
        return not self.events or any(re.search(e, event, re.IGNORECASE) for e in self.events)


@dataclass(frozen=True, slots=True)
class CapSource:
    """A feed (Atom or RSS of CAP) or single CAP document polled on a schedule."""

    name: str
    url: str
    every: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class CapConfig:
    """Everything public alerts need from configuration."""

    sender: str = "tocsin@localhost"
    sender_name: str = "Tocsin"
    identifier_prefix: str = "tocsin"
    base_url: str = "http://127.0.0.1:8080"
    status: Status = Status.ACTUAL
    languages: tuple[str, ...] = ("en-US",)
    templates: Mapping[str, Mapping[str, InfoTexts]] = field(
        default_factory=lambda: {DEFAULT_DOMAIN: {"en": DEFAULT_TEXTS}}
    )
    urgency: Mapping[Level, Urgency] = field(default_factory=lambda: dict(URGENCY))
    certainty: Mapping[str, Certainty] = field(default_factory=lambda: dict(CERTAINTY))
    expires_after: timedelta = timedelta(hours=24)
    lift_as: LiftAs = LiftAs.CANCEL
    cancel_visible_for: timedelta = timedelta(hours=1)
    max_points: int = 100
    max_polygons: int = 20
    geocode_name: str = "TOCSIN"
    publish_on_approval: bool = True
    auto_publish: tuple[AutoPublish, ...] = ()
    subscribers: tuple[Subscriber, ...] = ()
    import_rules: tuple[ImportRule, ...] = ()
    import_geocodes: tuple[str, ...] = ()  # geocode valueNames naming our regions on import
    import_categories: Mapping[str, str] = field(default_factory=dict)  # CAP category -> domain
    sources: tuple[CapSource, ...] = ()
    max_document_bytes: int = 1024 * 1024
    max_feed_bytes: int = 16 * 1024 * 1024
    max_feed_entries: int = 500

    def texts(self, domain_chain: tuple[str, ...], language: str) -> InfoTexts | None:
        """The texts for a language: the domain's own, else its nearest ancestor's, else the
        default's; a language `en-GB` falls back to `en`."""
        for domain in (*domain_chain, DEFAULT_DOMAIN):
            by_language = self.templates.get(domain)
            if by_language is None:
                continue
            for lang in (language, language.split("-")[0]):
                if lang in by_language:
                    return by_language[lang]
        return None

    def auto_publishes(self, domain_chain: tuple[str, ...], level: Level) -> bool:
        """True when configuration publishes this domain at this level without approval."""
        return any(a.domain in domain_chain and level in a.levels for a in self.auto_publish)

    @property
    def geocodes_read(self) -> tuple[str, ...]:
        """Geocode names read as our region codes on import (ours at least)."""
        return tuple(dict.fromkeys((self.geocode_name, *self.import_geocodes)))
