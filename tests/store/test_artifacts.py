"""Content-addressed artifacts: one file per distinct content, linked from runs by name."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from neuralforge_desktop.core.store import NotFoundError, Store, StoreError


def _stored_files(store: Store) -> list[Path]:
    root = _artifact_root(store)
    return sorted(p for p in root.rglob("*") if p.is_file())


def _artifact_root(store: Store) -> Path:
    # Beside an SQLite file; for a PostgreSQL store, the folder its URL or the user's data directory names.
    if isinstance(store.path, Path):
        return store.path.parent / "artifacts"
    return store.database.location.local_folder() / "artifacts"


def test_bytes_and_files_are_stored_once_by_content(store: Store, tmp_path: Path) -> None:
    a = store.create_run("e", environment={})
    b = store.create_run("e", environment={})
    weights = tmp_path / "model.pt"
    weights.write_bytes(os.urandom(3 << 20))  # over one copy block
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()

    first = store.log_artifact(a.id, weights, kind="checkpoint")
    assert (first.name, first.kind, first.sha256, first.size) == ("model.pt", "checkpoint", digest, 3 << 20)
    assert first.path == _artifact_root(store) / digest[:2] / digest
    assert first.path.read_bytes() == weights.read_bytes()
    again = store.log_artifact(b.id, str(weights), name="best.pt", kind="checkpoint")
    note = store.log_artifact(a.id, b"hello", name="notes.txt")
    same_note = store.log_artifact(b.id, bytearray(b"hello"), name="copy.txt", kind="text")
    assert again.path == first.path and same_note.path == note.path
    assert _stored_files(store) == sorted([first.path, note.path])  # 4 links, 2 files, no temporaries

    assert store.artifact_path(b.id, "best.pt") == first.path
    assert [x.name for x in store.list_artifacts(a.id)] == ["model.pt", "notes.txt"]
    assert store.get_artifact(b.id, "copy.txt").kind == "text"
    replaced = store.log_artifact(a.id, b"bye", name="notes.txt")  # the same name again: relinked
    assert store.artifact_path(a.id, "notes.txt") == replaced.path != note.path
    assert store.artifact_path(b.id, "copy.txt").read_bytes() == b"hello"


def test_artifact_errors(store: Store, tmp_path: Path) -> None:
    run = store.create_run("e", environment={})
    with pytest.raises(StoreError, match="needs a name"):
        store.log_artifact(run.id, b"data")
    with pytest.raises(StoreError, match="directory"):
        store.log_artifact(run.id, tmp_path)
    with pytest.raises(FileNotFoundError):
        store.log_artifact(run.id, tmp_path / "missing.bin")
    with pytest.raises(NotFoundError):
        store.log_artifact("ffffffffffff", b"x", name="x")
    with pytest.raises(NotFoundError):
        store.artifact_path(run.id, "nothing")
    assert _stored_files(store) == []  # nothing half-written was left behind


def test_a_damaged_copy_is_replaced(store: Store) -> None:
    run = store.create_run("e", environment={})
    art = store.log_artifact(run.id, b"0123456789", name="a")
    art.path.write_bytes(b"012")  # truncated behind the store's back
    store.log_artifact(run.id, b"0123456789", name="b")
    assert art.path.read_bytes() == b"0123456789"


def test_prune_deletes_only_unreferenced_files(store: Store) -> None:
    keep = store.create_run("e", environment={})
    gone = store.create_run("e", environment={})
    shared = store.log_artifact(keep.id, b"shared", name="s")
    store.log_artifact(gone.id, b"shared", name="s")
    only_gone = store.log_artifact(gone.id, b"only", name="o")
    store.delete_run(gone.id)
    assert store.prune_artifacts() == []  # within the grace period nothing goes
    assert store.prune_artifacts(grace_seconds=0) == [only_gone.sha256]
    assert shared.path.exists() and not only_gone.path.exists()
