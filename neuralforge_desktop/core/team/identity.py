"""Who is acting: the name runs, projects, comments and approvals are recorded under.

``NEURALFORGE_USER`` names a shared-store account explicitly; otherwise the operating-system user acts, which
is what a personal store needs and what a shared store's accounts default to.
"""

from __future__ import annotations

import getpass
import os

USER_ENV = "NEURALFORGE_USER"
UNKNOWN_USER = "unknown"


def current_user() -> str:
    """The acting user's name (``NEURALFORGE_USER``, else the OS user; "unknown" in a bare container)."""
    named = os.environ.get(USER_ENV, "").strip()
    if named:
        return named
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no USER/LOGNAME
        return UNKNOWN_USER
