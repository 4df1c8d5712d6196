"""Access: who may see and do what — by role (permissions) and by scope (a unit's regions and
domains). One policy for every resource; services ask it, delivery layers never decide.

A user belongs to a responsible unit; the unit's region subtree and domains (with their
sub-domains) are the user's **scope**. A unit at a root of the region hierarchy that handles
every domain is national: its scope is everything, as is an administrator's. A token may carry
less than its user (fewer permissions, a narrower scope), never more.

Every resource has a **placement** (its region and domain); a principal sees a resource when its
scope holds both. A placement without a region (a silence over every region) or without a domain
(a risk index over every domain) is seen only by a scope without that limit. Deciders return the
reason; a refusal names the principal, its scope and the action, never the resource's content.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final, TypeVar

from tocsin.core.domains import Domain, DomainCode
from tocsin.core.errors import Forbidden, NotFound
from tocsin.core.regions import RegionCode, RegionTree
from tocsin.core.units import ResponsibleUnit, UnitCode
from tocsin.core.users import PERMISSIONS, Permission, Role, User

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Scope:
    """The regions and domains a principal may see, each set expanded to its subtrees;
    None: no limit. `named` says it in words (the roots it was made from)."""

    regions: frozenset[str] | None = None
    domains: frozenset[str] | None = None
    named: str = "everything"

    @property
    def national(self) -> bool:
        """True when nothing limits it."""
        return self.regions is None and self.domains is None


EVERYTHING: Final = Scope()
NOTHING: Final = Scope(frozenset(), frozenset(), "nothing (no unit)")


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a resource sits: its region and its domain (None: it spans all of them)."""

    region: str | None
    domain: str | None


class Via(StrEnum):
    """How a principal proved who it is."""

    TOKEN = "token"
    SESSION = "session"
    SYSTEM = "system"  # the command line and the process itself (operators with the database)
    ANONYMOUS = "anonymous"  # open reads, where a deployment chose them


@dataclass(frozen=True, slots=True)
class Principal:
    """Who acts: a user (through a token or a session) with its permissions and scope."""

    name: str
    role: Role
    permissions: frozenset[Permission]
    scope: Scope
    unit: str | None = None
    via: Via = Via.TOKEN
    token_id: str | None = None

    def may(self, permission: Permission) -> bool:
        """True when the principal holds the permission."""
        return permission in self.permissions


def system_principal(name: str = "system") -> Principal:
    """The process itself, or an operator at the command line: every permission, everything."""
    return Principal(name, Role.ADMIN, frozenset(Permission), EVERYTHING, via=Via.SYSTEM)


def anonymous_reader() -> Principal:
    """A request without credentials where the deployment opened reads: read everything."""
    return Principal(
        "anonymous", Role.UNIT_MEMBER, frozenset({Permission.READ}), EVERYTHING, via=Via.ANONYMOUS
    )


def region_subtrees(tree: RegionTree, roots: Iterable[str]) -> frozenset[str]:
    """Every region at or below one of `roots` (unknown roots add nothing)."""
    out: set[str] = set()
    for root in roots:
        if root in tree:
            out.update(tree.subtree(RegionCode(root)))
    return frozenset(out)


def domain_subtrees(domains: Mapping[DomainCode, Domain], roots: Iterable[str]) -> frozenset[str]:
    """Every domain at or below one of `roots` (by the taxonomy's parent links)."""
    wanted = set(roots)
    out: set[str] = set()
    for code in domains:
        seen: list[str] = []
        node: str | None = code
        while node is not None and node not in seen:
            if node in wanted:
                out.add(code)
                break
            seen.append(node)
            parent = domains.get(DomainCode(node))
            node = parent.parent if parent is not None else None
    return frozenset(out | (wanted - set(domains)))


def unit_scope(
    unit: ResponsibleUnit | None, tree: RegionTree, domains: Mapping[DomainCode, Domain]
) -> Scope:
    """A unit's scope: its region's subtree and its domains (none listed: all of them)."""
    if unit is None:
        return NOTHING
    at_root = unit.region in tree and tree.regions[unit.region].parent is None
    regions = None if at_root else region_subtrees(tree, [unit.region])
    limited = domain_subtrees(domains, unit.domains) if unit.domains else None
    words = f"region {unit.region} and below" if regions is not None else "every region"
    words += f"; domains {', '.join(unit.domains)}" if unit.domains else "; every domain"
    return Scope(regions, limited, words)


