"""Roles in a project and the checks every store action makes against them.

A project with no members is open to whoever can open the store: a personal store needs no set-up. Once a
project has a member (``neuralforge users grant``), only its members act on it, each within their role:

* viewer: read its experiments, runs, metrics, artifacts and notes;
* contributor: also create runs and log to them, and delete the runs they created themselves;
* approver: also approve and promote the model versions registered from its runs;
* admin: everything, including deleting anyone's run and granting or revoking roles.

The project's owner (``projects.owner``, who created it) is always its admin.

The checks read one cached snapshot of the membership table per Store object. A grant or revoke through that
Store drops the snapshot at once; one made by another process is seen within :data:`REFRESH_SECONDS`. A store
where no project has members answers every check from the snapshot without touching the file, so the metric
logging path pays one dictionary test per new series.
"""

from __future__ import annotations

import functools
import getpass
import os
import shlex
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.store.entities import StoreError
from neuralforge_desktop.core.team.identity import UNKNOWN_USER, USER_ENV

ROLES = ("viewer", "contributor", "approver", "admin")
RANK = {role: rank for rank, role in enumerate(ROLES)}
REFRESH_SECONDS = 2.0


@dataclass(frozen=True)
class Action:
    """A kind of store action: what it is called in a refusal and the least role it needs. ``own_runs``: a
    lower role that is enough on a run the user created."""

    doing: str
    needs: str
    own_runs: str | None = None


ACTIONS: dict[str, Action] = {
    "read": Action("reading its runs and metrics", "viewer"),
    "create_run": Action("creating a run", "contributor"),
    "log": Action("logging to a run", "contributor"),
    "delete_run": Action("deleting a run", "admin", own_runs="contributor"),
    "register": Action("registering a model version", "contributor"),
    "approve": Action("approving a model version", "approver"),
    "promote": Action("promoting a model version", "approver"),
    "grant": Action("granting or revoking roles", "admin"),
}


class AccessDenied(StoreError, UserError):
    """The acting user's role in a project does not allow the action; the message names the user, the project,
    the role they have, the role needed and the command an admin runs to grant it. A StoreError too, so every
    view that reports a failed store action shows it."""


@functools.cache
def _os_user() -> str:
    # Looked up once: the OS user of a process does not change, and getpass may read the passwd file (~20 µs).
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return UNKNOWN_USER


def acting_user() -> str:
    """:func:`.identity.current_user`, cheaply: ``NEURALFORGE_USER`` is read on every call, the OS user once."""
    return os.environ.get(USER_ENV, "").strip() or _os_user()


def check_role(role: str) -> str:
    if role not in RANK:
        raise UserError(f"unknown role {role!r}; give one of {', '.join(ROLES)}")
    return role


def refusal(user: str, project: str, role: str | None, action: str) -> AccessDenied:
    act = ACTIONS[action]
    had = f"is {'an' if role[0] in 'aeiou' else 'a'} {role} of" if role else "is not a member of"
    needs = f"{act.own_runs} (the run's creator) or {act.needs}" if act.own_runs else act.needs
    wanted = act.needs if act.own_runs and role and RANK[role] >= RANK[act.own_runs] else act.own_runs or act.needs
    command = shlex.join(["neuralforge", "users", "grant", user, project, wanted])
    return AccessDenied(f"{user} {had} project {project!r} and {act.doing} needs {needs}; ask an admin: "
                        f"`{command}`")


def allows(role: str | None, action: str, *, own_run: bool = False) -> bool:
    act = ACTIONS[action]
    if role is None:
        return False
    if RANK[role] >= RANK[act.needs]:
        return True
    return own_run and act.own_runs is not None and RANK[role] >= RANK[act.own_runs]


@dataclass
class _Snapshot:
    members: dict[str, dict[str, str]] = field(default_factory=dict)  # project id → user → role
    names: dict[str, str] = field(default_factory=dict)  # project id → name, of projects with members
    owners: dict[str, str | None] = field(default_factory=dict)
    disabled: frozenset[str] = frozenset()
    # Connected to a team store as its administrator (a PostgreSQL role that may create roles, as the one that
    # set the store up and adds the accounts): admin of every project, as the database itself lets it be.
    store_admin: bool = False

    def role(self, project_id: str, user: str) -> str | None:
        if self.store_admin:
            return "admin"
        if user in self.disabled:
            return None
        role = self.members.get(project_id, {}).get(user)
        if user == self.owners.get(project_id):
            return "admin"
        return role


