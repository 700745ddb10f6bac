"""What NeuralForge knows about a model version, gathered for its card as plain JSON-able values.

Every fact says where it came from. A fact that cannot be had (the run was deleted, the dataset is gone) is
reported as such in its section instead of failing the whole card: a card with a gap is still a card, and the
gap is itself worth reading.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError

FINGERPRINT_TAG = "dataset_fingerprint"
FAIRNESS_ARTIFACT = "fairness.json"
EXPLANATIONS_ARTIFACT = "explanations.json"
CONFIDENCE = 0.95
_MEASURED = ("val/", "final/", "train/", "test/")
# The training settings worth a reader's time; the rest stays in the run.
_SETTINGS = ("dataset", "epochs", "batch_size", "lr", "optimizer", "scheduler", "weight_decay", "loss",
             "val_fraction", "limit", "seed", "normalize", "augment_flip", "augment_crop", "precision", "device")


def gather_facts(store: Any, version: Any) -> dict[str, Any]:
    """The generated facts of ``version`` (a registry :class:`ModelVersion`)."""
    run = _run(store, version.run_id)
    config = _config(store, run, version.run_id)
    dataset = dataset_facts(store, run, config)
    return {
        "model": version.name, "version": version.version, "ref": version.ref, "stage": version.stage,
        "description": version.description, "registered": version.created, "registered_by": version.created_by,
        "run_id": version.run_id, **architecture_facts(version.graph_path),
        "dataset": dataset,
        "training": {k: config[k] for k in _SETTINGS if config and config.get(k) not in (None, "", [], {})},
        "metrics": metric_facts(version.metrics, dataset.get("val")),
        "fairness": _artifact_json(store, version.run_id, FAIRNESS_ARTIFACT),
        "explanations": _artifact_json(store, version.run_id, EXPLANATIONS_ARTIFACT),
        "exports": export_facts(version),
        "lineage": lineage_facts(store, run, version),
    }


def _run(store: Any, run_id: str) -> Any | None:
    try:
        return store.get_run(run_id)
    except (UserError, KeyError):
        return None


def _config(store: Any, run: Any | None, run_id: str) -> dict[str, Any]:
    """The run's training settings: its folder's config.json, else its params; an optimised run has its
    parent's (its own params describe the optimisation)."""
    from neuralforge_desktop.core.training.runner import runs_root

    for candidate in (run_id, (run.tags.get("parent_run") if run is not None else None)):
        if not candidate:
            continue
        with contextlib.suppress(OSError, ValueError):
            data = json.loads((runs_root(Path(store.path)) / candidate / "config.json").read_text(encoding="utf-8"))
            if isinstance(data, dict) and data.get("dataset"):
                return data
    return dict(run.params) if run is not None else {}


def architecture_facts(graph_path: Path) -> dict[str, Any]:
    """Node counts by layer type (blocks' bodies included) and params/MACs from the cost analysis."""
    from neuralforge_desktop.core.analysis.cost import estimate_cost
    from neuralforge_desktop.core.ir.serialize import load_graph

    try:
        graph = load_graph(graph_path)
    except (UserError, OSError, ValueError) as exc:
        return {"architecture": {"error": f"the version's graph cannot be read: {exc}"}, "cost": {}}
    by_type = Counter(node.type for _, node in graph.walk())
    architecture = {"graph": graph.name, "nodes": sum(by_type.values()),
                    "by_type": dict(sorted(by_type.items(), key=lambda item: (-item[1], item[0])))}
    try:
        cost = estimate_cost(graph, batch_size=1)
    except (UserError, ValueError) as exc:
        return {"architecture": architecture, "cost": {"error": f"cost analysis failed: {exc}"}}
    return {"architecture": architecture,
            "cost": {"params": cost.params, "trainable_params": cost.trainable_params, "macs": cost.macs,
                     "flops": cost.flops, "batch_size": 1, "uncounted": list(cost.uncounted)}}


def dataset_facts(store: Any, run: Any | None, config: dict[str, Any]) -> dict[str, Any]:
    """The training data's name, sizes and fingerprint: the fingerprint as the run recorded it (a tag, or its
    worker's start event), else recomputed now from the run's settings, and said so."""
    name = config.get("dataset")
    if not name:
        return {"error": "the run's training settings name no dataset"}
    facts: dict[str, Any] = {"name": name}
    recorded = _recorded_dataset(store, run)
    try:
        from neuralforge_desktop.core.training.datasets import load_dataset

        bundle = load_dataset(name, val_fraction=float(config.get("val_fraction", 0.1)),
                              seed=int(config.get("seed", 0)), normalize=bool(config.get("normalize", True)),
                              limit=config.get("limit"), options=dict(config.get("dataset_options") or {}))
        facts.update({"source": _without_folders(bundle.source), "task": bundle.task, "train": len(bundle.train),
                      "val": len(bundle.val), "classes": bundle.num_classes,
                      "input_shape": list(bundle.input_shape), "fingerprint": bundle.fingerprint,
                      "fingerprint_source": "recomputed from the run's settings"})
    except (UserError, OSError, ValueError) as exc:
        facts["error"] = f"the dataset cannot be loaded now: {exc}"
    if recorded.get("fingerprint"):
        if facts.get("fingerprint") and facts["fingerprint"] != recorded["fingerprint"]:
            facts["warning"] = (f"the data read now has fingerprint {facts['fingerprint']}, not the one the run "
                                "trained on: the dataset changed since")
        facts.update({k: v for k, v in recorded.items() if v is not None})
    return facts


