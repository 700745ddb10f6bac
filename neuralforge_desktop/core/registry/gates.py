"""Evaluating a policy's gates for one model version, and recording the outcome.

Every check runs, even after one has failed, so that a report lists every failure at once. A check that
cannot measure (the run's dataset is gone, its checkpoint was deleted) fails and says why; only a request
that cannot start at all (an unknown model, an unreadable policy) raises.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.registry import derived
from neuralforge_desktop.core.registry.entities import ModelVersion, parse_ref
from neuralforge_desktop.core.registry.policy import Policy
from neuralforge_desktop.core.registry.tables import read_version, version_id, who

Progress = Callable[[float, str], None]
MB = 2**20


@dataclass
class CheckResult:
    check: str  # "metrics.acc", "export_parity", "size", "latency", "targets.tflite", "documents.model_card",
    # "model_card"
    passed: bool
    detail: str
    measured: dict[str, Any] = field(default_factory=dict)


@dataclass
class GateReport:
    ref: str
    run_id: str
    policy: Policy
    checks: list[CheckResult]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed]

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "run_id": self.run_id, "passed": self.passed, "policy": self.policy.to_json(),
                "checks": [asdict(c) for c in self.checks], "failed": [c.check for c in self.failed]}


def evaluate_gates(store: Any, ref: str, policy: Policy, *, progress: Progress | None = None,
                   record: bool = True) -> GateReport:
    """Run every check of ``policy`` on the version ``ref`` names; recorded on the version unless ``record`` is
    False (a later promotion to production relies on the latest recorded result)."""
    say: Progress = progress or (lambda fraction, text: None)
    with store.database.read() as conn:
        vid = version_id(conn, parse_ref(ref))
        version = read_version(conn, store.artifact_files, vid)
    checks = policy.checks
    results: list[CheckResult] = []
    if "documents" in checks:
        results += documents_checks(store, version, checks)
    if "model_card" in checks:
        results.append(card_check(store, version, checks))
    if "size" in checks:
        results.append(_size(version, checks["size"]["max_mb"]))
    if "targets" in checks:
        say(0.05, "checking target compatibility")
        results += _targets(version, checks["targets"])
    measured = {"metrics", "export_parity", "latency"} & set(checks)
    if measured:
        results += _measured(store, version, checks, say)
    report = GateReport(version.ref, version.run_id, policy, results)
    if record:
        with store.database.write() as conn:
            conn.execute("INSERT INTO model_gate_results (version_id, passed, policy, checks, who, created) "
                         "VALUES (?, ?, ?, ?, ?, ?)", (vid, int(report.passed), json.dumps(policy.to_json()),
                                                      json.dumps([asdict(c) for c in results]), who(), time.time()))
        from neuralforge_desktop.core.audit import record_event

        record_event(store, "policy.evaluated", version.ref, {
            "passed": report.passed, "policy": policy.to_json(), "failed": [c.check for c in report.failed]})
    say(1.0, "gates passed" if report.passed else f"{len(report.failed)} gate check(s) failed")
    return report


CARD_CHECKS = ("model_card", "documents.model_card")


def card_check(store: Any, version: ModelVersion, checks: dict[str, Any], check: str = "model_card") -> CheckResult:
    """The model card's required fields are written and the card is current (not older than what it shows)."""
    from neuralforge_desktop.core.cards import card_status
    from neuralforge_desktop.core.cards.fields import DEFAULT_REQUIRED

    required = list((checks.get("model_card") or {}).get("required", DEFAULT_REQUIRED))
    status = card_status(store, version.ref, required)
    measured = {"missing": status.missing, "stale": status.stale, "required": required}
    if status.complete:
        return CheckResult(check, True, f"model card complete ({', '.join(required)} written) and current", measured)
    return CheckResult(check, False, "; ".join(status.problems()), measured)


