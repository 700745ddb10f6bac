"""Roles enforced by PostgreSQL itself (row-level security), on a real server: two and more login roles
connect with their passwords and the database, not NeuralForge, decides which rows they read and change.

The tables are created here with plain CREATE TABLE statements equivalent to the store's schema (schema.py's
projects, experiments, runs, params, tags, latest_metrics, artifacts, notes, users, project_members)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from neuralforge_desktop.core.team import pg_security

psycopg = pytest.importorskip("psycopg")

DDL = (
    "CREATE TABLE projects (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created DOUBLE PRECISION NOT NULL, "
    "owner TEXT)",
    "CREATE TABLE experiments (id TEXT PRIMARY KEY, project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE "
    "CASCADE, name TEXT NOT NULL, created DOUBLE PRECISION NOT NULL, UNIQUE (project_id, name))",
    "CREATE TABLE runs (id TEXT PRIMARY KEY, experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE "
    "CASCADE, name TEXT NOT NULL, status TEXT NOT NULL, created DOUBLE PRECISION NOT NULL, created_by TEXT)",
    "CREATE TABLE params (run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, key TEXT NOT NULL, "
    "value TEXT NOT NULL, PRIMARY KEY (run_id, key))",
    "CREATE TABLE tags (run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, key TEXT NOT NULL, "
    "value TEXT NOT NULL, PRIMARY KEY (run_id, key))",
    "CREATE TABLE latest_metrics (run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, name TEXT NOT NULL, "
    "step BIGINT NOT NULL, value DOUBLE PRECISION, timestamp DOUBLE PRECISION NOT NULL, min DOUBLE PRECISION, "
    "max DOUBLE PRECISION, count BIGINT NOT NULL, PRIMARY KEY (run_id, name))",
    "CREATE TABLE artifacts (run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, name TEXT NOT NULL, "
    "kind TEXT NOT NULL, sha256 TEXT NOT NULL, size BIGINT NOT NULL, created DOUBLE PRECISION NOT NULL, "
    "PRIMARY KEY (run_id, name))",
    "CREATE TABLE notes (id BIGSERIAL PRIMARY KEY, experiment_id TEXT REFERENCES experiments(id) ON DELETE CASCADE, "
    "run_id TEXT REFERENCES runs(id) ON DELETE CASCADE, kind TEXT NOT NULL, text TEXT NOT NULL, "
    "created DOUBLE PRECISION NOT NULL, updated DOUBLE PRECISION NOT NULL)",
    "CREATE TABLE users (name TEXT PRIMARY KEY, display_name TEXT NOT NULL DEFAULT '', kind TEXT NOT NULL, "
    "created DOUBLE PRECISION NOT NULL, created_by TEXT NOT NULL, disabled BIGINT NOT NULL DEFAULT 0)",
    "CREATE TABLE project_members (project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE, "
    "user_name TEXT NOT NULL, role TEXT NOT NULL, granted DOUBLE PRECISION NOT NULL, granted_by TEXT NOT NULL, "
    "PRIMARY KEY (project_id, user_name))",
    "CREATE TABLE registered_models (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT NOT NULL "
    "DEFAULT '', tags TEXT NOT NULL DEFAULT '{}', created DOUBLE PRECISION NOT NULL)",
    "CREATE TABLE model_versions (id BIGSERIAL PRIMARY KEY, model_id BIGINT NOT NULL REFERENCES registered_models(id) "
    "ON DELETE CASCADE, version BIGINT NOT NULL, run_id TEXT NOT NULL, stage TEXT NOT NULL, created DOUBLE PRECISION "
    "NOT NULL, created_by TEXT NOT NULL, UNIQUE (model_id, version))",
    "CREATE TABLE model_approvals (id BIGSERIAL PRIMARY KEY, version_id BIGINT NOT NULL REFERENCES model_versions(id) "
    "ON DELETE CASCADE, who TEXT NOT NULL, created DOUBLE PRECISION NOT NULL, comment TEXT NOT NULL DEFAULT '')",
    "CREATE TABLE model_transitions (id BIGSERIAL PRIMARY KEY, version_id BIGINT NOT NULL REFERENCES "
    "model_versions(id) ON DELETE CASCADE, from_stage TEXT, to_stage TEXT NOT NULL, who TEXT NOT NULL, "
    "created DOUBLE PRECISION NOT NULL, comment TEXT NOT NULL DEFAULT '')",
)
PASSWORDS = {"alice": "alice-pw-1", "vic": "vic-pw-2", "cora": "cora-pw-3", "eve": "eve-pw-4", "ann": "ann-pw-5"}
_numbers = itertools.count()


@pytest.fixture
def store_db(pg_cluster) -> Any:
    """A fresh database with the store's tables, secured, four logins, and project "vision" owned by alice (a
    run of hers with a param and a tag) where vic is viewer and cora contributor; project "open" has no members."""
    dbname = f"store_{next(_numbers)}"
    with pg_cluster.connect() as admin:
        admin.execute(f'CREATE DATABASE "{dbname}"')
    with pg_cluster.connect(dbname=dbname, autocommit=False) as conn:
        for statement in DDL:
            conn.execute(statement)
        secured = pg_security.apply_row_security(conn)
        for name, password in PASSWORDS.items():
            pg_security.create_login(conn, name, password)
        rows = {
            "projects": [("p1", "vision", 1.0, "alice"), ("p2", "open", 1.0, "alice")],
            "experiments": [("e1", "p1", "resnet", 1.0), ("e2", "p2", "scratch", 1.0)],
            "runs": [("r1", "e1", "run-1", "finished", 1.0, "alice"), ("r2", "e2", "run-1", "finished", 1.0, "alice")],
            "params": [("r1", "lr", "0.1")], "tags": [("r1", "host", "local")],
            "project_members": [("p1", "alice", "admin", 1.0, "alice"), ("p1", "vic", "viewer", 1.0, "alice"),
                                ("p1", "cora", "contributor", 1.0, "alice"), ("p1", "ann", "approver", 1.0, "alice")],
            "registered_models": [(1, "detector", "", "{}", 1.0)],
            "model_versions": [(1, 1, 1, "r1", "none", 1.0, "alice")],
            "users": [("alice", "", "named", 1.0, "alice"), ("vic", "", "named", 1.0, "alice")],
        }
        for table, values in rows.items():
            marks = ", ".join(["%s"] * len(values[0]))
            conn.cursor().executemany(f"INSERT INTO {table} VALUES ({marks})", values)
        conn.commit()
    assert set(secured) == {"projects", "experiments", "runs", "params", "tags", "latest_metrics", "artifacts",
                            "notes", "project_members", "users", "model_versions", "model_approvals",
                            "model_transitions"}
    return lambda user: pg_cluster.connect(user, PASSWORDS[user], dbname)


def _ids(conn: Any, table: str, column: str = "id") -> list[str]:
    return sorted(row[0] for row in conn.execute(f"SELECT {column} FROM {table}").fetchall())


def test_a_viewer_can_select_but_not_delete_a_run(store_db) -> None:
    with store_db("vic") as vic:
        assert vic.execute("SELECT current_user").fetchone()[0] == "vic"
        assert _ids(vic, "runs") == ["r1", "r2"]
        assert _ids(vic, "params", "key") == ["lr"] and _ids(vic, "tags", "key") == ["host"]
        assert vic.execute("DELETE FROM runs WHERE id = 'r1'").rowcount == 0  # the policy hides it from DELETE
        assert vic.execute("DELETE FROM params WHERE run_id = 'r1'").rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            vic.execute("INSERT INTO runs VALUES ('r9', 'e1', 'mine', 'running', 2.0, 'vic')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            vic.execute("INSERT INTO project_members VALUES ('p1', 'vic', 'admin', 2.0, 'vic')")  # no self-grant
        assert vic.execute("UPDATE project_members SET role = 'admin' WHERE user_name = 'vic'").rowcount == 0
    with store_db("alice") as alice:
        assert _ids(alice, "runs") == ["r1", "r2"] and _ids(alice, "params", "key") == ["lr"]


def test_a_non_member_sees_no_rows_of_the_project(store_db) -> None:
    with store_db("eve") as eve:
        assert _ids(eve, "projects", "name") == ["open"]  # only the project without members
        assert _ids(eve, "runs") == ["r2"] and _ids(eve, "experiments") == ["e2"]
        assert _ids(eve, "params", "key") == [] and _ids(eve, "tags", "key") == []
        assert eve.execute("UPDATE runs SET status = 'failed' WHERE id = 'r1'").rowcount == 0


def test_a_contributor_inserts_runs_and_deletes_only_their_own(store_db) -> None:
    with store_db("cora") as cora:
        cora.execute("INSERT INTO runs VALUES ('r3', 'e1', 'run-2', 'running', 2.0, 'cora')")
        cora.execute("INSERT INTO params VALUES ('r3', 'lr', '0.01')")
        cora.execute("INSERT INTO latest_metrics VALUES ('r3', 'loss', 1, 0.5, 2.0, 0.5, 0.5, 1)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # not in someone else's name
            cora.execute("INSERT INTO runs VALUES ('r4', 'e1', 'run-3', 'running', 2.0, 'alice')")
        assert cora.execute("DELETE FROM runs WHERE id = 'r1'").rowcount == 0  # alice's run: admin only
        assert cora.execute("DELETE FROM runs WHERE id = 'r3'").rowcount == 1
    with store_db("alice") as alice:
        assert _ids(alice, "runs") == ["r1", "r2"] and _ids(alice, "latest_metrics", "run_id") == []
        assert alice.execute("DELETE FROM runs WHERE id = 'r1'").rowcount == 1  # the admin may


def test_logins_need_their_password_and_grants_are_the_admins(store_db, pg_cluster) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        pg_cluster.connect("vic", "wrong", "postgres").close()
    with store_db("alice") as alice:
        alice.execute("INSERT INTO project_members VALUES ('p1', 'eve', 'viewer', 2.0, 'alice')")
    with store_db("eve") as eve:
        assert _ids(eve, "runs") == ["r1", "r2"]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # the first grant of an open project: its owner's
            eve.execute("INSERT INTO project_members VALUES ('p2', 'eve', 'admin', 2.0, 'eve')")


def test_approving_and_moving_a_version_need_approver_in_the_database_too(store_db) -> None:
    approve = "INSERT INTO model_approvals (version_id, who, created) VALUES (1, current_user, 2.0)"
    with store_db("cora") as cora:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            cora.execute(approve)
        assert cora.execute("UPDATE model_versions SET stage = 'production' WHERE id = 1").rowcount == 0
    with store_db("eve") as eve:
        assert _ids(eve, "model_versions") == []  # a version of a project eve has no role in
    with store_db("ann") as ann, pytest.raises(psycopg.errors.InsufficientPrivilege):  # not in someone else's name
        ann.execute("INSERT INTO model_approvals (version_id, who, created) VALUES (1, 'alice', 2.0)")
    with store_db("ann") as ann:
        ann.execute(approve)
        assert ann.execute("UPDATE model_versions SET stage = 'production' WHERE id = 1").rowcount == 1
        assert ann.execute("SELECT who FROM model_approvals").fetchall() == [("ann",)]


def test_an_account_changes_only_its_own_user_row(store_db) -> None:
    with store_db("vic") as vic:
        assert vic.execute("UPDATE users SET disabled = 1 WHERE name = 'alice'").rowcount == 0
        assert vic.execute("UPDATE users SET display_name = 'Vic' WHERE name = 'vic'").rowcount == 1
        assert _ids(vic, "users", "name") == ["alice", "vic"]
