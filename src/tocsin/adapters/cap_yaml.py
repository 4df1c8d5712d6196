"""Public alert configuration: `cap.yaml`, validated into `core.cap.config.CapConfig`.

The file is optional (every part has a default). Every problem is collected with the file, the
path inside it and the reason, as for the other configuration files, and checked against the
catalogue: template placeholders, a text for every language (the domain's own, an ancestor's or
the default's), known domains and regions, webhook URLs. `tocsin check-config` runs the same.

    sender: cap@civil-protection.example
    sender_name: National Civil Protection
    identifier_prefix: "2.49.0.1.999"
    base_url: https://alerts.example.org     # where /cap/… is served, in links and the feed
    languages: [en-GB, fr-FR]
    templates:
      default: {en: {event: …, headline: …, description: …, instruction: …}, fr: {…}}
      natural.flood: {en: {…}, fr: {…}}
    auto_publish: [{domain: natural.flood, levels: [red]}]
    subscribers: [{name: radio, webhooks: [{url: …}], regions: [P1], levels: [red, orange]}]
    import:
      rules: [{name: neighbour-floods, senders: ["*@met.example"], events: [flood],
               domain: natural.flood, min_level: yellow}]
      sources: [{name: neighbour, url: https://…/feed.atom, every_s: 300}]
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tocsin.adapters.alerting_yaml import ReceiverSpec, receiver_addresses
from tocsin.adapters.config_errors import read_document, validation_problems
from tocsin.core.access import domain_subtrees, region_subtrees
from tocsin.core.cap.config import (
    DEFAULT_DOMAIN,
    DEFAULT_TEXTS,
    AutoPublish,
    CapConfig,
    CapSource,
    ImportRule,
    InfoTexts,
    LiftAs,
    Subscriber,
)
from tocsin.core.cap.message import Certainty, ResponseType, Status, Urgency
from tocsin.core.cap.templates import Template, template_problems
from tocsin.core.catalog import Catalog
from tocsin.core.domains import DomainCode
from tocsin.core.errors import InvalidConfig, Problem
from tocsin.core.levels import Level

FILE = "cap.yaml"
SAFE = r"^[A-Za-z0-9._:-]+$"
NO_SPACE = r"^[^\s,<&]+$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TextsSpec(_Strict):
    """The texts of one language."""

    event: str = Field(max_length=500)
    headline: str = Field(max_length=1000)
    description: str = Field(max_length=10_000)
    instruction: str = Field(default="", max_length=10_000)
    response_types: list[ResponseType] = []
    audience: str | None = None
    levels: dict[Level, str] = {}  # the level's word in this language, for {level}


class AutoPublishSpec(_Strict):
    """Published without a second person."""

    domain: str
    levels: list[Level] = Field(min_length=1)


class SubscriberSpec(ReceiverSpec):
    """A receiver of published alerts, with its filter."""

    regions: list[str] = Field(default_factory=list)
    domains: list[str] = Field(default_factory=list)
    levels: list[Level] = Field(default_factory=list)


class RuleSpec(_Strict):
    """An import rule."""

    name: str = Field(min_length=1, max_length=128)
    domain: str
    senders: list[str] = []
    categories: list[str] = []
    events: list[str] = []
    min_level: Level = Level.BLUE
    warn: bool = True


class SourceSpec(_Strict):
    """A polled source."""

    name: str = Field(min_length=1, max_length=128)
    url: str = Field(min_length=1)
    every_s: float = Field(default=300, ge=10)


class ImportSpec(_Strict):
    """Reading other agencies' alerts."""

    rules: list[RuleSpec] = []
    sources: list[SourceSpec] = []
    geocodes: list[str] = []
    categories: dict[str, str] = {}
    max_document_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    max_feed_bytes: int = Field(default=16 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024)
    max_feed_entries: int = Field(default=500, ge=1, le=10_000)