def documents_checks(store: Any, version: ModelVersion, checks: dict[str, Any]) -> list[CheckResult]:
    """The required documents; ``model_card`` is the version's card when it has one (complete and current to
    pass), else a document of that name attached to the version or its run."""
    from neuralforge_desktop.core.cards import get_card

    names = list(checks.get("documents") or ())
    has_card = "model_card" in names and get_card(store, version.ref) is not None
    results = _documents(store, version, [n for n in names if not (has_card and n == "model_card")])
    if has_card:
        if "model_card" in checks:  # the card's completeness is the model_card check's: not reported twice
            found = CheckResult("documents.model_card", True, f"found the model card of {version.ref} "
                                "(its required fields: see the model_card check)")
        else:
            found = card_check(store, version, checks, "documents.model_card")
        results.insert(names.index("model_card"), found)
    return results


def _documents(store: Any, version: ModelVersion, names: list[str]) -> list[CheckResult]:
    have = {f.name.removeprefix("documents/").split(".")[0]: f.name for f in version.files if f.kind == "document"}
    try:
        for artifact in store.list_artifacts(version.run_id):  # a document attached to the run counts too
            have.setdefault(artifact.name.rsplit("/", 1)[-1].split(".")[0], f"run artifact {artifact.name}")
    except UserError:
        pass  # the run is gone; the version's own documents still count
    return [CheckResult(f"documents.{name}", name in have,
                        f"found {have[name]}" if name in have else f"required document {name!r} is missing: "
                        f"attach it to {version.ref}" + (f" or write its card (`neuralforge card {version.ref} "
                                                         "--edit`)" if name == "model_card" else ""))
            for name in names]


def _size(version: ModelVersion, max_mb: float) -> CheckResult:
    try:
        size = version.onnx_path.stat().st_size / MB
    except OSError as exc:
        return CheckResult("size", False, f"the ONNX file cannot be read: {exc.strerror or exc}")
    ok = size <= max_mb
    return CheckResult("size", ok, f"ONNX file {size:.3f} MB {'≤' if ok else '>'} budget {max_mb:g} MB",
                       {"size_mb": round(size, 4), "max_mb": max_mb})


def _targets(version: ModelVersion, targets: list[str]) -> list[CheckResult]:
    from neuralforge_desktop.core.exporters.support import unsupported_nodes
    from neuralforge_desktop.core.ir.serialize import load_graph

    graph = load_graph(version.graph_path)
    results = []
    for target in targets:
        refused = unsupported_nodes(graph, target, "fp32")
        detail = ("every layer can be exported" if not refused else
                  f"{len(refused)} node(s) cannot be exported: " + "; ".join(f"'{n}': {why}" for n, why, _ in refused))
        results.append(CheckResult(f"targets.{target}", not refused, f"{target}: {detail}",
                                   {"refused": [n for n, _, _ in refused]}))
    return results


def _measured(store: Any, version: ModelVersion, checks: dict[str, Any], say: Progress) -> list[CheckResult]:
    from neuralforge_desktop.core.registry import measure

    names = [n for n in ("metrics", "export_parity", "latency") if n in checks]
    say(0.1, "loading the run's checkpoint")
    try:
        parent = derived.parent_of(store, version.run_id)
        # An optimised version has no checkpoint: its parent's float model is the reference, and the data's.
        loaded = measure.load(store, version) if parent is None else derived.load_parent(store, parent)
    except UserError as exc:
        return [CheckResult(n, False, f"could not measure: {exc}") for n in names]
    results: list[CheckResult] = []
    if "metrics" in checks:
        say(0.2, "re-evaluating on the validation split")
        if parent is None:
            results += _metrics(loaded, checks["metrics"])
        else:
            results += _metrics(loaded, checks["metrics"], lambda: derived.runtime_metrics(loaded, version.onnx_path))
    if "export_parity" in checks:
        say(0.6, "comparing onnxruntime with torch")
        if parent is None:
            results.append(_parity(loaded, version, checks["export_parity"]))
        else:
            results.append(_agreement(loaded, version, parent, checks["export_parity"]))
    if "latency" in checks:
        say(0.8, "timing onnxruntime")
        results.append(_latency(loaded, version, checks["latency"]))
    return results


