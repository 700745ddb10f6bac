"""The experiment notebook in the store (schema v6) and ``neuralforge notes``."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.store import schema
from neuralforge_desktop.core.store.database import Database
from neuralforge_desktop.core.store.entities import NotFoundError, StoreError
from neuralforge_desktop.core.store.sqlite_store import Store


def test_notes_on_experiments_and_runs_are_added_edited_listed_and_deleted(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        run = store.create_run("exp", "r1", environment={})
        other = store.create_run("other", "r2", environment={})
        idea = store.add_note("Wider is *better*", experiment="exp", kind="hypothesis", created=100.0)
        seen = store.add_note("loss flat after step 30", run_id=run.id, kind="observation", created=200.0)
        store.add_note("unrelated", run_id=other.id, created=150.0)
        assert (idea.experiment_id, idea.run_id, idea.created, idea.updated) == (run.experiment_id, None, 100.0, 100.0)
        assert [n.id for n in store.list_notes(experiment="exp")] == [idea.id]
        assert [n.id for n in store.list_notes(experiment="exp", include_runs=True)] == [idea.id, seen.id]
        assert [n.id for n in store.list_notes(run_id=run.id)] == [seen.id]
        assert len(store.list_notes()) == 3

        edited = store.edit_note(idea.id, text="Wider is better up to 256 units", kind="observation")
        assert (edited.text, edited.kind, edited.created) == ("Wider is better up to 256 units", "observation", 100.0)
        assert edited.updated > edited.created
        store.delete_note(seen.id)
        with pytest.raises(NotFoundError):
            store.get_note(seen.id)
        with pytest.raises(NotFoundError):
            store.delete_note(seen.id)

        with pytest.raises(StoreError, match="unknown note kind"):
            store.add_note("x", experiment="exp", kind="guess")  # type: ignore[arg-type]
        with pytest.raises(StoreError, match="needs some text"):
            store.edit_note(idea.id, text="   ")
        with pytest.raises(StoreError, match="exactly one"):
            store.add_note("x", experiment="exp", run_id=run.id)
        with pytest.raises(NotFoundError):
            store.add_note("x", experiment="no-such-experiment")
        with pytest.raises(NotFoundError):
            store.add_note("x", run_id="no-such-run")

        store.delete_run(other.id)  # a run's notes go with it
        assert [n.text for n in store.list_notes()] == ["Wider is better up to 256 units"]


def test_a_version_5_store_gains_the_notes_table_and_keeps_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = Database(path)
    with db.write() as conn:
        schema.migrate(conn, target=5)
    db.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'notes'").fetchone() is None
    with Store(path) as store:
        store.create_run("exp", "r", environment={})
        note = store.add_note("after the upgrade", experiment="exp")
        assert store.get_note(note.id).text == "after the upgrade"
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone() == (schema.SCHEMA_VERSION,)


def test_notes_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.db"
    with Store(path) as store:
        run = store.create_run("exp", "r1", environment={})
    store_arg = ["--store", str(path)]
    assert main(["notes", "add", "exp", "Deeper nets **overfit**", "--kind", "hypothesis", *store_arg]) == 0
    assert main(["notes", "add", run.id, "overfits at epoch 4", "--kind", "observation", *store_arg]) == 0
    assert "added note 2 (observation)" in capsys.readouterr().out
    assert main(["notes", "list", "exp", *store_arg]) == 0
    listed = capsys.readouterr().out
    assert "hypothesis" in listed and "experiment exp" in listed and f"run {run.id}" in listed
    assert main(["notes", "edit", "1", "--kind", "observation", *store_arg]) == 0
    assert main(["notes", "rm", "2", *store_arg]) == 0
    capsys.readouterr()
    assert main(["notes", "list", "--json", *store_arg]) == 0
    (only,) = json.loads(capsys.readouterr().out)
    assert (only["id"], only["kind"], only["text"]) == (1, "observation", "Deeper nets **overfit**")
    assert main(["notes", "add", "nothing-here", "x", *store_arg]) == 2
    assert "no run or experiment 'nothing-here'" in capsys.readouterr().err
    assert main(["notes", "rm", "99", *store_arg]) != 0
    assert main(["notes", "edit", "1", *store_arg]) == 2
