"""A long-lived process that imports edited model code for the app's code view.

The code a user types is their own code, and importing it runs it: so it runs here, never in the UI process.
The process stays up between applies (torch is imported once), which is what makes an apply take tens of
milliseconds instead of seconds. Protocol: one JSON request per line on stdin, ``{"id": n, "source": text}``;
one JSON reply per line on stdout, ``{"id": n, "graph": {...}}`` or ``{"id": n, "error": text, "line": k}``
(``line`` is 1-based in the submitted text, or null). File ▸ Import Model sends
``{"id": n, "import": "file.py:Name", "inputs": ["x=3,32,32"], "output": "net.nfg"}`` and gets
``{"id": n, "written": "net.nfg", "report": [lines]}`` (the graph and its weights written as the CLI writes them).
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

_WHERE = re.compile(r"edited_model\.py:(\d+)")


def import_file(request: dict[str, Any]) -> dict[str, Any]:
    from neuralforge_desktop.core.errors import UserError
    from neuralforge_desktop.core.importers.dispatch import import_model
    from neuralforge_desktop.core.importers.import_torch import write_import
    from neuralforge_desktop.core.importers.source import parse_input

    reply: dict[str, Any] = {"id": request.get("id")}
    try:
        inputs = [parse_input(str(text)) for text in request.get("inputs") or []]
        result = import_model(str(request["import"]), inputs, framework=str(request.get("framework") or "torch"))
        graph_path, _ = write_import(result, str(request["output"]))
    except UserError as exc:
        reply["error"], reply["line"] = str(exc), None
        return reply
    reply["written"], reply["report"] = str(graph_path), result.report.lines()
    return reply


def handle(request: dict[str, Any]) -> dict[str, Any]:
    from neuralforge_desktop.core.errors import UserError
    from neuralforge_desktop.core.importers.sync import import_text
    from neuralforge_desktop.core.ir.serialize import graph_to_dict

    reply: dict[str, Any] = {"id": request.get("id")}
    try:
        graph = import_text(str(request.get("source", "")), str(request.get("name") or "build_model"))
    except UserError as exc:
        text = str(exc)
        found = _WHERE.search(text)
        reply["line"] = int(found.group(1)) if found else None
        reply["error"] = _WHERE.sub(lambda m: f"line {m.group(1)}", text).replace("edited_model.py", "the code")
        return reply
    reply["graph"] = graph_to_dict(graph)
    return reply


def main() -> int:
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except ValueError:
            continue
        try:
            reply = import_file(request) if "import" in request else handle(request)
        except Exception as exc:  # a bug of ours: said, and the process stays up for the next apply
            reply = {"id": request.get("id"), "error": f"internal error: {type(exc).__name__}: {exc}", "line": None}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