class CapFile(_Strict):
    """cap.yaml."""

    sender: str = Field(default="tocsin@localhost", pattern=NO_SPACE, max_length=256)
    sender_name: str = Field(default="Tocsin", min_length=1, max_length=256)
    identifier_prefix: str = Field(default="tocsin", pattern=SAFE, max_length=128)
    base_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")
    status: Status = Status.ACTUAL
    languages: list[str] = Field(default=["en-US"], min_length=1)
    templates: dict[str, dict[str, TextsSpec]] = {}
    urgency: dict[Level, Urgency] = {}
    certainty: dict[str, Certainty] = {}
    expires_after_s: float = Field(default=86_400, gt=0)
    lift_as: LiftAs = LiftAs.CANCEL
    cancel_visible_for_s: float = Field(default=3_600, gt=0)
    max_points: int = Field(default=100, ge=4, le=1000)
    max_polygons: int = Field(default=20, ge=1, le=100)
    geocode_name: str = Field(default="TOCSIN", min_length=1, max_length=64)
    publish_on_approval: bool = True
    auto_publish: list[AutoPublishSpec] = []
    subscribers: list[SubscriberSpec] = []
    import_: ImportSpec = Field(default=ImportSpec(), alias="import")


def load_cap(directory: Path | None, catalog: Catalog, *, base_url: str) -> CapConfig:
    """Read and check cap.yaml (the defaults when there is none); InvalidConfig listing every
    problem. `base_url` is used when the file names none."""
    path = directory / FILE if directory is not None else None
    if path is None or not path.exists():
        return CapConfig(base_url=base_url)
    problems: list[Problem] = []
    raw = read_document(path, problems)
    if problems:
        raise InvalidConfig(problems)
    try:
        spec = CapFile.model_validate(raw or {})
    except ValidationError as err:
        raise InvalidConfig(validation_problems(err, str(path), data=raw, model=CapFile)) from None
    config = _Builder(catalog, path, problems).config(spec, base_url=base_url)
    if problems:
        raise InvalidConfig(problems)
    return config


