"""A full disk (or quota, or file-size limit) while writing: the user's to fix, so a one-line error.

Every writer that can hit it (checkpoints, the event log, the store) says *what* it was writing, so the
message tells the user which location to free or move; the errno alone would not.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator

from neuralforge_desktop.core.errors import UserError

# ENOSPC: no space left; EDQUOT: over quota; EFBIG: a file past the size limit (RLIMIT_FSIZE, FAT32's 4 GiB).
_FULL_ERRNOS = frozenset(code for code in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EFBIG) if code)


class DiskFullError(UserError):
    """Writing ``what`` failed because its location is full; nothing half-written was kept."""

    def __init__(self, what: str, detail: str = "no space left on device") -> None:
        super().__init__(f"disk full while writing {what} ({detail}); free some space or use another location")
        self.what = what


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, DiskFullError) or (isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS)


@contextlib.contextmanager
def writing(what: str) -> Iterator[None]:
    """Turn a full-disk ``OSError`` raised inside into a :class:`DiskFullError` naming ``what``."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in _FULL_ERRNOS:
            raise
        raise DiskFullError(what, exc.strerror or str(exc)) from exc
