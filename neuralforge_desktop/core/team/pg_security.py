"""Roles enforced by PostgreSQL itself on a shared store: each NeuralForge account is a login role, and
row-level security lets it see and change only the rows of projects where it has a role.

The store's process checks roles too (:mod:`.access`); these policies make the same rules hold for anyone who
connects with psql or a script of their own. The rules, by the rank of the user's role in a project
(viewer 0, contributor 1, approver 2, admin 3; an owner is admin; a project with no members is open, rank 3):

* ``projects``: read from viewer; anyone creates a project they own; change or delete from admin;
* ``experiments`` and ``runs``: read from viewer; create and change from contributor; delete an experiment from
  admin, a run from admin or, for its creator, from contributor;
* the tables of a run's rows (params, tags, metrics, artifacts, diagnostics, queue, notes): read from viewer,
  write from contributor;
* the model registry: a version is read from viewer of its run's project, registered from contributor, moved
  between stages from approver; an approval is added by an approver in their own name;
* ``project_members``: readable by every account; written by an admin of the project (the first grant in an
  open project by its owner); ``users``: readable by all, each account changes only its own row.

The functions run as the tables' owner (``SECURITY DEFINER``) so that a policy on ``projects`` can read
``projects`` without recursing; the user is passed in as ``current_user`` by each policy. The tables' owner
(who migrates the store) is not subject to the policies. Every function takes an open psycopg connection and
leaves committing to the caller.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

GROUP = "neuralforge_users"  # the NOLOGIN role holding the table privileges every account is given
RUN_CHILD_TABLES = ("params", "tags", "metric_chunks", "latest_metrics", "artifacts", "diagnostics", "queue")
REGISTRY_TABLES = ("model_versions", "model_approvals", "model_transitions")
SECURED_TABLES = ("projects", "experiments", "runs", *RUN_CHILD_TABLES, "notes", *REGISTRY_TABLES, "project_members",
                  "users")

_RANK_SQL = "CASE m.role WHEN 'viewer' THEN 0 WHEN 'contributor' THEN 1 WHEN 'approver' THEN 2 WHEN 'admin' THEN 3 END"

_FUNCTIONS = (
    # The user's rank in a project: -1 none, 0 viewer … 3 admin; 3 for everyone in a project without members.
    f"""CREATE OR REPLACE FUNCTION nf_project_rank(project text, who text) RETURNS integer
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {{schema}}, pg_temp AS $$
        SELECT CASE
            WHEN NOT EXISTS (SELECT 1 FROM project_members WHERE project_id = project) THEN 3
            WHEN EXISTS (SELECT 1 FROM users WHERE name = who AND disabled = 1) THEN -1
            WHEN EXISTS (SELECT 1 FROM projects WHERE id = project AND owner = who) THEN 3
            ELSE COALESCE((SELECT {_RANK_SQL} FROM project_members m
                           WHERE m.project_id = project AND m.user_name = who), -1)
        END $$""",
    """CREATE OR REPLACE FUNCTION nf_experiment_rank(experiment text, who text) RETURNS integer
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
        SELECT COALESCE((SELECT nf_project_rank(project_id, who) FROM experiments WHERE id = experiment), -1) $$""",
    """CREATE OR REPLACE FUNCTION nf_run_rank(run text, who text) RETURNS integer
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
        SELECT COALESCE((SELECT nf_project_rank(e.project_id, who) FROM runs r
                         JOIN experiments e ON e.id = r.experiment_id WHERE r.id = run), -1) $$""",
    """CREATE OR REPLACE FUNCTION nf_version_rank(version bigint, who text) RETURNS integer
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
        SELECT COALESCE((SELECT nf_run_rank(run_id, who) FROM model_versions WHERE id = version), -1) $$""",
    # Granting: an admin of a project with members; in an open project, its owner (anyone if it has none).
    """CREATE OR REPLACE FUNCTION nf_may_grant(project text, who text) RETURNS boolean
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
        SELECT CASE
            WHEN EXISTS (SELECT 1 FROM project_members WHERE project_id = project)
                THEN nf_project_rank(project, who) >= 3
            ELSE COALESCE((SELECT owner IS NULL OR owner = who FROM projects WHERE id = project), false)
        END $$""",
)


def _policies() -> dict[str, tuple[tuple[str, str, str | None, str | None], ...]]:
    """table → (policy name, command, USING, WITH CHECK)."""
    me = "current_user"
    run_rank = f"nf_run_rank(run_id, {me})"
    child = (("read", "SELECT", f"{run_rank} >= 0", None), ("add", "INSERT", None, f"{run_rank} >= 1"),
             ("change", "UPDATE", f"{run_rank} >= 1", f"{run_rank} >= 1"), ("remove", "DELETE", f"{run_rank} >= 1",
                                                                            None))
    note_rank = f"(CASE WHEN run_id IS NOT NULL THEN {run_rank} ELSE nf_experiment_rank(experiment_id, {me}) END)"
    exp_rank = f"nf_experiment_rank(experiment_id, {me})"
    project_rank = f"nf_project_rank(id, {me})"
    version_rank = f"nf_version_rank(version_id, {me})"
    return {
        "projects": (("read", "SELECT", f"{project_rank} >= 0", None),
                     ("add", "INSERT", None, f"owner = {me}"),
                     ("change", "UPDATE", f"{project_rank} >= 3", f"{project_rank} >= 3"),
                     ("remove", "DELETE", f"{project_rank} >= 3", None)),
        "experiments": (("read", "SELECT", f"nf_project_rank(project_id, {me}) >= 0", None),
                        ("add", "INSERT", None, f"nf_project_rank(project_id, {me}) >= 1"),
                        ("change", "UPDATE", f"nf_project_rank(project_id, {me}) >= 1",
                         f"nf_project_rank(project_id, {me}) >= 1"),
                        ("remove", "DELETE", f"nf_project_rank(project_id, {me}) >= 3", None)),
        "runs": (("read", "SELECT", f"{exp_rank} >= 0", None),
                 ("add", "INSERT", None, f"{exp_rank} >= 1 AND created_by = {me}"),
                 ("change", "UPDATE", f"{exp_rank} >= 1", f"{exp_rank} >= 1"),
                 ("remove", "DELETE", f"{exp_rank} >= 3 OR ({exp_rank} >= 1 AND created_by = {me})", None)),
        **{table: child for table in RUN_CHILD_TABLES},
        "notes": (("read", "SELECT", f"{note_rank} >= 0", None), ("add", "INSERT", None, f"{note_rank} >= 1"),
                  ("change", "UPDATE", f"{note_rank} >= 1", f"{note_rank} >= 1"),
                  ("remove", "DELETE", f"{note_rank} >= 1", None)),
        "model_versions": (("read", "SELECT", f"{run_rank} >= 0", None), ("add", "INSERT", None, f"{run_rank} >= 1"),
                           ("change", "UPDATE", f"{run_rank} >= 2", f"{run_rank} >= 2"),
                           ("remove", "DELETE", f"{run_rank} >= 3", None)),
        "model_approvals": (("read", "SELECT", f"{version_rank} >= 0", None),
                            ("add", "INSERT", None, f"{version_rank} >= 2 AND who = {me}")),
        # Registering writes the first transition (from no stage); later ones are stage changes: approver.
        "model_transitions": (("read", "SELECT", f"{version_rank} >= 0", None),
                              ("add", "INSERT", None,
                               f"{version_rank} >= 2 OR (from_stage IS NULL AND {version_rank} >= 1)")),
        "users": (("read", "SELECT", "true", None), ("add", "INSERT", None, f"created_by = {me}"),
                  ("change", "UPDATE", f"name = {me}", f"name = {me}"), ("remove", "DELETE", f"name = {me}", None)),
        "project_members": (("read", "SELECT", "true", None),
                            ("add", "INSERT", None, f"nf_may_grant(project_id, {me})"),
                            ("change", "UPDATE", f"nf_may_grant(project_id, {me})", f"nf_may_grant(project_id, {me})"),
                            ("remove", "DELETE", f"nf_may_grant(project_id, {me})", None)),
    }


def existing_tables(conn: Any, schema: str = "public") -> set[str]:
    rows = conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                        (schema,)).fetchall()
    return {name for (name,) in rows}


def secure_after_migrating(conn: Any, schema: str = "public") -> list[str]:
    """:func:`apply_row_security` when the connected role may (a superuser or CREATEROLE, or the account group
    exists already); else nothing, logged: the store still works, with roles checked by NeuralForge only."""
    row = conn.execute("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user").fetchone()
    grouped = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (GROUP,)).fetchone() is not None
    if not (row and row[0]) and not grouped:
        import logging

        logging.getLogger(__name__).warning("row-level security not set up: the role migrating the store can "
                                            "neither create roles nor find the %s group", GROUP)
        return []
    return apply_row_security(conn, schema)


def ensure_group(conn: Any) -> None:
    """The NOLOGIN role every account is a member of (created once)."""
    from psycopg import sql

    if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (GROUP,)).fetchone() is None:
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(GROUP)))


def apply_row_security(conn: Any, schema: str = "public") -> list[str]:
    """Create the rank functions and the policies of every secured table that exists (again: idempotent), and
    give the account group its table privileges; returns the tables secured. Run as the tables' owner, after
    migrating."""
    from psycopg import sql

    ensure_group(conn)
    for statement in _FUNCTIONS:
        conn.execute(statement.replace("{schema}", sql.Identifier(schema).as_string(conn)))
    present = existing_tables(conn, schema)
    secured = []
    for table, policies in _policies().items():
        if table not in present:
            continue
        target = sql.Identifier(schema, table)
        conn.execute(sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(target))
        for name, command, using, check in policies:
            policy = sql.Identifier(f"nf_{name}")
            conn.execute(sql.SQL("DROP POLICY IF EXISTS {} ON {}").format(policy, target))
            clauses = [sql.SQL("CREATE POLICY {} ON {} FOR {} TO {}").format(
                policy, target, sql.SQL(command), sql.Identifier(GROUP))]
            if using is not None:  # the expressions are this module's own constants, not user input
                clauses.append(sql.SQL("USING ({})").format(sql.SQL(using)))
            if check is not None:
                clauses.append(sql.SQL("WITH CHECK ({})").format(sql.SQL(check)))
            conn.execute(sql.SQL(" ").join(clauses))
        secured.append(table)
    sync_grants(conn, schema)
    return secured


def sync_grants(conn: Any, schema: str = "public", tables: Iterable[str] | None = None) -> None:
    """Give the account group read and write privileges on the store's tables (all of ``schema``'s, or
    ``tables``) and their sequences; the policies then decide which rows. Run again after a migration adds
    tables."""
    from psycopg import sql

    ensure_group(conn)
    group = sql.Identifier(GROUP)
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), group))
    names = sorted(existing_tables(conn, schema) if tables is None else tables)
    for table in names:
        conn.execute(sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(
            sql.Identifier(schema, table), group))
    conn.execute(sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}").format(
        sql.Identifier(schema), group))


def create_login(conn: Any, name: str, password: str) -> None:
    """Make account ``name`` a PostgreSQL login with ``password`` (or set the password of an existing one),
    in the account group. Needs CREATEROLE. The password is sent as a literal and never logged."""
    from psycopg import sql

    from neuralforge_desktop.core.team.users import check_name

    check_name(name)
    if not password:
        from neuralforge_desktop.core.errors import UserError

        raise UserError(f"an empty password for {name}: give one on standard input")
    ensure_group(conn)
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone() is not None
    verb = "ALTER" if exists else "CREATE"
    conn.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name), sql.Literal(password)))
    conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(GROUP), sql.Identifier(name)))


def drop_login(conn: Any, name: str) -> None:
    """Take the login away (the account's rows stay: runs keep naming their creator)."""
    from psycopg import sql

    conn.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(sql.Identifier(name)))