class AccessCache:
    """The membership snapshot of one Store object (see the module docs for when it is re-read)."""

    def __init__(self, db: Any) -> None:
        self._db = db
        self._snapshot = _Snapshot()
        self._expires = 0.0
        self._run_projects: dict[str, str] = {}

    def invalidate(self) -> None:
        self._expires = 0.0

    def snapshot(self) -> _Snapshot:
        now = time.monotonic()
        if now >= self._expires:
            self._snapshot = self._load()
            self._expires = now + REFRESH_SECONDS
        return self._snapshot

    def _load(self) -> _Snapshot:
        snap = _Snapshot()
        with self._db.read() as conn:
            # LEFT JOIN: where the database itself hides a project from this user (PostgreSQL row security), its
            # members still close it here, and a refusal names it by id.
            rows = conn.execute("SELECT m.project_id, m.user_name, m.role, p.name, p.owner FROM project_members m "
                                "LEFT JOIN projects p ON p.id = m.project_id").fetchall()
            disabled = conn.execute("SELECT name FROM users WHERE disabled = 1").fetchall()
            if getattr(self._db, "dialect", "sqlite") == "postgresql":
                row = conn.execute("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")
                snap.store_admin = bool((row.fetchone() or (False,))[0])
        for project_id, user, role, name, owner in rows:
            snap.members.setdefault(project_id, {})[user] = role
            snap.names[project_id] = name if name is not None else project_id
            snap.owners[project_id] = owner
        snap.disabled = frozenset(name for (name,) in disabled)
        return snap

    @property
    def enforced(self) -> bool:
        """Whether any project of the store has members (else every check passes)."""
        return bool(self.snapshot().members)

    # -- checks ----------------------------------------------------------------------------------------------

    def check_project_id(self, project_id: str, action: str, *, creator: str | None = None,
                         user: str | None = None) -> None:
        snap = self.snapshot()
        if project_id not in snap.members:
            return
        user = user or acting_user()
        role = snap.role(project_id, user)
        if not allows(role, action, own_run=creator is not None and creator == user):
            raise refusal(user, snap.names[project_id], role, action)

    def check_project(self, name: str, action: str) -> None:
        snap = self.snapshot()
        if not snap.members:
            return
        for project_id, project_name in snap.names.items():
            if project_name == name:
                self.check_project_id(project_id, action)
                return

    def check_run(self, run_id: str, action: str) -> None:
        """Checks ``action`` on the project of run ``run_id`` (an unknown run passes: the store reports it)."""
        if not self.snapshot().members:
            return
        creator = None
        project_id = self._run_projects.get(run_id)
        if project_id is None or action == "delete_run":
            with self._db.read() as conn:
                row = conn.execute("SELECT e.project_id, r.created_by FROM runs r JOIN experiments e ON "
                                   "e.id = r.experiment_id WHERE r.id = ?", (run_id,)).fetchone()
            if row is None:
                return
            project_id, creator = row
            self._run_projects[run_id] = project_id  # a run never changes project
        self.check_project_id(project_id, action, creator=creator)

    def check_runs(self, run_ids: Iterable[str], action: str) -> None:
        for run_id in run_ids:
            self.check_run(run_id, action)

    def check_experiment(self, experiment: Any, project: str, action: str) -> None:
        """Checks ``action`` on the project of an experiment given as entity, id or name within ``project``."""
        if not self.snapshot().members:
            return
        project_id = getattr(experiment, "project_id", None)
        if project_id is None:
            with self._db.read() as conn:
                row = conn.execute("SELECT project_id FROM experiments WHERE id = ?", (experiment,)).fetchone()
            if row is None:
                self.check_project(project, action)
                return
            project_id = row[0]
        self.check_project_id(project_id, action)

    # -- what a user may see ---------------------------------------------------------------------------------

    def hidden_projects(self, user: str | None = None) -> set[str]:
        """Ids of the projects with members where ``user`` (default: the acting user) has no role."""
        snap = self.snapshot()
        if not snap.members:
            return set()
        user = user or acting_user()
        return {pid for pid in snap.members if snap.role(pid, user) is None}

    def hidden_runs(self) -> set[str]:
        hidden = self.hidden_projects()
        if not hidden:
            return set()
        marks = ", ".join("?" * len(hidden))
        with self._db.read() as conn:
            rows = conn.execute(f"SELECT r.id FROM runs r JOIN experiments e ON e.id = r.experiment_id "
                                f"WHERE e.project_id IN ({marks})", tuple(hidden)).fetchall()
        return {run_id for (run_id,) in rows}

    def hidden_experiments(self) -> set[str]:
        hidden = self.hidden_projects()
        if not hidden:
            return set()
        marks = ", ".join("?" * len(hidden))
        with self._db.read() as conn:
            rows = conn.execute(f"SELECT id FROM experiments WHERE project_id IN ({marks})", tuple(hidden))
            return {exp_id for (exp_id,) in rows.fetchall()}


def cache_of(store: Any) -> AccessCache:
    cache = getattr(store, "_access", None)
    if cache is None:
        cache = store._access = AccessCache(store.database)
    return cache


def project_ref(store: Any, project: Any) -> tuple[str, str, str | None]:
    if hasattr(project, "id"):
        return project.id, project.name, project.owner
    with store.read_transaction() as conn:
        row = conn.execute("SELECT id, name, owner FROM projects WHERE name = ?", (project,)).fetchone()
    if row is None:
        from neuralforge_desktop.core.store.entities import NotFoundError

        raise NotFoundError(f"no project {project!r}; `neuralforge runs list` shows the projects")
    return row[0], row[1], row[2]


def role_of(store: Any, project: Any, user: str | None = None) -> str | None:
    """The role of ``user`` (default: the acting user) in ``project`` (name or entity): None when the project
    has members and the user is not one of them; "admin" for everyone on a project without members."""
    project_id, _name, _owner = project_ref(store, project)
    snap = cache_of(store).snapshot()
    if project_id not in snap.members:
        return "admin"
    return snap.role(project_id, user or acting_user())


def require(store: Any, project: Any, action: str, user: str | None = None) -> None:
    """Raise :class:`AccessDenied` unless the acting user (or ``user``) may do ``action`` in ``project``."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    project_id, _name, _owner = project_ref(store, project)
    cache_of(store).check_project_id(project_id, action, user=user)
