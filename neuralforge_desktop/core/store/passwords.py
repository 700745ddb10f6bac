"""Team-store passwords saved by the app, kept out of its settings file.

The app's settings file is readable by every user of the computer on most systems, so a password typed in
Edit ▸ Preferences ▸ Team store is not kept there: it goes to a password file in PostgreSQL's own format
(``host:port:database:user:password``, the format of ``~/.pgpass``) in the user's config folder, readable by
the user alone (0600). libpq reads that file itself when a store connects (its ``passfile`` parameter), so the
password is in no URL, no setting and no process list, and every process that opens the store (training
workers too) finds it. The file is named only for a store it has an entry for: otherwise libpq looks where
it always does (``PGPASSWORD``, ``~/.pgpass``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from neuralforge_desktop.core.ir.atomic import write_text_atomic

if TYPE_CHECKING:
    from neuralforge_desktop.core.store.location import PgLocation

FILE_NAME = "pgpass"


def password_file() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("neuralforge")) / FILE_NAME


def _escape(field: str) -> str:
    return field.replace("\\", "\\\\").replace(":", "\\:")


def _fields(line: str) -> list[str]:
    """A password file line's fields, with ``\\:`` and ``\\\\`` read back as libpq reads them."""
    fields: list[str] = []
    current: list[str] = []
    escaped = False
    for char in line:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ":" and len(fields) < 4:
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
    fields.append("".join(current))
    return fields


def _key(location: PgLocation) -> list[str]:
    return [location.host, str(location.port), location.dbname, location.user]


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []


def saved_password(location: PgLocation) -> str | None:
    """The password saved for exactly this server, database and user, or None."""
    key = _key(location)
    for line in _lines(password_file()):
        fields = _fields(line)
        if len(fields) == 5 and fields[:4] == key:
            return fields[4]
    return None


def _write(lines: list[str]) -> None:
    path = password_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, "".join(f"{line}\n" for line in lines))  # a new file is made 0600
    os.chmod(path, 0o600)  # libpq ignores a password file others can read


def save_password(location: PgLocation, password: str) -> None:
    """Save (or replace) the password for ``location``'s server, database and user."""
    key = _key(location)
    kept = [line for line in _lines(password_file()) if _fields(line)[:4] != key]
    _write([*kept, ":".join(_escape(field) for field in [*key, password])])


def forget_password(location: PgLocation) -> None:
    """Remove the saved password for ``location``, if any."""
    lines = _lines(password_file())
    kept = [line for line in lines if _fields(line)[:4] != _key(location)]
    if kept != lines:
        _write(kept)


def passfile_for(location: PgLocation) -> Path | None:
    """The password file to hand libpq for ``location``: ours when it has an entry for it, else None."""
    return password_file() if saved_password(location) is not None else None
