"""The world the access matrix runs in: the small scenario with warnings, silences, events and
notifications in several regions and domains, and one principal per role × scope, each with a
token; and, written by hand here (not computed by Tocsin's policy), what each principal should
see and may do."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
import yaml

from tests.access import concepts
from tocsin.adapters.storage.sealing import new_key
from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.core.observations import ObservationBatch
from tocsin.core.users import Role, User, UserName
from tocsin.core.warnings.selectors import Selector
from tocsin.services.access import TokenRequest
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import small_config, write_small_config
from tocsin.web.app import create_web_app
from tocsin.web.server import serving

SYSTEM = system_principal("matrix")
T = 1_767_225_600
ALL: frozenset[str] = frozenset({"*"})  # no limit
REGIONS = frozenset({"N", "P1", "P2", "D11", "D12", "D21"})
EVERY_PERMISSION = frozenset(
    {"read", "ingest", "acknowledge", "silence", "configure", "manage_users"}
    | {"draft", "publish", "respond", "command"}
)
# what each role may do, written out (not read from tocsin.core.users)
ROLE_MAY = {
    Role.ADMIN: EVERY_PERMISSION,
    Role.ANALYST: frozenset(
        {"read", "ingest", "acknowledge", "silence", "configure", "draft", "respond"}
    ),
    Role.DUTY_OFFICER: frozenset(
        {"read", "ingest", "acknowledge", "silence", "draft", "publish", "respond", "command"}
    ),
    Role.UNIT_MEMBER: frozenset({"read", "acknowledge", "respond"}),
}


@dataclass(frozen=True)
class Who:
    """A principal of the matrix: its role and unit, what it sees (regions, domains; ALL: no
    limit) and may do, and its token's limits."""

    name: str
    role: Role
    unit: str | None
    regions: frozenset[str]
    domains: frozenset[str]
    may: frozenset[str]
    token_regions: tuple[str, ...] | None = None
    token_permissions: tuple[str, ...] | None = None

    def sees(self, region: str | None, domain: str | None) -> bool:
        """The oracle: region and domain within this principal's (hand-written) scope."""
        region_ok = self.regions == ALL or (region is not None and region in self.regions)
        domain_ok = self.domains == ALL or (domain is not None and domain in self.domains)
        return region_ok and domain_ok

    def sees_thing(self, thing: Thing) -> bool:
        """The oracle for a resource: its place (only its region for a region's own view)
        and, for a report, the handling unit's members only."""
        if thing.unit is not None and thing.unit != self.unit:
            return False
        if thing.any_domain:
            return self.regions == ALL or thing.region in self.regions
        return all(self.sees(r, d) for r, d in ((thing.region, thing.domain), *thing.holds))

    @property
    def everything(self) -> bool:
        """Sees every region and domain."""
        return self.regions == ALL and self.domains == ALL


WHO = (
    Who("root", Role.ADMIN, None, ALL, ALL, EVERY_PERMISSION),
    Who("desk", Role.DUTY_OFFICER, "NAT", ALL, ALL, ROLE_MAY[Role.DUTY_OFFICER]),
    Who(
        "p1",
        Role.DUTY_OFFICER,
        "P1-CP",
        frozenset({"P1", "D11", "D12"}),
        ALL,
        ROLE_MAY[Role.DUTY_OFFICER],
    ),
    Who("p2", Role.UNIT_MEMBER, "P2-CP", frozenset({"P2", "D21"}), ALL, ROLE_MAY[Role.UNIT_MEMBER]),
    Who(
        "flood",
        Role.ANALYST,
        "D11-FLOOD",
        frozenset({"D11"}),
        frozenset({"natural.flood"}),
        ROLE_MAY[Role.ANALYST],
    ),
    Who(
        "grid",
        Role.ANALYST,
        "GRID",
        ALL,
        frozenset({"infrastructure.power"}),
        ROLE_MAY[Role.ANALYST],
    ),
    # a national duty officer's token limited to P2 and to reading
    Who(
        "narrow",
        Role.DUTY_OFFICER,
        "NAT",
        frozenset({"P2", "D21"}),
        ALL,
        frozenset({"read"}),
        ("P2",),
        ("read",),
    ),
    # a user saved without a unit (an old database): sees nothing
    Who("orphan", Role.DUTY_OFFICER, None, frozenset(), frozenset(), ROLE_MAY[Role.DUTY_OFFICER]),
)


@dataclass(frozen=True)
class Thing:
    """A resource of the world: its kind, key (id or code), place and secret markers (strings
    only it carries: none may reach a principal that does not see it)."""

    kind: str
    key: str
    region: str | None
    domain: str | None
    markers: tuple[str, ...] = ()
    unit: str | None = None  # handled by this unit's members only (a public report)
    any_domain: bool = False  # a region's own view: its region decides, in every domain
    holds: tuple[tuple[str | None, str | None], ...] = ()  # places of what it holds, shown whole