class _Builder:
    """Builds the core configuration, adding cross-reference problems as it goes."""

    def __init__(self, catalog: Catalog, path: Path, problems: list[Problem]) -> None:
        self.catalog = catalog
        self.path = path
        self.problems = problems

    def add(self, where: str, reason: str) -> None:
        self.problems.append(Problem(str(self.path), where, reason))

    def domain(self, code: str, where: str) -> None:
        if DomainCode(code) not in self.catalog.domains:
            self.add(where, f"unknown domain {code!r}")

    def region(self, code: str, where: str) -> None:
        if code not in self.catalog.regions:
            self.add(where, f"unknown region {code!r}")

    def config(self, spec: CapFile, *, base_url: str) -> CapConfig:
        templates = self.templates(spec)
        imports = spec.import_
        config = CapConfig(
            sender=spec.sender,
            sender_name=spec.sender_name,
            identifier_prefix=spec.identifier_prefix,
            base_url=(spec.base_url or base_url).rstrip("/"),
            status=spec.status,
            languages=tuple(dict.fromkeys(spec.languages)),
            templates=templates,
            urgency={**CapConfig().urgency, **spec.urgency},
            certainty={**CapConfig().certainty, **spec.certainty},
            expires_after=timedelta(seconds=spec.expires_after_s),
            lift_as=spec.lift_as,
            cancel_visible_for=timedelta(seconds=spec.cancel_visible_for_s),
            max_points=spec.max_points,
            max_polygons=spec.max_polygons,
            geocode_name=spec.geocode_name,
            publish_on_approval=spec.publish_on_approval,
            auto_publish=tuple(self.auto(spec)),
            subscribers=tuple(self.subscribers(spec)),
            import_rules=tuple(self.rules(imports)),
            import_geocodes=tuple(imports.geocodes),
            import_categories=self.categories(imports),
            sources=tuple(
                CapSource(s.name, s.url, timedelta(seconds=s.every_s)) for s in imports.sources
            ),
            max_document_bytes=imports.max_document_bytes,
            max_feed_bytes=imports.max_feed_bytes,
            max_feed_entries=imports.max_feed_entries,
        )
        self.languages(config)
        return config

    def templates(self, spec: CapFile) -> dict[str, dict[str, InfoTexts]]:
        out: dict[str, dict[str, InfoTexts]] = {DEFAULT_DOMAIN: {"en": DEFAULT_TEXTS}}
        for domain, by_language in spec.templates.items():
            if domain != DEFAULT_DOMAIN:
                self.domain(domain, f"templates.{domain}")
            chosen = out.setdefault(domain, {}) if domain == DEFAULT_DOMAIN else {}
            for language, texts in by_language.items():
                chosen[language] = self.texts(texts, f"templates.{domain}.{language}")
            out[domain] = chosen
        return out

    def texts(self, spec: TextsSpec, where: str) -> InfoTexts:
        for name in ("event", "headline", "description", "instruction"):
            for reason in template_problems(getattr(spec, name)):
                self.add(f"{where}.{name}", reason)
        return InfoTexts(
            event=Template(spec.event),
            headline=Template(spec.headline),
            description=Template(spec.description),
            instruction=Template(spec.instruction),
            response_types=tuple(spec.response_types),
            audience=spec.audience,
            level_words=dict(spec.levels),
        )

    def languages(self, config: CapConfig) -> None:
        for i, language in enumerate(config.languages):
            if re.fullmatch(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*", language) is None:
                self.add(f"languages[{i}]", f"{language!r} is not a language tag (e.g. en-GB)")
            elif config.texts((), language) is None:
                self.add(f"templates.{DEFAULT_DOMAIN}", f"no texts for language {language}")

    def auto(self, spec: CapFile) -> list[AutoPublish]:
        for i, a in enumerate(spec.auto_publish):
            self.domain(a.domain, f"auto_publish[{i}].domain")
        return [AutoPublish(a.domain, frozenset(a.levels)) for a in spec.auto_publish]

    def subscribers(self, spec: CapFile) -> list[Subscriber]:
        out = []
        for i, s in enumerate(spec.subscribers):
            where = f"subscribers[{i}]"
            addresses = receiver_addresses(s, self.path)
            if not addresses:
                self.add(where, "a subscriber needs a webhook, an e-mail or a file")
            for k, code in enumerate(s.regions):
                self.region(code, f"{where}.regions[{k}]")
            for k, code in enumerate(s.domains):
                self.domain(code, f"{where}.domains[{k}]")
            tree, domains = self.catalog.regions, self.catalog.domains
            regions = region_subtrees(tree, s.regions) if s.regions else frozenset()
            kinds = domain_subtrees(domains, s.domains) if s.domains else frozenset()
            out.append(Subscriber(s.name, tuple(addresses), regions, kinds, frozenset(s.levels)))
        return out

    def rules(self, spec: ImportSpec) -> list[ImportRule]:
        out = []
        for i, r in enumerate(spec.rules):
            self.domain(r.domain, f"import.rules[{i}].domain")
            for k, pattern in enumerate(r.events):
                try:
                    re.compile(pattern)
                except re.error as err:
                    self.add(f"import.rules[{i}].events[{k}]", f"not a regular expression: {err}")
            out.append(_rule(r))
        return out

    def categories(self, spec: ImportSpec) -> dict[str, str]:
        for category, domain in spec.categories.items():
            self.domain(domain, f"import.categories.{category}")
        return dict(spec.categories)


def _rule(r: RuleSpec) -> ImportRule:
    return ImportRule(
        name=r.name,
        domain=r.domain,
        senders=tuple(r.senders),
        categories=frozenset(r.categories),
        events=tuple(r.events),
        min_level=r.min_level,
        warn=r.warn,
    )
