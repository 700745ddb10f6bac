"""Which graph-carried code the user has agreed to run.

A custom-code node carries Python source inside a graph file, and a graph file is data: opening, inspecting,
costing or generating code from it never runs that source. Building the model (to train, export or preview)
does, so it needs the user's consent, given once per source text: importing one's own code trusts what the
importer wrote, and ``neuralforge trust GRAPH`` trusts a file someone else made after reading it. Consent is a
list of SHA-256 digests in the user data directory, shared by the app, the CLI and worker processes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.atomic import write_text_atomic


class UntrustedCodeError(UserError):
    """Building would run graph-carried code the user has not trusted."""


def trust_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("neuralforge")) / "trusted-code.json"


def digest(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()


def _read(path: Path) -> set[str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return set()
    return {d for d in data.get("sha256", []) if isinstance(d, str)} if isinstance(data, dict) else set()


def is_trusted(source: str, path: Path | None = None) -> bool:
    return digest(source) in _read(path or trust_path())


def trust(sources: Iterable[str], path: Path | None = None) -> int:
    """Record consent to run each source; returns how many were new."""
    path = path or trust_path()
    known = _read(path)
    new = {digest(s) for s in sources} - known
    if new:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps({"sha256": sorted(known | new)}, indent=1) + "\n")
    return len(new)


def require_trusted(sources: Iterable[tuple[str, str]]) -> None:
    """Raise naming every node whose source is not trusted; ``sources`` holds ``(node path, source)`` pairs."""
    known = _read(trust_path())
    untrusted = [where for where, source in sources if digest(source) not in known]
    if untrusted:
        raise UntrustedCodeError(
            f"the graph carries Python code not yet trusted on this machine, in {', '.join(untrusted)}; "
            "building the model would run it. Read it (the node's source, or `neuralforge codegen`), then run "
            "`neuralforge trust GRAPH` to allow it")
