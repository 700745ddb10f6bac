"""Copy a personal SQLite store into a team store (``neuralforge store migrate --from FILE --to URL``).

Every table is copied in foreign-key order, in ONE write transaction on the target: a failure (a conflict, a
lost connection) leaves the target as it was, and the copy can simply be run again. Rows keep their ids, with
these exceptions, so that several people can bring their stores into one team store:

* projects and experiments are matched by name: a personal "default" project becomes the team store's
  "default" project, and the runs of an experiment named alike land in the same experiment;
* rows numbered by the database (the queue, notes, registry tables, monitoring alerts and drift reports) are
  renumbered after the target's own rows when the target already has some, and every reference to them
  follows;
* the audit log is a hash chain per store: it is copied only into a team store whose log is still empty
  (otherwise the personal log stays in the personal file, where ``neuralforge audit verify`` still checks it).

A target that already holds any of the source's run ids is refused before anything is written (the same run
brought in twice), as is a registered model or model card named alike in both. Artifact files (content
addressed) and training's run folders (checkpoints) are copied into the target's folder first (see
:func:`.location.files_folder`); a file already there is not copied again.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.store.entities import StoreError
from neuralforge_desktop.core.store.sqlite_store import Store

_SKIPPED = {"schema_version", "sqlite_sequence"}
_BATCH = 1000


class TransferError(StoreError, UserError):
    """The copy was refused; nothing was written to the target."""


def _columns(source: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in source.execute(f'PRAGMA table_info("{table}")')]


def _foreign_keys(source: sqlite3.Connection, table: str) -> list[tuple[str, str, str]]:
    """(column, referenced table, referenced column) of each foreign key of ``table``."""
    return [(row[3], row[2], row[4] or "id") for row in source.execute(f'PRAGMA foreign_key_list("{table}")')]


def table_order(source: sqlite3.Connection) -> list[str]:
    """The source's tables, each after every table it refers to."""
    tables = sorted(name for (name,) in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                    if name not in _SKIPPED)
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(table: str) -> None:
        if table in ordered or table in visiting:
            return
        visiting.add(table)
        for _column, parent, _key in _foreign_keys(source, table):
            if parent != table and parent in tables:
                visit(parent)
        visiting.discard(table)
        ordered.append(table)

    for table in tables:
        visit(table)
    return ordered