def _metrics(loaded: Any, bounds: dict[str, dict[str, float]],
             evaluate: Callable[[], tuple[dict[str, float], str]] | None = None) -> list[CheckResult]:
    from neuralforge_desktop.core.registry import measure

    try:
        metrics, where = evaluate() if evaluate is not None else measure.validation_metrics(loaded)
    except UserError as exc:
        return [CheckResult(f"metrics.{name}", False, f"could not evaluate: {exc}") for name in bounds]
    results = []
    for name, limits in bounds.items():
        value = metrics.get(name.removeprefix("val/"))
        check = f"metrics.{name}"
        if value is None or not math.isfinite(value):
            results.append(CheckResult(check, False, f"{name} was not measured on {where} (measured: "
                                       f"{', '.join(sorted(metrics)) or 'nothing'})"))
            continue
        broken = []
        if "min" in limits and value < limits["min"]:
            broken.append(f"{value:.4g} < min {limits['min']:g}")
        if "max" in limits and value > limits["max"]:
            broken.append(f"{value:.4g} > max {limits['max']:g}")
        wanted = " and ".join(f"{k} {v:g}" for k, v in limits.items())
        detail = f"{name} = {value:.4g} on {where}: " + ("; ".join(broken) if broken else f"within {wanted}")
        results.append(CheckResult(check, not broken, detail, {"value": value, **limits}))
    return results


def _parity(loaded: Any, version: ModelVersion, settings: dict[str, Any]) -> CheckResult:
    from neuralforge_desktop.core.registry import measure

    try:
        found = measure.parity(loaded, version.onnx_path, int(settings["samples"]))
    except UserError as exc:
        return CheckResult("export_parity", False, f"could not compare: {exc}")
    limit = float(settings["max_abs_diff"])
    ok = found["max_abs_diff"] <= limit
    detail = (f"onnxruntime vs torch on {found['inputs']}: max |Δ| {found['max_abs_diff']:.2e} "
              f"{'≤' if ok else '>'} {limit:.0e}")
    return CheckResult("export_parity", ok, detail, {**found, "tolerance": limit})


def _agreement(parent: Any, version: ModelVersion, parent_run: str, settings: dict[str, Any]) -> CheckResult:
    """An optimised version's parity: the share of validation examples on which its ONNX file's top class is the
    parent's float model's (its outputs differ from the float ones by design, so max |Δ| is not the measure)."""
    from neuralforge_desktop.core.registry import measure

    try:
        found = measure.parity(parent, version.onnx_path, int(settings["samples"]))
    except UserError as exc:
        return CheckResult("export_parity", False, f"could not compare: {exc}")
    limit = float(settings["min_top1_agreement"])
    agreement = found["top1_agreement"]
    if agreement is None:
        return CheckResult("export_parity", False, "the optimised model's first output is not a class score, so "
                           f"its top-1 agreement with parent run {parent_run}'s float model cannot be measured",
                           {**found, "min_top1_agreement": limit})
    ok = agreement >= limit
    detail = (f"optimised ONNX file in onnxruntime vs parent run {parent_run}'s float model in torch on "
              f"{found['inputs']}: top-1 agreement {agreement:.2%} {'≥' if ok else '<'} policy threshold "
              f"{limit:.2%} (max |Δ| {found['max_abs_diff']:.2e}, not bounded for an optimised version)")
    return CheckResult("export_parity", ok, detail, {**found, "min_top1_agreement": limit})


def _latency(loaded: Any, version: ModelVersion, settings: dict[str, Any]) -> CheckResult:
    from neuralforge_desktop.core.registry import measure

    try:
        found = measure.latency(loaded, version.onnx_path, int(settings["runs"]), int(settings["batch"]))
    except UserError as exc:
        return CheckResult("latency", False, f"could not time: {exc}")
    limit = float(settings["max_ms"])
    ok = found["median_ms"] <= limit
    detail = (f"onnxruntime on this CPU, batch {found['batch']}: median {found['median_ms']:.3f} ms of "
              f"{found['runs']} runs {'≤' if ok else '>'} budget {limit:g} ms")
    return CheckResult("latency", ok, detail, {**found, "max_ms": limit})