@dataclass
class World:
    """The served world: base URL, container, each principal's token, the resources."""

    url: str
    container: Container
    tokens: dict[str, str]
    things: list[Thing] = field(default_factory=list)
    log: io.StringIO = field(default_factory=io.StringIO)  # every log line since seeding

    def of(self, kind: str) -> list[Thing]:
        """The resources of a kind."""
        return [t for t in self.things if t.kind == kind]

    def open_warnings(self, who: Who) -> int:
        """How many open warnings the principal should count."""
        return sum(1 for t in self.of("warning") if who.sees_thing(t))


INDICATORS = {  # code: (region, domain, a normal value)
    "D11.river_level": ("D11", "natural.flood", 1.0),
    "D12.river_level": ("D12", "natural.flood", 1.0),
    "D21.reservoir": ("D21", "supply.water", 80.0),
    "P1.substation_load": ("D11", "infrastructure.power", 50.0),
    "P1.rainfall": ("P1", "natural.flood", 1.0),
}
RAISE = [
    ("D11.river_level", 5.5),
    ("D21.reservoir", 25.0),
    ("P1.rainfall", 45.0),
    ("P1.substation_load", 110.0),
]
# credentials and personal data in the configuration: no response of anybody may carry them
HOOK = "https://relay:Hunter2Secret@hooks.example.test/hook/T0K3N?token=abc123"
SECRETS = ("Hunter2Secret", "T0K3N", "abc123", "p1@", "nat@", "d11@")


def _config(folder: Path) -> Path:
    docs = small_config()
    concepts.configure(docs)
    for unit in docs["units.yaml"]["units"]:
        if unit["code"] in {"P1-CP", "GRID"}:
            unit["webhook_url"] = HOOK
    folder = write_small_config(folder, **docs)
    influx = [  # each indicator as line protocol `matrix,indicator=CODE value=…`
        {
            "indicator": code,
            "match": {"_measurement": "matrix", "_field": "value", "indicator": code},
        }
        for code in INDICATORS
    ]
    (folder / "sources.yaml").write_text(yaml.safe_dump({"influx": influx}), encoding="utf-8")
    return folder


SILENCES = [  # region, domain
    ("D11", "natural.flood"),
    ("D21", "supply.water"),
    ("P1", None),
    ("N", "infrastructure.power"),
]


def _people(container: Container) -> dict[str, str]:
    tokens = {}
    for who in WHO:
        if who.unit is None and who.role is not Role.ADMIN:
            with container.store.transaction() as tx:  # as an old database holds it
                tx.users.save(User(UserName(who.name), who.role, None), now=container.clock.now())
        elif who.token_regions is None:
            container.admin.add_user(who.name, who.role, unit=who.unit, actor="matrix")
        wanted = TokenRequest(
            f"matrix {who.name}",
            regions=who.token_regions,
            permissions=who.token_permissions,  # type: ignore[arg-type]
        )
        owner = "desk" if who.token_regions is not None else who.name
        tokens[who.name] = container.access.issue(owner, wanted, actor="matrix")[1]
    return tokens


def _things(container: Container) -> list[Thing]:
    ids = container.rules.ids
    container.ingest.ingest_batch(
        ObservationBatch(
            np.array([ids[c] for c, _ in RAISE], dtype=np.int64),
            np.full(len(RAISE), T, dtype=np.int64),
            np.array([v for _, v in RAISE], dtype=np.float64),
        )
    )
    things = [Thing("indicator", code, r, d) for code, (r, d, _) in INDICATORS.items()]
    now = container.clock.now()
    container.leases.dispatch.require()  # only the owner dispatches
    for later in (40, 400):  # group_wait, then a repeat: notifications in the log
        container.dispatcher.tick(now + timedelta(seconds=later))
    for i, (region, domain) in enumerate(SILENCES):
        reason = f"matrix-silence-{i}-secret"
        silence = container.silences.create(
            Selector(region, domain, frozenset(), ()),
            principal=SYSTEM,
            reason=reason,
            ends_at=now + timedelta(days=1),
        )
        things.append(Thing("silence", silence.id, region, domain, (silence.id, reason)))
    container.dispatcher.tick(now + timedelta(seconds=500))  # the silences' notices
    things += concepts.seed(container, SYSTEM, Thing)
    things += [  # those of the indicators, exposure and other agencies' alerts
        Thing("warning", w.id, w.region, w.domain, (w.id,))
        for w in container.warnings.find(principal=SYSTEM)
    ]
    things += [Thing("region", r, r, None, any_domain=True) for r in ("N", "P1", "D12", "D21")]
    return things


@contextmanager
def served_world(tmp_path: Path, database_url: str) -> Iterator[World]:
    """The world on a fresh database (SQLite or PostgreSQL), served by uvicorn on a loopback
    port."""
    settings = Settings(
        database_url=database_url,
        config_dir=_config(tmp_path / "config"),
        background_workers=False,
        writes_per_minute=0,
        max_clock_skew_s=86_400,  # the matrix writes a minute apart from a clock that stands
        secret_key=new_key(),  # as in production: secrets sealed with the deployment's key
        report_contact_key=new_key(),  # reporters' contacts sealed
    )
    container = build(settings, clock=FakeClock())
    try:
        things = _things(container)
        tokens = _people(container)
        app = create_web_app(container, risk=None, live_max_stream_for=0.2)
        with serving(app) as url:
            yield World(url, container, tokens, things)
    finally:
        container.close()
