"""The team store's address (``postgresql://user:password@host:port/database``): checked, split from its
password for editing, and masked for display. Plain Python, so the store code can use it too."""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit, urlunsplit

from neuralforge_desktop.core.errors import UserError

SCHEME = "postgresql"
MASK = "••••••"


class StoreUrlError(UserError, ValueError):
    """The team store URL cannot be used; the message says what to change."""


def _netloc(user: str, password: str, host: str, port: int | None) -> str:
    login = quote(user, safe="") + (":" + quote(password, safe="") if password else "") if user else ""
    where = f"[{host}]" if ":" in host else host
    return (f"{login}@" if login else "") + where + (f":{port}" if port else "")


def check_store_url(url: str) -> str:
    """``url`` stripped, if it names a PostgreSQL database; "" (the personal store) is fine too."""
    url = url.strip()
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (reading it checks it)
    except ValueError as exc:
        raise StoreUrlError(f"team store URL: the port is not a number ({exc}); write postgresql://user@host:5432/"
                            "database") from None
    if parts.scheme != SCHEME:
        shown = parts.scheme or "none"
        raise StoreUrlError(f"team store URL: the scheme must be postgresql:// (got {shown}); write "
                            "postgresql://user@host:5432/database")
    if not parts.hostname:
        raise StoreUrlError("team store URL: no host; write postgresql://user@host:5432/database")
    if not parts.path.strip("/"):
        raise StoreUrlError("team store URL: no database name after the host; add /database")
    return url


def split_password(url: str) -> tuple[str, str]:
    """(the URL without its password, the password); for editing the two in separate fields."""
    if not url:
        return "", ""
    parts = urlsplit(url)
    if parts.password is None:
        return url, ""
    netloc = _netloc(unquote(parts.username or ""), "", parts.hostname or "", parts.port)
    return urlunsplit(parts._replace(netloc=netloc)), unquote(parts.password)


def with_password(url: str, password: str) -> str:
    """``url`` with ``password`` put in (a password already in ``url`` is replaced); needs a user name."""
    if not url or not password:
        return url
    parts = urlsplit(url)
    if not parts.username:
        raise StoreUrlError("team store URL: a password needs a user name; write postgresql://user@host/database")
    netloc = _netloc(unquote(parts.username), password, parts.hostname or "", parts.port)
    return urlunsplit(parts._replace(netloc=netloc))


def mask_password(url: str) -> str:
    """``url`` as it may be shown or logged: its password, if any, replaced by dots."""
    bare, password = split_password(url)
    if not password:
        return bare
    parts = urlsplit(bare)
    netloc = _netloc(unquote(parts.username or ""), "", parts.hostname or "", parts.port)
    login, _, rest = netloc.partition("@")
    return urlunsplit(parts._replace(netloc=f"{login}:{MASK}@{rest}"))
