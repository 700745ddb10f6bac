"""Measured latencies, cached per graph: what ``neuralforge profile`` and the Summary's Measure button found.

A result is keyed by the graph's *fingerprint* — its layers, params, wiring, ties and symbols, not where its
nodes sit or what they are called in notes — with the batch size and the device, so moving a node keeps the
measurement and changing a layer drops it. The Summary and ``neuralforge summary`` show a cached measurement
beside the estimate ("measured 12.3 ms, estimate ×0.91"). Results are plain JSON in the user data directory.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.ir.atomic import write_text_atomic
from neuralforge_desktop.core.ir.graph import Graph

_LAYOUT_FIELDS = ("position", "notes", "label")  # how a node looks, not what it computes
_GRAPH_FIELDS = ("name", "meta")


def graph_fingerprint(graph: Graph) -> str:
    """A hash of what ``graph`` computes (see the module docstring), 16 hex digits."""
    from neuralforge_desktop.core.ir.serialize import graph_to_dict

    data = _strip(graph_to_dict(graph)["graph"])
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _strip(graph: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in graph.items() if k not in _GRAPH_FIELDS}
    nodes = []
    for node in graph.get("nodes", []):
        kept = {k: v for k, v in node.items() if k not in _LAYOUT_FIELDS}
        if isinstance(kept.get("body"), Mapping):
            kept["body"] = _strip(kept["body"])
        nodes.append(kept)
    out["nodes"] = nodes
    return out


def default_results_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("neuralforge")) / "measured"


def result_path(fingerprint: str, batch_size: int, device: str, root: str | Path | None = None) -> Path:
    folder = Path(root) if root is not None else default_results_dir()
    return folder / f"{fingerprint}-b{int(batch_size)}-{device}.json"


def save_result(result: Mapping[str, Any], root: str | Path | None = None) -> Path:
    path = result_path(str(result["graph_fingerprint"]), int(result["batch_size"]), str(result["device"]), root)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(dict(result), indent=1))
    return path


def load_result(graph: Graph, batch_size: int, device: str = "cpu", root: str | Path | None = None, *,
                fingerprint: str | None = None) -> dict[str, Any] | None:
    """The cached measurement of ``graph`` at ``batch_size`` on ``device``, or None (``fingerprint``: the
    graph's, when the caller already has it)."""
    path = result_path(fingerprint or graph_fingerprint(graph), batch_size, device, root)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("forward_ms"), Mapping):
        return None
    return data


def measured_line(result: Mapping[str, Any] | None, estimate_ms: float) -> str:
    """``measured 12.30 ms (estimate ×0.91)`` for a cached result, "" without one."""
    if not result:
        return ""
    measured = float(result["forward_ms"]["median"])
    ratio = estimate_ms / measured if measured > 0 else float("nan")
    return f"measured {format_ms(measured)} (estimate ×{ratio:.2f})"


def format_ms(ms: float) -> str:
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    if ms >= 1:
        return f"{ms:.2f} ms"
    return f"{ms * 1000:.0f} µs"
