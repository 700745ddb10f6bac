"""Remote commands are argv lists joined with :func:`shlex.quote`, never strings pasted together: a host name,
run name, path or parameter holding ``;``, ``$()``, quotes or newlines reaches the remote program as one
argument and runs nothing."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

from neuralforge_desktop.core.errors import UserError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def shell_command(argv: Sequence[str], env: dict[str, str] | None = None, cwd: str | None = None) -> str:
    """One POSIX shell line that runs ``argv`` (with ``env`` set, in ``cwd``), every word quoted."""
    words = [str(a) for a in argv]
    if not words:
        raise ValueError("an empty command")
    line = shlex.join(words)
    if env:
        for key in env:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                raise ValueError(f"not an environment variable name: {key!r}")
        line = "env " + " ".join(shlex.quote(f"{k}={v}") for k, v in env.items()) + " " + line
    if cwd is not None:
        line = f"cd {shlex.quote(cwd)} && {line}"
    return line


def check_name(value: str, what: str = "name") -> str:
    """A host or queue name: letters, digits, ``.``, ``_``, ``-``; 64 characters at most."""
    if not _NAME.match(value):
        raise UserError(f"{what} {value!r} is not allowed: use letters, digits, '.', '_' and '-' "
                        "(starting with a letter or digit, 64 characters at most)")
    return value