def narrow(scope: Scope, limit: Scope) -> Scope:
    """What both scopes allow (a token's scope within its user's)."""
    if limit.national:
        return scope
    regions = _meet(scope.regions, limit.regions)
    domains = _meet(scope.domains, limit.domains)
    return Scope(regions, domains, f"{scope.named}, narrowed to {limit.named}")


def _meet(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    if a is None:
        return b
    return a if b is None else a & b


def user_principal(
    user: User,
    *,
    units: Mapping[UnitCode, ResponsibleUnit],
    tree: RegionTree,
    domains: Mapping[DomainCode, Domain],
    via: Via = Via.TOKEN,
) -> Principal:
    """A user's principal: the role's permissions, the unit's scope (admins: everything)."""
    if user.role is Role.ADMIN:
        scope = EVERYTHING
    else:
        unit = units.get(UnitCode(user.unit)) if user.unit else None
        scope = unit_scope(unit, tree, domains)
    return Principal(user.name, user.role, PERMISSIONS[user.role], scope, user.unit, via)


def restricted(
    principal: Principal,
    *,
    permissions: Collection[Permission] | None = None,
    scope: Scope | None = None,
    token_id: str | None = None,
) -> Principal:
    """The principal limited to a token's permissions and scope (never more than it had)."""
    held = principal.permissions
    if permissions is not None:
        held = held & frozenset(permissions)
    within = narrow(principal.scope, scope) if scope is not None else principal.scope
    return replace(principal, permissions=held, scope=within, token_id=token_id)


def sees(scope: Scope, placement: Placement) -> bool:
    """True when the scope holds the placement's region and domain."""
    if scope.regions is not None and (
        placement.region is None or placement.region not in scope.regions
    ):
        return False
    return scope.domains is None or (
        placement.domain is not None and placement.domain in scope.domains
    )


def require(principal: Principal, permission: Permission) -> None:
    """Forbidden unless the principal holds the permission (saying whether role or token)."""
    if principal.may(permission):
        return
    if permission in PERMISSIONS[principal.role]:
        raise Forbidden(f"this token of {principal.name} may not {permission.value}")
    raise Forbidden(f"role {principal.role.value} may not {permission.value}")


def require_place(principal: Principal, placement: Placement, *, action: str) -> None:
    """Forbidden unless the principal's scope holds the placement; the reason names the
    principal's scope and the action, not the resource."""
    if sees(principal.scope, placement):
        return
    raise Forbidden(
        f"{action}: outside the scope of {principal.name} ({principal.scope.named}); refused"
    )


def require_found(
    principal: Principal,
    found: T | None,
    *,
    kind: str,
    ident: str,
    place: Callable[[T], Placement],
    doing: str = "reading",
) -> T:
    """The record `ident` of a kind (`warning`, `task`) looked up for the principal `doing`
    something with it: NotFound (`no task 'x'`) when there is none, Forbidden unless the
    principal's scope holds its placement (the action reads `reading task x`)."""
    if found is None:
        raise NotFound(f"no {kind} {ident!r}")
    require_place(principal, place(found), action=f"{doing} {kind} {ident}")
    return found


def visible(principal: Principal, items: Iterable[T], place: Callable[[T], Placement]) -> list[T]:
    """The items whose placement the principal's scope holds."""
    if principal.scope.national:
        return list(items)
    return [x for x in items if sees(principal.scope, place(x))]


def require_places(
    principal: Principal, placed: Iterable[tuple[str, Placement]], *, action: str
) -> None:
    """Forbidden unless the scope holds every placement; the reason lists (up to ten) where in
    the request the ones outside it are."""
    if principal.scope.national:
        return
    outside = [where for where, place in placed if not sees(principal.scope, place)]
    if not outside:
        return
    more = f" and {len(outside) - 10} more" if len(outside) > 10 else ""
    raise Forbidden(
        f"{action}: {', '.join(outside[:10])}{more} outside the scope of {principal.name} "
        f"({principal.scope.named}); nothing was stored"
    )
