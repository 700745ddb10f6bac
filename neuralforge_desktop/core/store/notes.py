"""The experiment notebook (schema v6): timestamped Markdown notes on an experiment or on one run.

A note is a hypothesis ("a wider first layer will close the gap"), an observation ("val loss flattens after
epoch 3") or a plain note. The text is Markdown, stored as written; whoever shows it renders it (the app's
Notes panel, the HTML report) and must not trust it: it is user text, not markup to execute.

:class:`NotesStoreMixin` gives :class:`~.sqlite_store.Store` its notes methods; it relies on ``self._db``.
Every write takes the store's write lock like the other tables (one transaction each).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

from neuralforge_desktop.core.store import queries as _q
from neuralforge_desktop.core.store.database import Database
from neuralforge_desktop.core.store.entities import Experiment, NotFoundError, StoreError

if TYPE_CHECKING:
    from neuralforge_desktop.core.team.access import AccessCache

NoteKind = Literal["hypothesis", "observation", "note"]
NOTE_KINDS: tuple[str, ...] = get_args(NoteKind)
_COLUMNS = "id, experiment_id, run_id, kind, text, created, updated"


@dataclass(frozen=True, slots=True)
class Note:
    """One note. Exactly one of ``experiment_id`` and ``run_id`` is set: what the note is about."""

    id: int
    experiment_id: str | None
    run_id: str | None
    kind: NoteKind
    text: str
    created: float
    updated: float


def _check(kind: str, text: str) -> None:
    if kind not in NOTE_KINDS:
        raise StoreError(f"unknown note kind {kind!r}; expected one of {', '.join(NOTE_KINDS)}")
    if not text.strip():
        raise StoreError("a note needs some text")


def _note(row: tuple[object, ...]) -> Note:
    return Note(*row)  # type: ignore[arg-type]


def _read(conn: sqlite3.Connection, note_id: int) -> Note:
    row = conn.execute(f"SELECT {_COLUMNS} FROM notes WHERE id = ?", (note_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no note {note_id}")
    return _note(row)


class NotesStoreMixin:
    """The notes methods of :class:`~.sqlite_store.Store`."""

    _db: Database
    _access: AccessCache

    def _check_note(self, note_id: int) -> None:
        with self._db.read() as conn:
            note = _read(conn, note_id)
        if note.run_id is not None:
            self._access.check_run(note.run_id, "log")
        elif note.experiment_id is not None:
            self._access.check_experiment(note.experiment_id, _q.DEFAULT_PROJECT, "log")

    def add_note(self, text: str, *, experiment: Experiment | str | None = None, run_id: str | None = None,
                 kind: NoteKind = "note", project: str = _q.DEFAULT_PROJECT,
                 created: float | None = None) -> Note:
        """Add a note on an experiment (entity, id or name; it must exist) or on a run, not both."""
        _check(kind, text)
        if (experiment is None) == (run_id is None):
            raise StoreError("a note is on an experiment or on a run: give exactly one of them")
        when = time.time() if created is None else float(created)
        if run_id is not None:
            self._access.check_run(run_id, "log")
        else:
            self._access.check_experiment(experiment, project, "log")
        with self._db.write() as conn:
            experiment_id = None
            if experiment is not None:
                experiment_id = _q.experiment(conn, experiment, project, create=False).id
            else:
                _q.require_run(conn, str(run_id))
            cursor = conn.execute("INSERT INTO notes (experiment_id, run_id, kind, text, created, updated) "
                                  "VALUES (?, ?, ?, ?, ?, ?)", (experiment_id, run_id, kind, text, when, when))
            return _read(conn, int(cursor.lastrowid or 0))

    def edit_note(self, note_id: int, *, text: str | None = None, kind: NoteKind | None = None) -> Note:
        """Change a note's text and/or kind; ``updated`` becomes now (``created`` stays)."""
        self._check_note(note_id)
        with self._db.write() as conn:
            note = _read(conn, note_id)
            new_text = note.text if text is None else text
            new_kind = note.kind if kind is None else kind
            _check(new_kind, new_text)
            conn.execute("UPDATE notes SET text = ?, kind = ?, updated = ? WHERE id = ?",
                         (new_text, new_kind, max(time.time(), note.created), note_id))
            return _read(conn, note_id)

    def delete_note(self, note_id: int) -> None:
        self._check_note(note_id)
        with self._db.write() as conn:
            _read(conn, note_id)
            conn.execute("DELETE FROM notes WHERE id = ?", (note_id,))

    def get_note(self, note_id: int) -> Note:
        with self._db.read() as conn:
            return _read(conn, note_id)

    def list_notes(self, *, experiment: Experiment | str | None = None, run_id: str | None = None,
                   include_runs: bool = False, project: str = _q.DEFAULT_PROJECT) -> list[Note]:
        """Notes oldest first: on a run; on an experiment (with ``include_runs``, also those on its runs);
        or every note in the store when neither is given (those of projects the user may not read left out)."""
        if run_id is not None:
            self._access.check_run(run_id, "read")
        elif experiment is not None:
            self._access.check_experiment(experiment, project, "read")
        hidden_runs, hidden_exps = (self._access.hidden_runs(), self._access.hidden_experiments()) if (
            run_id is None and experiment is None) else (set(), set())
        with self._db.read() as conn:
            if run_id is not None:
                _q.require_run(conn, run_id)
                rows = conn.execute(f"SELECT {_COLUMNS} FROM notes WHERE run_id = ? ORDER BY created, id",
                                    (run_id,)).fetchall()
            elif experiment is not None:
                exp_id = _q.experiment(conn, experiment, project, create=False).id
                sql = f"SELECT {_COLUMNS} FROM notes WHERE experiment_id = ?"
                if include_runs:
                    sql += " OR run_id IN (SELECT id FROM runs WHERE experiment_id = ?)"
                rows = conn.execute(sql + " ORDER BY created, id", (exp_id, exp_id)[:1 + include_runs]).fetchall()
            else:
                rows = conn.execute(f"SELECT {_COLUMNS} FROM notes ORDER BY created, id").fetchall()
        notes = [_note(row) for row in rows]
        if hidden_runs or hidden_exps:
            notes = [n for n in notes if n.run_id not in hidden_runs and n.experiment_id not in hidden_exps]
        return notes
