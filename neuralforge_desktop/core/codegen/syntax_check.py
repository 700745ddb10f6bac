"""Whether generated source parses, checked without holding this interpreter for long.

Parsing is one C call that holds the interpreter lock throughout: about a second for the ~18,000 lines of a
10,000-node model. The editor generates code in a worker thread, and a second of lock is a second of frozen
window, so a large source is parsed by a short-lived child interpreter instead (the wait for it releases the
lock). Small sources, and builds without a separate Python (a frozen app), parse here.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys

IN_PROCESS_MAX_CHARS = 200_000  # ~4,000 lines: parsed here in well under 100 ms
_CHILD = (
    "import ast, json, sys\n"
    "try:\n"
    "    ast.parse(sys.stdin.read(), filename=sys.argv[1])\n"
    "    print(json.dumps(None))\n"
    "except (SyntaxError, ValueError) as exc:\n"
    "    print(json.dumps({'line': getattr(exc, 'lineno', None), 'text': str(exc)}))\n"
)


def syntax_problem(source: str, filename: str) -> tuple[int | None, str] | None:
    """(line, message) of the first syntax error in ``source``, or None when it parses."""
    if len(source) > IN_PROCESS_MAX_CHARS and not getattr(sys, "frozen", False):
        try:
            done = subprocess.run([sys.executable, "-I", "-c", _CHILD, filename], input=source, text=True,
                                  capture_output=True, timeout=120, check=True)
            found = json.loads(done.stdout.strip().splitlines()[-1])
        except (OSError, subprocess.SubprocessError, ValueError, IndexError):
            found = False  # no child interpreter to be had: parse here after all
        if found is None:
            return None
        if isinstance(found, dict):
            line = found.get("line")
            return (line if isinstance(line, int) else None), str(found.get("text", ""))
    try:
        ast.parse(source, filename=filename)
    except (SyntaxError, ValueError) as exc:
        return getattr(exc, "lineno", None), str(exc)
    return None