def _without_folders(source: str) -> str:
    """The source's file paths as file names: a card is shared beyond this machine, its folders are not."""
    return re.sub(r"(?<![\w.])(?:/[^\s,;()]+)+/([^\s,;()/]+)", r"\1", source)


def _recorded_dataset(store: Any, run: Any | None) -> dict[str, Any]:
    if run is None:
        return {}
    trained_on = run.environment.get("dataset")  # recorded by training beside the run's environment
    if isinstance(trained_on, dict) and trained_on.get("fingerprint"):
        return {"fingerprint": trained_on["fingerprint"], "fingerprint_source": "recorded by the run"}
    if run.tags.get(FINGERPRINT_TAG):
        return {"fingerprint": run.tags[FINGERPRINT_TAG], "fingerprint_source": "recorded by the run"}
    from neuralforge_desktop.core.training.runner import runs_root

    events = runs_root(Path(store.path)) / run.id / "events.jsonl"
    with contextlib.suppress(OSError), events.open(encoding="utf-8") as lines:
        for line in lines:
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if isinstance(event, dict) and event.get("event") == "started" and event.get("dataset"):
                    data = event["dataset"]
                    return {"fingerprint": data.get("fingerprint"), "train": data.get("train"),
                            "val": data.get("val"), "fingerprint_source": "recorded by the run"}
    return {}


def metric_facts(metrics: dict[str, float], val_count: int | None) -> list[dict[str, Any]]:
    """The registered metrics; accuracies with a Wilson score interval over the validation examples (an
    accuracy is a proportion of n independent right/wrong answers; Wilson keeps the interval inside [0, 1]
    and stays honest at small n, where the normal approximation does not)."""
    from scipy.stats import binomtest

    rows = []
    for name, value in sorted(metrics.items()):
        if not name.startswith(_MEASURED):  # the learning rate, epoch times … are not evaluations
            continue
        row: dict[str, Any] = {"name": name, "value": value}
        if name.split("/")[-1] in ("acc", "accuracy") and val_count and 0 <= value <= 1 and name.startswith("val"):
            interval = binomtest(round(value * val_count), val_count).proportion_ci(CONFIDENCE, method="wilson")
            row.update({"low": float(interval.low), "high": float(interval.high), "n": int(val_count),
                        "interval": f"Wilson score {CONFIDENCE:.0%}"})
        rows.append(row)
    return rows


def _artifact_json(store: Any, run_id: str, name: str) -> Any | None:
    try:
        return json.loads(store.artifact_path(run_id, name).read_text(encoding="utf-8"))
    except (KeyError, UserError, OSError, ValueError):
        return None


def export_facts(version: Any) -> dict[str, Any]:
    """The version's files and what its graph can be exported to (the exporters' support tables)."""
    from neuralforge_desktop.core.exporters.support import graph_support
    from neuralforge_desktop.core.ir.serialize import load_graph

    facts: dict[str, Any] = {"files": [{"name": f.name, "sha256": f.sha256, "size": f.size} for f in version.files]}
    report = next((f for f in version.files if f.kind == "export-report"), None)
    if report is not None:
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(report.path.read_text(encoding="utf-8"))
            facts["onnx"] = {"verified": data.get("verified"), "verification": data.get("verification"),
                             "opset": data.get("opset"), "source": data.get("source")}
    try:
        support = graph_support(load_graph(version.graph_path))
    except (UserError, OSError, ValueError) as exc:
        facts["targets_error"] = str(exc)
        return facts
    facts["targets"] = {
        f"{fmt} {precision}": "supported" if not refused else
        f"{len(refused)} node(s) refused: " + ", ".join(n for n, _, _ in refused)
        for (fmt, precision), refused in sorted(support.items())}
    return facts


def lineage_facts(store: Any, run: Any | None, version: Any) -> dict[str, Any]:
    """The run, its parent runs (tag ``parent_run``, followed back), the graph's and the model file's hashes."""
    facts: dict[str, Any] = {"run": version.run_id, "registry_version": version.ref, "parents": []}
    if run is None:
        facts["error"] = f"run {version.run_id} is no longer in the store"
        return facts
    facts.update({"run_name": run.name, "experiment": run.experiment, "graph_sha256": run.graph_sha256,
                  "checksum": run.checksum})
    packages = run.environment.get("packages") or {}
    software = {"neuralforge": packages.get("neuralforge-desktop") if isinstance(packages, dict) else None,
                "torch": run.environment.get("torch"), "python": run.environment.get("python")}
    facts["software"] = {k: v for k, v in software.items() if v}
    if isinstance(run.environment.get("source"), dict):  # the graph file and its folder's git commit
        facts["source"] = run.environment["source"]
    seen = {run.id}
    parent_id = run.tags.get("parent_run")
    while parent_id and parent_id not in seen:
        seen.add(parent_id)
        parent = _run(store, parent_id)
        how = run.tags.get("optimization") or run.tags.get("seed_of") and "seed variant" or "derived"
        facts["parents"].append({"run": parent_id, "how": how, "found": parent is not None})
        if parent is None:
            break
        run, parent_id = parent, parent.tags.get("parent_run")
    onnx = version.file("model.onnx")
    if onnx is not None:
        facts["onnx_sha256"] = onnx.sha256
    return facts
