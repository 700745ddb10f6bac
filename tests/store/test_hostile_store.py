"""A store path that is not a store: a clear one-line error naming it, and nothing written to it.

Each bad path is tried through the Store API and through the CLI (``runs list`` and ``train``). Another
program's SQLite file must come out byte for byte as it went in, with no ``-wal``/``-shm`` beside it.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.store import Store, StoreError
from neuralforge_desktop.core.store.entities import StoreFileError
from neuralforge_desktop.core.store.guard import APPLICATION_ID
from neuralforge_desktop.core.store.schema import SCHEMA_VERSION
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.events import FailedEvent
from neuralforge_desktop.core.training.runner import TrainingProcess, prepare_run

from .helpers import integrity, sql
from training_graphs import digits_mlp

pytestmark = pytest.mark.sqlite_only(reason="about the SQLite file itself: foreign, damaged and hostile files")


def _foreign_rollback(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    conn.executemany("INSERT INTO notes (text) VALUES (?)", [(f"note {i}",) for i in range(100)])
    conn.commit()
    conn.close()


def _foreign_wal(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.execute("INSERT INTO invoices (total) VALUES (12.5)")
    conn.commit()
    conn.close()  # the last connection checkpoints and removes -wal/-shm


def _foreign_application(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 1196444487")  # another program's id ("GPKG")
    conn.execute("CREATE TABLE features (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()


def _foreign_empty_with_version(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 7")  # no tables yet, but another program has claimed it
    conn.close()


def _store_with_runs(path: Path, runs: int = 4) -> list[str]:
    ids = []
    with Store(path) as store:
        for _ in range(runs):
            run = store.create_run("exp", params={"lr": 0.1}, environment={})
            store.log_series(run.id, "loss", np.arange(4000), np.linspace(1, 0, 4000))
            ids.append(run.id)
    return ids


def _text(path: Path) -> None:
    path.write_text("epoch,loss\n1,0.5\n")


def _binary(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 8)


def _directory(path: Path) -> None:
    path.mkdir()


def _truncated_store(path: Path) -> None:
    _store_with_runs(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _corrupt_store(path: Path) -> None:
    _store_with_runs(path)
    data = path.read_bytes()
    rng = np.random.default_rng(0)
    path.write_bytes(data[:4096] + rng.bytes(len(data) - 4096))  # header page kept, the rest noise


def _half_header(path: Path) -> None:
    path.write_bytes(b"SQLite format 3\x00" + b"\x10\x00")


# name -> (make the bad file, words the message must contain)
BAD_STORES: dict[str, tuple[Callable[[Path], None], str]] = {
    "directory": (_directory, "is a directory"),
    "text file": (_text, "is a text file, not an SQLite database"),
    "binary file": (_binary, "binary data of another kind"),
    "truncated store": (_truncated_store, "damaged: it is cut short"),
    "corrupt store": (_corrupt_store, "damaged (database disk image is malformed)"),
    "cut SQLite header": (_half_header, "damaged: its SQLite header is cut short"),
    "foreign SQLite": (_foreign_rollback, "not a NeuralForge store (tables: notes)"),
    "foreign SQLite in WAL mode": (_foreign_wal, "not a NeuralForge store (tables: invoices)"),
    "another application's SQLite": (_foreign_application, "of another application (application_id 0x47504b47"),
    "claimed empty SQLite": (_foreign_empty_with_version, "not a NeuralForge store (tables: none)"),
}
FOREIGN = [name for name in BAD_STORES if "SQLite" in name and "header" not in name]


def _read_everything(path: Path) -> None:
    with Store(path) as store:
        for run in store.list_runs():
            store.metric_history(run.id, "loss")


@pytest.mark.parametrize("kind", list(BAD_STORES))
def test_a_bad_store_path_is_a_one_line_user_error_naming_it(tmp_path: Path, kind: str) -> None:
    make, words = BAD_STORES[kind]
    path = tmp_path / "given.db"
    make(path)
    with pytest.raises(StoreFileError) as caught:
        _read_everything(path)
    message = str(caught.value)
    assert isinstance(caught.value, UserError) and isinstance(caught.value, StoreError)
    assert str(path) in message and words in message and "\n" not in message


@pytest.mark.parametrize("kind", FOREIGN)
def test_another_programs_sqlite_file_is_never_written(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "theirs.sqlite"
    BAD_STORES[kind][0](path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    for _attempt in range(2):
        with pytest.raises(StoreFileError, match="it was left untouched"):
            Store(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["theirs.sqlite"]  # no -wal, -shm, artifacts/


def test_a_missing_or_empty_file_becomes_a_stamped_store(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    for path in (empty, tmp_path / "new" / "folder" / "store.db"):
        with Store(path) as store:
            store.create_run("exp", environment={})
        assert sql(path, "PRAGMA application_id") == [(APPLICATION_ID,)]
        assert sql(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
        assert len(Store(path).list_runs()) == 1


def test_an_empty_sqlite_database_becomes_a_store(tmp_path: Path) -> None:
    path = tmp_path / "blank.db"
    sqlite3.connect(path).execute("VACUUM").connection.close()  # a valid SQLite file with nothing in it
    assert path.stat().st_size > 0
    with Store(path) as store:
        store.create_run("exp", environment={})
    assert sql(path, "PRAGMA application_id") == [(APPLICATION_ID,)]


def test_a_store_from_before_the_stamp_is_recognised_and_stamped(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    ids = _store_with_runs(path, runs=2)
    sql(path, "PRAGMA application_id = 0")  # as every store was before the stamp existed
    sql(path, "PRAGMA user_version = 0")
    with Store(path) as store:
        assert {r.id for r in store.list_runs()} == set(ids)
        assert len(store.metric_history(ids[0], "loss")) == 4000
    assert sql(path, "PRAGMA application_id") == [(APPLICATION_ID,)]
    assert sql(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert integrity(path) == "ok"


def test_a_store_from_a_newer_neuralforge_is_refused_from_its_header(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    _store_with_runs(path, runs=1)
    sql(path, f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = path.read_bytes()
    newer = rf"schema version {SCHEMA_VERSION + 1}, newer than this NeuralForge understands \({SCHEMA_VERSION}\)"
    with pytest.raises(StoreFileError, match=newer):
        Store(path)
    assert path.read_bytes() == before


def test_a_device_and_a_file_in_place_of_a_folder_are_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreFileError, match="/dev/null is not a regular file"):
        Store(os.devnull)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(StoreFileError, match=r"notes\.txt is a file, not a directory"):
        Store(tmp_path / "notes.txt" / "store.db")
    with pytest.raises(StoreFileError, match="the store path is empty"):
        Store("")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="running as root: permission bits do not stop root from reading a file")
def test_an_unreadable_store_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    _store_with_runs(path, runs=1)
    path.chmod(0)
    try:
        with pytest.raises(StoreFileError, match=f"cannot read the store {path}: Permission denied"):
            Store(path)
    finally:
        path.chmod(0o600)


# -- the same through the command line ----------------------------------------------------------------------

def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "neuralforge_desktop", *argv], capture_output=True, text=True,
                          timeout=120)


CLI_KINDS = ["directory", "text file", "corrupt store", "foreign SQLite", "another application's SQLite"]


@pytest.mark.parametrize("kind", CLI_KINDS)
def test_runs_list_with_a_bad_store_says_so_in_one_line(tmp_path: Path, kind: str) -> None:
    make, words = BAD_STORES[kind]
    path = tmp_path / "given.db"
    make(path)
    proc = _cli("runs", "list", "--store", str(path))
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("neuralforge: ") and str(path) in proc.stderr and words in proc.stderr


@pytest.mark.parametrize("kind", ["directory", "foreign SQLite"])
def test_train_with_a_bad_store_says_so_in_one_line_before_starting(tmp_path: Path, kind: str) -> None:
    make, words = BAD_STORES[kind]
    path = tmp_path / "given.db"
    make(path)
    proc = _cli("train", "zoo:tabular-mlp", "--dataset", "digits", "--epochs", "1", "--store", str(path))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and words in proc.stderr and str(path) in proc.stderr
    assert not (tmp_path / "runs").exists()


def test_every_command_leaves_an_unrelated_sqlite_file_byte_identical(tmp_path: Path) -> None:
    path = tmp_path / "inventory.sqlite"
    _foreign_rollback(path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    for argv in (("runs", "list"), ("runs", "show", "abc"), ("runs", "compare", "a", "b"), ("resume", "abc"),
                 ("train", "zoo:tabular-mlp", "--dataset", "digits", "--epochs", "1")):
        proc = _cli(*argv, "--store", str(path))
        assert proc.returncode == 1, (argv, proc.stderr)
        assert "not a NeuralForge store (tables: notes); it was left untouched" in proc.stderr, argv
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before, argv
        assert sorted(p.name for p in tmp_path.iterdir()) == ["inventory.sqlite"], argv
    assert sql(path, "SELECT COUNT(*) FROM notes") == [(100,)]


def test_a_store_spoilt_after_the_run_was_prepared_fails_the_run_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with Store(path) as store:
        _run_id, folder = prepare_run(digits_mlp(), TrainConfig(dataset="digits", epochs=1), store, "spoilt")
    path.unlink()
    _text(path)  # replaced by something else before the worker opens it
    process = TrainingProcess(folder).start()
    events = list(process.events())
    assert process.wait() == 1
    assert len(events) == 1 and isinstance(events[0], FailedEvent) and events[0].user_error
    assert events[0].error.startswith(f"{path} is not a NeuralForge store: it is a text file")
    assert path.read_text() == "epoch,loss\n1,0.5\n"