def copy_store(source: Store, target: Store, progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Copy every row of ``source`` (an SQLite store) into ``target``; returns rows copied per table."""
    if source.dialect != "sqlite":
        raise TransferError(f"the source {source.path} must be an SQLite store file")
    if source.path == target.path:
        raise TransferError("the source and the target are the same store")
    source.flush()
    counts: dict[str, int] = {}
    with source.read_transaction() as src:
        order = table_order(src)
        _refuse_conflicts(src, target)
        _copy_files(src, source, target)
        _copy_run_folders(src, source, target)
        with target.write_transaction() as dst:
            remap: dict[tuple[str, str], dict[Any, Any]] = {}  # (table, column) → {source value: target value}
            audit_copied = dst.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0] == 0  # else: its own chain
            for table in order:
                if table in ("audit_log", "audit_keys") and not audit_copied:
                    counts[table] = 0
                    continue
                counts[table] = _copy_table(src, dst, table, remap)
                if progress is not None:
                    progress(table, counts[table])
            _advance_identities(dst, order, src)
    return counts


def _refuse_conflicts(src: sqlite3.Connection, target: Store) -> None:
    run_ids = [run_id for (run_id,) in src.execute("SELECT id FROM runs")]
    models = [name for (name,) in src.execute("SELECT name FROM registered_models")]
    cards = [tuple(row) for row in src.execute("SELECT model, version FROM model_cards")]
    with target.read_transaction() as dst:
        present = {run_id for (run_id,) in dst.execute("SELECT id FROM runs")}
        same = sorted(present.intersection(run_ids))
        if same:
            raise TransferError(f"the target {target.path} already holds {len(same)} of these runs (e.g. {same[0]}): "
                                "the store was copied there before; nothing was copied")
        taken = {name for (name,) in dst.execute("SELECT name FROM registered_models")}.intersection(models)
        if taken:
            raise TransferError(f"the target {target.path} already has a registered model named "
                                f"{sorted(taken)[0]!r}; rename one of them first (nothing was copied)")
        taken_cards = {tuple(row) for row in dst.execute("SELECT model, version FROM model_cards")}
        if taken_cards.intersection(cards):
            model, version = sorted(taken_cards.intersection(cards))[0]
            raise TransferError(f"the target {target.path} already has a model card for {model} v{version}; "
                                "nothing was copied")


def _copy_run_folders(src: sqlite3.Connection, source: Store, target: Store) -> None:
    """Training's folder of each run (graph, config, checkpoints), which resume, export and the registry read."""
    from neuralforge_desktop.core.store.location import files_folder

    origin_root, destination_root = files_folder(source.path) / "runs", files_folder(target.path) / "runs"
    if origin_root.resolve() == destination_root.resolve():
        return
    for (run_id,) in src.execute("SELECT id FROM runs"):
        origin, destination = origin_root / run_id, destination_root / run_id
        if origin.is_dir() and not destination.exists():
            partial = destination.with_name(run_id + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            shutil.copytree(origin, partial)
            partial.replace(destination)


def _copy_files(src: sqlite3.Connection, source: Store, target: Store) -> None:
    hashes = {sha for (sha,) in src.execute("SELECT sha256 FROM artifacts UNION SELECT sha256 FROM "
                                            "model_version_files")}
    for sha in sorted(hashes):
        origin, destination = source.artifact_files.path_for(sha), target.artifact_files.path_for(sha)
        if destination.exists() or not origin.exists():
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_name(destination.name + ".partial")
        shutil.copyfile(origin, partial)
        partial.replace(destination)  # a copy cut short never looks like the file


def _copy_table(src: sqlite3.Connection, dst: Any, table: str, remap: dict[tuple[str, str], dict[Any, Any]]) -> int:
    columns = _columns(src, table)
    references = {column: (parent, key) for column, parent, key in _foreign_keys(src, table)}
    matched = _matching_rows(dst, table)  # projects/experiments already in the target, by name
    numbered = "id" in columns and _is_numbered(src, table)
    offset = 0
    if numbered:
        offset = int(dst.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0])
        if offset:
            remap[(table, "id")] = {}
    order = "rowid" if _has_rowid(src, table) else ", ".join(columns)
    insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    copied = 0
    rows: list[list[Any]] = []
    for row in src.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}"):
        values = dict(zip(columns, row, strict=True))
        for column, (parent, key) in references.items():
            mapping = remap.get((parent, key))
            if mapping and values[column] in mapping:
                values[column] = mapping[values[column]]
        if matched is not None:
            existing = matched(values)
            if existing is not None:
                remap.setdefault((table, "id"), {})[values["id"]] = existing
                continue
        if numbered and offset:
            remap[(table, "id")][values["id"]] = values["id"] + offset
            values["id"] += offset
        rows.append([values[c] for c in columns])
        if len(rows) >= _BATCH:
            dst.executemany(insert, rows)
            copied, rows = copied + len(rows), []
    if rows:
        dst.executemany(insert, rows)
        copied += len(rows)
    return copied


def _matching_rows(dst: Any, table: str) -> Callable[[dict[str, Any]], Any] | None:
    if table == "projects":
        by_name = {name: pid for pid, name in dst.execute("SELECT id, name FROM projects")}
        return lambda values: by_name.get(values["name"])
    if table == "experiments":
        by_key = {(project, name): eid for eid, project, name in dst.execute(
            "SELECT id, project_id, name FROM experiments")}
        return lambda values: by_key.get((values["project_id"], values["name"]))
    return None


def _is_numbered(src: sqlite3.Connection, table: str) -> bool:
    """Whether the table's ``id`` is numbered by the database (INTEGER PRIMARY KEY)."""
    return any(row[1] == "id" and row[5] and row[2].upper() == "INTEGER"
               for row in src.execute(f'PRAGMA table_info("{table}")'))


def _has_rowid(src: sqlite3.Connection, table: str) -> bool:
    sql = src.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()[0]
    return "WITHOUT ROWID" not in sql.upper()


def _advance_identities(dst: Any, tables: list[str], src: sqlite3.Connection) -> None:
    """Identity counters continue after the copied ids, so the next row the target numbers is new."""
    if getattr(dst, "dialect", "sqlite") != "postgresql":
        return
    for table in tables:
        if "id" in _columns(src, table) and _is_numbered(src, table):
            dst.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST(m, 1), m > 0) "
                        f"FROM (SELECT COALESCE(MAX(id), 0) AS m FROM {table}) AS top")
