"""The accounts of a shared store and their roles in projects: add, list, grant, revoke.

Names are the ones :func:`~neuralforge_desktop.core.team.identity.current_user` gives (an OS user, or
``NEURALFORGE_USER``). ``add`` makes a named account (kind "named"); granting a role to a name not yet known
registers it as an operating-system account (kind "os"), so ``grant`` alone is enough on a personal store.

The first grant in a project also records its owner as an admin: from then on the project is closed to
non-members (see :mod:`.access`), and it stays closed until it is deleted, since the owner cannot be revoked.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.team.access import RANK, cache_of, check_role, project_ref, refusal
from neuralforge_desktop.core.team.identity import current_user

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]{0,62}")
KINDS = ("named", "os")


@dataclass(frozen=True)
class User:
    name: str
    display_name: str
    kind: str
    created: float
    created_by: str
    disabled: bool
    roles: dict[str, str] = field(default_factory=dict)  # project name → role

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "display_name": self.display_name, "kind": self.kind, "created": self.created,
                "created_by": self.created_by, "disabled": self.disabled, "roles": dict(self.roles)}


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise UserError(f"user name {name!r}: use 1–63 letters, digits, '_', '.', '@' or '-', not starting with "
                        "'.', '@' or '-'")
    return name


def _insert_user(conn: Any, name: str, display: str, kind: str, actor: str) -> None:
    conn.execute("INSERT OR IGNORE INTO users (name, display_name, kind, created, created_by, disabled) "
                 "VALUES (?, ?, ?, ?, ?, 0)", (name, display, kind, time.time(), actor))


def add_user(store: Any, name: str, display_name: str = "") -> User:
    """Add the named account ``name``; refused if it exists."""
    check_name(name)
    actor = current_user()
    with store.write_transaction() as conn:
        if conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
            raise UserError(f"user {name!r} already exists; `neuralforge users list` shows the accounts")
        _insert_user(conn, name, display_name, "named", actor)
    _audit(store, "users.added", name, {"display_name": display_name, "by": actor})
    return next(u for u in list_users(store) if u.name == name)


def list_users(store: Any, project: str | None = None) -> list[User]:
    """Every known account with its roles (owners count as admins); with ``project``, its members only."""
    with store.read_transaction() as conn:
        rows = conn.execute("SELECT name, display_name, kind, created, created_by, disabled FROM users "
                            "ORDER BY name").fetchall()
        members = conn.execute("SELECT p.name, m.user_name, m.role FROM project_members m JOIN projects p ON "
                               "p.id = m.project_id ORDER BY p.name").fetchall()
    roles: dict[str, dict[str, str]] = {}
    for project_name, user, role in members:
        roles.setdefault(user, {})[project_name] = role
    users = [User(name, display, kind, created, by, disabled == 1, roles.get(name, {}))
             for name, display, kind, created, by, disabled in rows]
    if project is not None:
        project_ref(store, project)  # an unknown project is reported, not listed as empty
        users = [u for u in users if project in u.roles]
    return users


@dataclass(frozen=True)
class Member:
    name: str
    display_name: str
    role: str
    granted: float
    granted_by: str


def members(store: Any, project: str) -> list[Member]:
    """The members of ``project`` with their roles, admins first (empty: the project is open to everyone)."""
    project_id, _name, _owner = project_ref(store, project)
    with store.read_transaction() as conn:
        rows = conn.execute("SELECT m.user_name, COALESCE(u.display_name, ''), m.role, m.granted, m.granted_by "
                            "FROM project_members m LEFT JOIN users u ON u.name = m.user_name "
                            "WHERE m.project_id = ?", (project_id,)).fetchall()
    found = [Member(*row) for row in rows]
    return sorted(found, key=lambda m: (-RANK[m.role], m.name))


def _require_grant(store: Any, project_id: str, project_name: str, owner: str | None, actor: str) -> None:
    cache = cache_of(store)
    if project_id in cache.snapshot().members:
        cache.check_project_id(project_id, "grant")
    elif owner is not None and owner != actor:  # an open project: its owner makes the first grant
        raise refusal(actor, project_name, None, "grant")


def grant(store: Any, name: str, project: str, role: str) -> None:
    """Give ``name`` the role ``role`` in ``project`` (replacing the one they had). Needs admin of the project;
    the first grant in a project is its owner's to make."""
    check_name(name)
    check_role(role)
    actor = current_user()
    project_id, project_name, owner = project_ref(store, project)
    _require_grant(store, project_id, project_name, owner, actor)
    now = time.time()
    with store.write_transaction() as conn:
        _insert_user(conn, name, "", "os", actor)
        first = conn.execute("SELECT 1 FROM project_members WHERE project_id = ?", (project_id,)).fetchone() is None
        if first:  # the project closes: whoever may administer it now keeps that as a recorded role
            keeper = owner or actor
            _insert_user(conn, keeper, "", "os", actor)
            conn.execute("INSERT OR REPLACE INTO project_members (project_id, user_name, role, granted, granted_by)"
                         " VALUES (?, ?, 'admin', ?, ?)", (project_id, keeper, now, actor))
        if name != owner:
            conn.execute("INSERT OR REPLACE INTO project_members (project_id, user_name, role, granted, granted_by)"
                         " VALUES (?, ?, ?, ?, ?)", (project_id, name, role, now, actor))
    cache_of(store).invalidate()
    _audit(store, "users.granted", name, {"project": project_name, "role": role, "by": actor})


def revoke(store: Any, name: str, project: str) -> str:
    """Take away ``name``'s role in ``project``; returns the role they had. The owner cannot be revoked."""
    actor = current_user()
    project_id, project_name, owner = project_ref(store, project)
    _require_grant(store, project_id, project_name, owner, actor)
    if name == owner:
        raise UserError(f"{name} owns project {project_name!r} and stays its admin; an owner cannot be revoked")
    with store.write_transaction() as conn:
        row = conn.execute("SELECT role FROM project_members WHERE project_id = ? AND user_name = ?",
                           (project_id, name)).fetchone()
        if row is None:
            raise UserError(f"{name} has no role in project {project_name!r}; `neuralforge users list --project "
                            f"{project_name}` shows its members")
        admins = conn.execute("SELECT COUNT(*) FROM project_members WHERE project_id = ? AND role = 'admin'",
                              (project_id,)).fetchone()[0]
        if row[0] == "admin" and admins == 1 and owner is None:
            raise UserError(f"{name} is the last admin of project {project_name!r}; grant admin to someone else "
                            "first")
        conn.execute("DELETE FROM project_members WHERE project_id = ? AND user_name = ?", (project_id, name))
    cache_of(store).invalidate()
    _audit(store, "users.revoked", name, {"project": project_name, "role": row[0], "by": actor})
    return str(row[0])


def _audit(store: Any, kind: str, subject: str, details: dict[str, Any]) -> None:
    # details["by"]: the acting account (NEURALFORGE_USER); the entry's own "who" is the OS user.
    from neuralforge_desktop.core.audit import record_event

    record_event(store, kind, subject, details)
