"""The kinds of entry of the access matrix (`matrix.MATRIX`): what a route is, and so what the
matrix expects of it for each principal.

- `Public`: needs no credential (and must be listed in `tocsin.api.public`).
- `Reference`: the catalogue everyone signed in reads alike (regions, domains, levels).
- `Listing(kind)`: a list that shows exactly the resources of `kind` the principal sees.
- `Item(kind, prefix, suffix)`: one resource by its key: 2xx inside the scope, 403 outside.
- `Filtered(rows)`: rows each placed somewhere (a region and a domain): the principal gets
  exactly the rows an administrator gets that are placed in its scope.
- `Count(read)`: an aggregate whose open-warning count is the principal's visible warnings.
- `Write(kind, permission, build)`: a change to a resource: done inside the scope with the
  permission, 403 without the permission or outside the scope (`national`: a change to
  every region's resources, for a scope of everything only).
- `Refused(kind, build, status)`: a write Tocsin never does (an Alertmanager one it has no
  field for): `status` with a reason for every principal that may read.
- `National`: the whole deployment's figures, for a scope of everything only.
- `Own`: the principal's own session and tokens; `Admin`: manage_users only; `Stream`: the live
  stream (its content is scoped per message: `test_live_scope.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.access.world import Thing

Body = Mapping[str, Any] | list[Any] | str | bytes | None
Builder = Callable[[Thing], tuple[str, Body]]
Placed = list[tuple[Any, tuple[str, str]]]  # (a row's key, (its region, its domain))


@dataclass(frozen=True)
class Public:
    """No credential needed."""


@dataclass(frozen=True)
class Reference:
    """The same for every principal that may read."""

    path: str | None = None  # a concrete path for a templated route


@dataclass(frozen=True)
class Listing:
    """A list of resources of `kind`, filtered by scope; each row names its resource by `key`
    (`url`: the concrete path of a templated route; `unit_only`: a principal without a unit
    is refused)."""

    kind: str
    params: Mapping[str, str] = field(default_factory=dict)
    key: str = "id"
    url: str | None = None
    permission: str = "read"
    unit_only: bool = False


@dataclass(frozen=True)
class Item:
    """One resource by key: `/prefix/{key}{suffix}`."""

    kind: str
    prefix: str
    suffix: str = ""
    permission: str = "read"


@dataclass(frozen=True)
class Filtered:
    """Rows placed in regions and domains; `rows` reads them from the response body."""

    rows: Callable[[Any], Placed]
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Count:
    """An aggregate of open warnings; `read` gets the count from the response."""

    read: Callable[[Any], int]
    text: bool = False


@dataclass(frozen=True)
class Write:
    """A change to a resource of `kind`, needing `permission`; `ok` are the statuses of success
    (409: done before by another principal)."""

    kind: str
    permission: str
    build: Builder
    ok: frozenset[int]
    media: str = "application/json"  # another: the body is sent as it is, with this type
    placed: bool = True  # False: the body names nothing placed; the permission alone decides
    national: bool = False  # True: it changes every region's resources


@dataclass(frozen=True)
class Refused:
    """A write always answered `status` (with why) to a principal that may read."""

    kind: str
    build: Builder
    status: int


@dataclass(frozen=True)
class National:
    """The whole deployment's figures (not placed anywhere): readers whose scope is
    everything."""


@dataclass(frozen=True)
class Own:
    """The principal's own session or tokens."""


@dataclass(frozen=True)
class Admin:
    """Administrators (manage_users) only."""


@dataclass(frozen=True)
class Stream:
    """The live event stream."""


Entry = (
    Public
    | Reference
    | Listing
    | Item
    | Filtered
    | Count
    | Write
    | Refused
    | Own
    | Admin
    | Stream
    | National
)
