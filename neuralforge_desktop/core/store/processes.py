"""Is the process that owns a run still alive? Used to find runs that crashed without saying so.

A pid alone is not proof: after a crash the OS may give the same pid to an unrelated process. On Linux the
process start time (``/proc/<pid>/stat`` field 22, in clock ticks since boot) tells the two apart, so it is
stored with the pid as ``process_start``; elsewhere the token is ``None`` and the pid check stands alone.
A zombie (killed, not yet reaped by its parent) counts as dead: it will never log again.
"""

from __future__ import annotations

import os
import socket
import sys


def hostname() -> str:
    return socket.gethostname()


def _proc_stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may itself contain spaces and parentheses.
    return text[text.rfind(")") + 2:].split()


def process_start(pid: int) -> str | None:
    """An opaque token that differs between two processes that had the same pid, or None if unknown."""
    fields = _proc_stat(pid)
    return fields[19] if fields and len(fields) > 19 else None  # field 22 overall; fields[0] is field 3


def pid_alive(pid: int, start: str | None = None) -> bool:
    """True while ``pid`` runs (and, when ``start`` is given and checkable, is still the same process)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        return _windows_alive(pid)
    fields = _proc_stat(pid)
    if fields is not None:
        if fields[0] in ("Z", "X"):  # zombie or dead
            return False
        return start is None or len(fields) <= 19 or fields[19] == start
    try:
        os.kill(pid, 0)  # signal 0: existence check only (POSIX; on Windows os.kill would terminate it)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return False
    return True


def _windows_alive(pid: int) -> bool:
    import ctypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.get_last_error() == 5  # type: ignore[attr-defined]  # Windows-only; ERROR_ACCESS_DENIED: it exists
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)
