"""Where a store lives: an SQLite file (the zero-setup default) or a PostgreSQL database named by a URL.

A value given by the user (``--store``, ``NEURALFORGE_STORE``, the app's ``store/url`` setting) is a file path
unless it starts with ``postgresql://`` (or ``postgres://``). A PostgreSQL URL is
``postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?artifacts=FOLDER]``; the password never leaves this module
in text: :attr:`PgLocation.display` (what ``store.path`` shows, what errors name) leaves it out, and the
password is kept in this process's memory under that display string, so ``Store(store.path)`` opens the same
database again (also in a forked child). Other processes find it as libpq does: ``PGPASSWORD``, ``~/.pgpass``,
or the app's own password file, where Preferences saves it (:mod:`.passwords`).

Files beside a PostgreSQL store (content-addressed artifacts, run folders) go to ``?artifacts=FOLDER`` when
given (a shared folder every user of the team store mounts at the same path), else ``NEURALFORGE_ARTIFACTS``,
else a folder per store under the user's data directory.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from neuralforge_desktop.core.store.entities import StoreFileError

SCHEMES = ("postgresql", "postgres")
ARTIFACTS_ENV = "NEURALFORGE_ARTIFACTS"
_PASSWORDS: dict[str, str] = {}  # display string → password, for reopening a store by its ``path``


class StoreUrlError(StoreFileError):
    """A store URL that cannot be understood."""


@dataclass(frozen=True)
class PgLocation:
    host: str
    port: int
    dbname: str
    user: str
    password: str | None
    artifacts: str | None

    @property
    def display(self) -> str:
        """The URL without its password: safe to print, and enough to reopen the store in this process."""
        query = f"?artifacts={quote(self.artifacts, safe='/')}" if self.artifacts else ""
        user, dbname = quote(self.user, safe=""), quote(self.dbname, safe="")
        return f"postgresql://{user}@{self._host_text}:{self.port}/{dbname}{query}"

    @property
    def server(self) -> str:
        return f"{self._host_text}:{self.port}"

    @property
    def _host_text(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    def connect_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {"host": self.host, "port": self.port, "dbname": self.dbname, "user": self.user}
        if self.password is not None:
            args["password"] = self.password
        else:  # saved in the app's preferences: libpq reads it from the app's password file itself
            from neuralforge_desktop.core.store.passwords import passfile_for

            passfile = passfile_for(self)
            if passfile is not None:
                args["passfile"] = str(passfile)
        return args

    def local_folder(self) -> Path:
        """The folder for files beside this store (artifacts, run folders)."""
        chosen = self.artifacts or os.environ.get(ARTIFACTS_ENV, "").strip()
        if chosen:
            return Path(chosen).expanduser()
        import platformdirs

        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{self.host}_{self.port}_{self.dbname}")
        return Path(platformdirs.user_data_dir("neuralforge")) / "team-stores" / safe


def is_url(value: object) -> bool:
    text = os.fspath(value) if isinstance(value, str | os.PathLike) else ""
    scheme = str(text).split(":", 1)[0].lower() if ":" in str(text) else ""
    return scheme in SCHEMES or bool(re.match(r"^[a-z][a-z0-9+.-]*://", str(text), re.IGNORECASE))


def parse(value: str) -> PgLocation:
    """A PostgreSQL location from a URL, or a one-line :class:`StoreUrlError` (never showing the password).
    A URL that went through ``Path()`` (which folds ``//`` into ``/``) is read as the URL it was."""
    value = re.sub(r"^(postgres(?:ql)?):/+(?=[^/])", r"\1://", value, flags=re.IGNORECASE)
    try:
        parts = urlsplit(value)
        port = parts.port
        password = parts.password
        username = parts.username
    except ValueError as exc:
        raise StoreUrlError(f"cannot read the store URL {_redact_text(value)} ({exc}); expected "
                            "postgresql://USER:PASSWORD@HOST:PORT/DBNAME") from None
    if parts.scheme.lower() not in SCHEMES:
        raise StoreUrlError(f"unknown store URL scheme {parts.scheme!r} in {_redact_text(value)}: give a file path "
                            "or a postgresql://USER:PASSWORD@HOST:PORT/DBNAME URL")
    dbname = unquote(parts.path.lstrip("/"))
    if not parts.hostname or not dbname or "/" in dbname:
        raise StoreUrlError(f"the store URL {_redact_text(value)} needs a host and a database name: "
                            "postgresql://USER:PASSWORD@HOST:PORT/DBNAME")
    query = parse_qs(parts.query)
    unknown = sorted(set(query) - {"artifacts"})
    if unknown:
        raise StoreUrlError(f"unknown option {unknown[0]!r} in the store URL {_redact_text(value)}; "
                            "the only option is artifacts=FOLDER")
    user = unquote(username) if username else _default_user()
    location = PgLocation(host=parts.hostname, port=port or 5432, dbname=dbname, user=user,
                          password=unquote(password) if password is not None else None,
                          artifacts=query["artifacts"][-1] if "artifacts" in query else None)
    if location.password is not None:
        _PASSWORDS[location.display] = location.password
    elif location.display in _PASSWORDS:  # reopened by its display string (store.path) in this process
        location = PgLocation(location.host, location.port, location.dbname, location.user,
                              _PASSWORDS[location.display], location.artifacts)
    return location


def redact(text: str, location: PgLocation | None = None) -> str:
    """``text`` with the password of ``location`` (and any ``user:password@`` in a URL) taken out."""
    if location is not None and location.password:
        text = text.replace(location.password, "***").replace(quote(location.password, safe=""), "***")
    return _redact_text(text)


def _redact_text(text: str) -> str:
    return re.sub(r"(://[^:/@\s]*):[^@\s]*@", r"\1@", text)


def _default_user() -> str:
    import getpass

    return os.environ.get("PGUSER") or getpass.getuser()


def password_environment(store_path: str | os.PathLike[str] | None) -> dict[str, str]:
    """``{"PGPASSWORD": …}`` for a child process (a training worker) that opens the team store ``store_path``
    by its display URL, when this process was given the password in the URL; else ``{}`` (the child finds it
    where libpq looks: PGPASSWORD, ~/.pgpass). A child's environment is readable only by its own user."""
    if store_path is None or not is_url(store_path):
        return {}
    try:
        password = parse(os.fspath(store_path)).password
    except StoreUrlError:
        return {}
    return {"PGPASSWORD": password} if password else {}


def files_folder(store_path: str | os.PathLike[str]) -> Path:
    """The folder for the files kept beside a store (its ``artifacts/``, training's ``runs/``): the SQLite file's
    folder, or a PostgreSQL store's :meth:`PgLocation.local_folder`. Accepts a URL that went through ``Path()``
    (which folds its ``//``)."""
    text = os.fspath(store_path)
    if re.match(r"^postgres(ql)?:/", text, re.IGNORECASE):
        return parse(text).local_folder()
    return Path(text).parent
