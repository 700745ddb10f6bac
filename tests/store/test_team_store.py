"""The store on PostgreSQL (a real server the tests start, see tests/pgserver.py): bad URLs and credentials give
one line that never shows the password, a lost connection fails a write whole and the next call reconnects,
a newer schema is refused, and the CLI, the audit log, monitoring and ``store migrate`` work on a team store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.store import Store, StoreError
from neuralforge_desktop.core.store.entities import StoreFileError
from neuralforge_desktop.core.store.pg_database import ConnectionLostError
from neuralforge_desktop.core.store.sql_translate import Translator

from .helpers import sql

PASSWORD = "s3cret-test-pw"


def _url_with(url: str, **change: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    user = change.get("user", parts.username)
    password = change.get("password", parts.password)
    port = change.get("port", str(parts.port))
    dbname = change.get("dbname", parts.path.lstrip("/"))
    return f"postgresql://{user}:{password}@{parts.hostname}:{port}/{dbname}"


def _unused_port() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


@pytest.mark.parametrize(("change", "expected"), [
    ({"password": "wrong-pw-123"}, r"refused user 'nf': wrong password"),
    ({"user": "mallory"}, r"refused user 'mallory'|no user 'mallory'"),
    ({"dbname": "no_such_db"}, r"has no database 'no_such_db'"),
    ({"port": "UNUSED"}, r"cannot reach the PostgreSQL server at 127\.0\.0\.1:\d+"),
])
def test_bad_credentials_and_places_give_one_line_without_the_password(pg_url: str, change: dict[str, str],
                                                                      expected: str) -> None:
    if change.get("port") == "UNUSED":
        change = {"port": _unused_port()}
    url = _url_with(pg_url, **change)
    with pytest.raises(StoreFileError, match=expected) as caught:
        Store(url)
    message = str(caught.value)
    assert "\n" not in message and PASSWORD not in message and change.get("password", "@@") not in message
    assert isinstance(caught.value, UserError)


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql://nf:pw-hidden@localhost:notaport/db", r"cannot read the store URL postgresql://nf@localhost"),
    ("mysql://nf:pw-hidden@localhost/db", r"unknown store URL scheme 'mysql'"),
    ("postgresql://nf:pw-hidden@localhost/", r"needs a host and a database name"),
    ("postgresql://nf:pw-hidden@localhost/db?sslmode=x", r"unknown option 'sslmode'"),
])
def test_unreadable_urls_are_named_without_the_password(url: str, expected: str) -> None:
    with pytest.raises(StoreFileError, match=expected) as caught:
        Store(url)
    assert "pw-hidden" not in str(caught.value)


def test_the_path_of_a_team_store_hides_the_password_and_reopens_it(pg_url: str) -> None:
    with Store(pg_url) as store:
        assert PASSWORD not in str(store.path) and str(store.path).startswith("postgresql://nf@127.0.0.1:")
        run = store.create_run("e", environment={})
        assert store.database.user == "nf" and store.dialect == "postgresql"
    with Store(store.path) as again:  # the display string opens the same database in this process
        assert again.get_run(run.id).id == run.id
    with Store(Path(pg_url)) as folded:  # views keep the store as a Path, which folds the URL's "//"
        assert folded.get_run(run.id).id == run.id and folded.path == store.path


def test_a_lost_connection_fails_the_write_whole_and_the_next_call_reconnects(pg_server, pg_url: str,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from neuralforge_desktop.core.store import batch


    with Store(pg_url, flush_seconds=3600) as store:
        run = store.create_run("e", environment={})
        lost = r"lost the connection to the PostgreSQL server at 127\.0\.0\.1:\d+ during a write; nothing of it was"
        with pytest.raises(ConnectionLostError, match=lost), store.write_transaction() as conn:
            conn.execute("INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?)", (run.id, "half", "1"))
            (pid,) = conn.execute("SELECT pg_backend_pid()").fetchone()
            with pg_server.admin() as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            conn.execute("INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?)", (run.id, "other", "2"))
        assert store.get_run(run.id).tags == {}  # reconnected; nothing of the failed write is there

        # A connection that died while idle is replaced when the next transaction begins.
        with store.read_transaction() as conn:
            (pid,) = conn.execute("SELECT pg_backend_pid()").fetchone()
        with pg_server.admin() as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        store.set_tags(run.id, {"after": "restart"})

        # The batch metric path repeats a batch whose connection was lost in the middle of writing it.
        calls = []
        original = batch.commit_batch

        def cut_once(conn, *args, **kwargs):
            calls.append(1)
            if len(calls) == 1:
                conn.execute("INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?)", (run.id, "half", "1"))
                (pid,) = conn.execute("SELECT pg_backend_pid()").fetchone()
                with pg_server.admin() as admin:
                    admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            return original(conn, *args, **kwargs)

        monkeypatch.setattr(batch, "commit_batch", cut_once)
        store.log_series(run.id, "loss", np.arange(100), np.linspace(1, 0, 100))
        assert len(calls) == 2
        assert len(store.metric_history(run.id, "loss")) == 100
        assert store.get_run(run.id).tags == {"after": "restart"}  # the cut attempt's tag is not there


def test_a_store_written_by_a_newer_version_is_refused(pg_url: str) -> None:
    Store(pg_url).close()
    sql(pg_url, "INSERT INTO schema_version (version, applied) VALUES (?, ?)", (999, 0.0))
    with pytest.raises(StoreError, match="schema version 999, newer than this NeuralForge understands"):
        Store(pg_url)


def test_a_database_holding_other_tables_is_not_taken_over(pg_server) -> None:
    url = pg_server.new_database(with_schema=False)
    sql(url, "CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    with pytest.raises(StoreFileError, match=r"the database is not a NeuralForge store \(tables: invoices\)"):
        Store(url)


def test_runs_of_two_users_listed_by_the_cli(pg_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    for user in ("alice", "bob"):
        script = ("from neuralforge_desktop.core.store import Store\n"
                  f"with Store({pg_url!r}) as s:\n"
                  f"    r = s.create_run('shared', 'run-of-{user}', environment={{}}, params={{'lr': 0.01}})\n"
                  "    s.set_status(r.id, 'finished')\n")
        subprocess.run([sys.executable, "-c", script], env={**env, "NEURALFORGE_USER": user}, check=True,
                       timeout=120)
    done = subprocess.run([sys.executable, "-m", "neuralforge_desktop.cli.main", "runs", "list", "--json",
                           "--store", pg_url], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    listed = {r["name"]: r["user"] for r in json.loads(done.stdout)}
    assert listed == {"run-of-alice": "alice", "run-of-bob": "bob"}


def test_another_process_opens_a_team_store_with_the_password_saved_in_the_app(pg_url: str) -> None:
    """A password saved in Preferences is in the app's password file (libpq's format, 0600), not in the URL
    or the settings: a training worker opening the store by its bare URL must find it there."""
    from neuralforge_desktop.core.store.location import parse
    from neuralforge_desktop.core.store.passwords import forget_password, save_password

    bare = _url_with(pg_url).replace(f":{PASSWORD}@", "@")
    env = {k: v for k, v in os.environ.items() if k not in ("PGPASSWORD", "PGPASSFILE")}
    env["PYTHONPATH"] = os.getcwd()
    script = f"from neuralforge_desktop.core.store import Store\nwith Store({bare!r}) as s:\n    print(s.dialect)\n"
    refused = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "refused user 'nf'" in refused.stderr  # no password anywhere yet

    save_password(parse(bare), PASSWORD)
    try:
        opened = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                                timeout=120)
        assert opened.returncode == 0, opened.stderr
        assert opened.stdout.strip() == "postgresql"
    finally:
        forget_password(parse(bare))


def test_the_audit_log_and_monitoring_work_on_a_team_store(pg_url: str) -> None:
    from neuralforge_desktop.core.audit import record_event
    from neuralforge_desktop.core.audit.verify import verify
    from neuralforge_desktop.core.monitoring import alerts, drift, feedback
    from neuralforge_desktop.core.monitoring.demo import generate_demo_history

    with Store(pg_url) as store:
        run = store.create_run("e", environment={})
        store.set_status(run.id, "finished")
        record_event(store, "graph.saved", "/home/you/model.nfg", {"nodes": 3})
        report = verify(store)
        assert report.entries == 3 and report.first_break is None  # run.created, run.finished, graph.saved

        history = generate_demo_history(store, "mnist", hours=1.0, rate=1.0)
        assert history is not None
        assert drift.drift_history(store, "mnist")
        assert feedback.accuracy(store, "mnist").labelled > 0
        listed = alerts.list_alerts(store, "mnist")
        if listed:
            alerts.acknowledge(store, listed[0].id)
            assert alerts.list_alerts(store, "mnist")[0].acknowledged


def test_store_migrate_copies_a_personal_store_and_refuses_to_copy_it_twice(pg_url: str, tmp_path: Path,
                                                                            capsys: pytest.CaptureFixture) -> None:
    personal = tmp_path / "personal.db"
    with Store(personal) as mine:
        a = mine.create_run("exp", "first", params={"lr": 0.01}, tags={"note": "keep"}, environment={})
        mine.log_series(a.id, "loss", np.arange(5000), np.linspace(1, 0, 5000))
        mine.log_artifact(a.id, b"weights", "model.bin")
        mine.add_note("loss plateaus", run_id=a.id, kind="observation")
        b = mine.create_run("exp", "second", environment={})
        mine.set_status(b.id, "failed", reason="NaN")
    with Store(pg_url) as team:  # the team store has its own run (and its own "default" project) already
        theirs = team.create_run("exp", "theirs", environment={})

    assert main(["store", "migrate", "--from", str(personal), "--to", pg_url]) == 0
    out = capsys.readouterr().out
    assert PASSWORD not in out
    assert "runs" in out and "metric_chunks" in out
    with Store(pg_url) as team, Store(personal) as mine:
        runs = {r.name: r for r in team.list_runs()}
        assert set(runs) == {"first", "second", "theirs"}
        assert runs["first"].id == a.id and runs["first"].experiment_id == runs["theirs"].experiment_id == \
            theirs.experiment_id
        assert runs["first"].params == {"lr": 0.01} and runs["second"].status == "failed"
        assert np.array_equal(team.metric_history(a.id, "loss").values, mine.metric_history(a.id, "loss").values)
        assert team.artifact_path(a.id, "model.bin").read_bytes() == b"weights"
        assert [n.text for n in team.list_notes(run_id=a.id)] == ["loss plateaus"]
        note = team.add_note("numbered after the copied ones", run_id=b.id)
        assert note.id > max(n.id for n in mine.list_notes(run_id=a.id))

    assert main(["store", "migrate", "--from", str(personal), "--to", pg_url]) == 1  # one line, nothing copied
    assert "already holds 2 of these runs" in capsys.readouterr().err
    assert sql(pg_url, "SELECT COUNT(*) FROM runs") == [(3,)]


def test_the_translator_spells_sqlite_for_postgresql() -> None:
    t = Translator({"tags": ("run_id", "key")}, {"queue"})
    assert t("INSERT OR REPLACE INTO tags (run_id, key, value) VALUES (?, ?, ?)").sql == (
        "INSERT INTO tags (run_id, key, value) VALUES (%s, %s, %s) ON CONFLICT (run_id, key) DO UPDATE SET "
        "value = EXCLUDED.value")
    assert t("INSERT OR IGNORE INTO tags (run_id, key, value) VALUES (?, ?, '50%?')").sql.endswith(
        "VALUES (%s, %s, '50%%?') ON CONFLICT DO NOTHING")
    queued = t("INSERT INTO queue (run_id) VALUES (?)")
    assert queued.returns_id and queued.sql.endswith("RETURNING id")
    assert t("SELECT max(a, max(b, ?)), MAX(c), group_concat(k || '=' || v, ' ') FROM x").sql == (
        "SELECT GREATEST(a, GREATEST(b, %s)), max(c), string_agg((k || '=' || v)::text, ' ') FROM x")
    assert t("SELECT value FROM json_each(?)").sql == "SELECT value FROM json_array_elements_text((%s)::json)"
    assert t("PRAGMA foreign_keys = ON") is None
    created = t("CREATE TABLE n (id INTEGER PRIMARY KEY AUTOINCREMENT, x REAL, b BLOB)").sql
    assert created == ("CREATE TABLE n (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, x DOUBLE PRECISION, "
                       "b BYTEA)")
    assert "n" in t.identity_tables
    keyed = t("CREATE TABLE k (a TEXT NOT NULL, b INTEGER, PRIMARY KEY (a, b)) WITHOUT ROWID").sql
    assert "ROWID" not in keyed.upper() and t.primary_keys["k"] == ("a", "b")
    assert t("CREATE TABLE r (a TEXT PRIMARY KEY, v INTEGER)").sql.endswith(
        "rowid BIGINT GENERATED BY DEFAULT AS IDENTITY)")  # SQLite's rowid (creation order), made explicit


def test_sql_written_by_the_portable_rules_means_the_same_on_postgresql(pg_url: str) -> None:
    """What a new migration may use (see the rules in schema.py): run against both backends, same answers."""
    from neuralforge_desktop.core.store.database import Database

    statements = [
        "CREATE TABLE budgets (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, "
        "hours REAL, active INTEGER NOT NULL DEFAULT 0, blob BLOB)",
        "CREATE INDEX budgets_by_active ON budgets (active)",
    ]

    def exercise(db: Database) -> list[object]:
        with db.write() as conn:
            for statement in statements:
                conn.execute(statement)
            first = conn.execute("INSERT INTO budgets (name, hours, active, blob) VALUES (?, ?, ?, ?)",
                                 ("vision", 10.5, True, b"\x00\x01")).lastrowid
            conn.execute("INSERT OR IGNORE INTO budgets (name, hours) VALUES (?, ?)", ("vision", 99.0))
            conn.execute("INSERT OR REPLACE INTO budgets (name, hours, active) VALUES (?, ?, ?)",
                         ("speech", float("nan"), False))
            conn.executemany("INSERT INTO budgets (name, hours, active) VALUES (?, ?, ?)",
                             [("a", 1.0, 1), ("b", 2.0, 1)])
        with db.read() as conn:
            rows = conn.execute("SELECT name, hours, active, blob FROM budgets ORDER BY id").fetchall()
            total, active = conn.execute("SELECT SUM(active), COUNT(*) FROM budgets WHERE active = 1").fetchone()
            biggest = conn.execute("SELECT max(MAX(hours), 3.0) FROM budgets").fetchone()[0]
        return [first, [tuple(r) for r in rows], total, type(total).__name__, active, biggest]

    from neuralforge_desktop.core.store import location
    from neuralforge_desktop.core.store.pg_database import PgDatabase

    with Store(pg_url):
        pass
    on_pg = exercise(PgDatabase(location.parse(pg_url)))  # type: ignore[arg-type]
    import sqlite3
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        plain = sqlite3.connect(Path(folder) / "x.db", isolation_level=None)

        class _Plain:  # the same write()/read() shape over a plain SQLite connection
            import contextlib

            @contextlib.contextmanager
            def write(self):
                plain.execute("BEGIN IMMEDIATE")
                yield plain
                plain.execute("COMMIT")

            read = write

        on_sqlite = exercise(_Plain())  # type: ignore[arg-type]
        plain.close()
    assert on_pg == on_sqlite
    assert on_pg[1][1][1] is None  # NaN stored as NULL, as SQLite does


def test_the_cli_names_a_wrong_password_in_one_line_without_it(pg_url: str, capsys: pytest.CaptureFixture) -> None:
    wrong = _url_with(pg_url, password="not-the-pw-42")
    assert main(["runs", "list", "--store", wrong]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()
    assert "refused user 'nf': wrong password" in line and "not-the-pw-42" not in line and PASSWORD not in line


@pytest.mark.slow
def test_training_writes_its_run_into_a_team_store(pg_url: str, tmp_path: Path) -> None:
    """The worker process opens the store by its URL without the password; it gets the password from here."""
    from neuralforge_desktop.core.ir.serialize import save_graph

    from training_graphs import digits_mlp

    graph = tmp_path / "digits.nfg"
    save_graph(digits_mlp(), graph)
    env = {k: v for k, v in os.environ.items() if k != "PGPASSWORD"}
    done = subprocess.run([sys.executable, "-m", "neuralforge_desktop", "train", str(graph), "--dataset", "digits",
                           "--epochs", "1", "--json", "--store", pg_url], capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events[-1]["event"] == "finished"
    with Store(pg_url) as store:
        run = store.get_run(events[0]["run_id"])
        assert run.status == "finished" and run.metrics["val/acc"].count == 1
        assert {a.name for a in store.list_artifacts(run.id)} >= {"graph.nfg"}
