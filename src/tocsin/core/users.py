"""Users, roles and what each role may do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NewType

UserName = NewType("UserName", str)


class Role(StrEnum):
    """A user's role."""

    ADMIN = "admin"
    ANALYST = "analyst"
    DUTY_OFFICER = "duty_officer"
    UNIT_MEMBER = "unit_member"


class Permission(StrEnum):
    """An action guarded by role."""

    READ = "read"
    INGEST = "ingest"
    ACKNOWLEDGE = "acknowledge"
    SILENCE = "silence"
    CONFIGURE = "configure"
    MANAGE_USERS = "manage_users"
    DRAFT = "draft"  # draft public alerts (CAP) and submit them for approval
    PUBLISH = "publish"  # approve, reject and publish public alerts drafted by someone else
    RESPOND = "respond"  # work on a unit's tasks: accept, note progress, complete, block
    COMMAND = "command"  # run incidents: open, activate, stand down, close, merge, split, reassign


PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.ANALYST: frozenset(
        {
            Permission.READ,
            Permission.INGEST,
            Permission.ACKNOWLEDGE,
            Permission.SILENCE,
            Permission.CONFIGURE,
            Permission.DRAFT,
            Permission.RESPOND,
        }
    ),
    Role.DUTY_OFFICER: frozenset(
        {
            Permission.READ,
            Permission.INGEST,
            Permission.ACKNOWLEDGE,
            Permission.SILENCE,
            Permission.DRAFT,
            Permission.PUBLISH,
            Permission.RESPOND,
            Permission.COMMAND,
        }
    ),
    Role.UNIT_MEMBER: frozenset({Permission.READ, Permission.ACKNOWLEDGE, Permission.RESPOND}),
}


@dataclass(frozen=True, slots=True)
class User:
    """A person who operates Tocsin (never a person Tocsin watches)."""

    name: UserName
    role: Role
    unit: str | None = None

    def may(self, permission: Permission) -> bool:
        """True when the user's role grants the permission."""
        return permission in PERMISSIONS[self.role]
