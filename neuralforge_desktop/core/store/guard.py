"""What a file must be before the store writes a byte to it.

A ``--store`` path may name anything: a directory, a text file, a device, a damaged file, or another
program's SQLite database. Opening that with SQLite in read-write mode already writes (``journal_mode=WAL``
rewrites the header and leaves ``-wal``/``-shm`` files; the schema would add nine tables), so the file is
judged first, without SQLite where possible:

* Our stores carry ``PRAGMA application_id`` = :data:`APPLICATION_ID` (the bytes "NFst") in the header,
  which is read as plain bytes: no lock, no side file.
* A database with another application id is someone else's, and is refused as it is.
* A database with no application id is looked into read-only: stores made before the id existed are
  recognised by their tables (the migration then stamps them), a database with no tables at all is a new
  store, and anything else is refused. The look never creates files next to it: a WAL database that no one
  has open (no ``-wal`` file) is read as ``immutable``; otherwise ``mode=ro`` uses the side files that
  already exist.
* A missing or empty file becomes a new store.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from neuralforge_desktop.core.store.entities import StoreFileError

APPLICATION_ID = int.from_bytes(b"NFst", "big")  # 0x4E467374, in the file header at byte 68
_MAGIC = b"SQLite format 3\x00"
_HEADER_SIZE = 100
# The tables every NeuralForge store has had since schema version 1.
LEGACY_TABLES = frozenset({"schema_version", "projects", "experiments", "runs", "params", "tags", "metric_chunks"})
_FIX = "Use a new file name (a store is created there) or an existing NeuralForge store."

Verdict = Literal["new", "ours", "unstamped"]


def check_store_file(path: Path, newest_version: int) -> Verdict:
    """``new`` (create a store here), ``ours`` (stamped), ``unstamped`` (an older store: stamp it).
    Anything else raises :class:`StoreFileError` naming ``path`` and what it is, with the file untouched."""
    try:
        info = os.stat(path)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError | NotADirectoryError):
            _check_parent(path)  # a file where a folder should be says so
        if isinstance(exc, FileNotFoundError):
            return "new"
        raise StoreFileError(f"cannot use {path} as a store: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise StoreFileError(f"{path} is a directory, not a store file; give a file path such as "
                             f"{path / 'store.db'}")
    if not stat.S_ISREG(info.st_mode):
        raise StoreFileError(f"{path} is not a regular file (a device, pipe or socket), so it cannot be a store")
    try:
        with open(path, "rb") as handle:
            header = handle.read(_HEADER_SIZE)
    except OSError as exc:
        raise StoreFileError(f"cannot read the store {path}: {exc.strerror or exc}") from None
    if not header:
        return "new"
    if not header.startswith(_MAGIC):
        raise StoreFileError(f"{path} is not a NeuralForge store: it is {_describe(header)}, not an SQLite "
                             f"database; it was left untouched. {_FIX}")
    if len(header) < _HEADER_SIZE:
        raise StoreFileError(f"the store {path} is damaged: its SQLite header is cut short ({len(header)} bytes)")
    app_id = int.from_bytes(header[68:72], "big")
    if app_id == APPLICATION_ID:
        _check_length(path, header, info.st_size)
        _check_version(path, int.from_bytes(header[60:64], "big"), newest_version)
        return "ours"
    if app_id != 0:
        raise StoreFileError(f"{path} is an SQLite database of another application (application_id "
                             f"{app_id:#010x}), not a NeuralForge store; it was left untouched. {_FIX}")
    return _look_inside(path, wal=header[18] == 2, newest_version=newest_version)


def _check_parent(path: Path) -> None:
    for folder in path.parents:
        if folder.is_dir():
            return
        if folder.exists():
            raise StoreFileError(f"cannot use {path} as a store: {folder} is a file, not a directory")


def _describe(header: bytes) -> str:
    text = header.decode("utf-8", errors="replace")  # a character cut at byte 100 is one replacement
    binary = "\x00" in text or text.count("\ufffd") > 1 or not all(c.isprintable() or c.isspace() for c in text)
    return "binary data of another kind" if binary else "a text file"


def _check_length(path: Path, header: bytes, size: int) -> None:
    """A file shorter than its header says was cut (a copy that stopped, a full disk). Checked only while no
    one has the file open in WAL mode (no ``-wal`` file): then the header and the length agree."""
    if Path(f"{path}-wal").exists():
        return
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    header_valid = header[24:28] == header[92:96]  # the page count is current only if these match
    if header_valid and pages and size < pages * page_size:
        raise StoreFileError(f"the store {path} is damaged: it is cut short ({size:,} bytes of the "
                             f"{pages * page_size:,} its header describes); restore it from a backup")


def _check_version(path: Path, version: int, newest_version: int) -> None:
    if version > newest_version:
        raise StoreFileError(f"the store {path} has schema version {version}, newer than this NeuralForge "
                             f"understands ({newest_version}); open it with a newer version")


def _look_inside(path: Path, *, wal: bool, newest_version: int) -> Verdict:
    # immutable=1 takes no lock and makes no side files; it is right only when no one writes the file, which
    # for a WAL database is when there is no -wal file. mode=ro locks, and creates no file for a rollback-
    # journal database or a WAL database whose side files exist.
    quiet = wal and not Path(f"{path}-wal").exists()
    uri = f"file:{quote(os.fspath(path.resolve()))}?{'immutable=1' if quiet else 'mode=ro'}"
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise StoreFileError(f"cannot read the store {path}: {exc}") from None
    try:
        app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
        user_version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        version = 0
        if "schema_version" in tables:
            version = int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise StoreFileError(f"the store {path} is damaged ({exc}); restore it from a backup or use another "
                             f"file") from None
    finally:
        conn.close()
    if app_id == APPLICATION_ID:  # stamped in the write-ahead log, not yet copied into the file
        _check_version(path, version, newest_version)
        return "ours"
    if not tables and app_id == 0 and user_version == 0:
        return "new"
    if app_id == 0 and tables >= LEGACY_TABLES and version >= 1:
        _check_version(path, version, newest_version)
        return "unstamped"
    shown = ", ".join(sorted(tables)[:5]) + (", …" if len(tables) > 5 else "") if tables else "none"
    raise StoreFileError(f"{path} is an SQLite database that is not a NeuralForge store (tables: {shown}); it "
                         f"was left untouched. {_FIX}")
