"""Registering a run made by `neuralforge optimize` (static int8 quantisation): the version deploys the optimised
ONNX file itself, its metrics are the run's logged ones, and its gates measure that file in onnxruntime, with
export parity as top-1 agreement with the parent's float model."""

from __future__ import annotations

import hashlib
import json

import onnx
import pytest

from neuralforge_desktop.core import registry
from neuralforge_desktop.core.optimize.measure import accuracy, runtime_session, validation_data
from neuralforge_desktop.core.registry import PolicyError, parse_policy
from neuralforge_desktop.core.store.sqlite_store import Store

MEASURED = {"checks": {"metrics": {"acc": {"min": 0.05}}, "export_parity": {"min_top1_agreement": 0.5,
                                                                            "samples": 32}}}


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_optimised_run_registers_its_optimised_onnx_file(quantised):
    with Store(quantised["store"]) as store:
        run = store.get_run(quantised["quantised"])
        optimised_file = store.artifact_path(run.id, run.tags["optimized_model"])
        version = registry.register(store, run.id, "mnist")
        logged = store.latest_metrics(run.id)["val/acc"].value
        report = json.loads(store.artifact_files.path_for(version.file("export-report.json").sha256).read_text())
    assert version.ref == "mnist@1" and version.run_id == run.id
    assert _sha(version.onnx_path) == _sha(optimised_file)  # the quantised model, not a fresh float export
    ops = {node.op_type for node in onnx.load(str(version.onnx_path)).graph.node}
    assert "QuantizeLinear" in ops or any(op.startswith("QLinear") for op in ops)
    assert version.input_shape == (1, 28, 28)
    assert version.metrics["val/acc"] == pytest.approx(logged)
    assert report["optimization"] == "quantize-static-int8"
    assert report["parent_run"] == quantised["run"]


def test_gates_of_an_optimised_version_run_its_onnx_file_against_the_parent(quantised):
    with Store(quantised["store"]) as store:
        run = store.get_run(quantised["quantised"])
        version = registry.register(store, run.id, "mnist")
        gate = registry.evaluate_gates(store, version.ref, parse_policy(MEASURED))
        parent_folder = quantised["folder"] / "runs" / quantised["run"]
    checks = {c.check: c for c in gate.checks}
    assert gate.passed, [c.detail for c in gate.checks]
    # Re-evaluated: the registered file in onnxruntime on the parent run's validation split, measured here too.
    from neuralforge_desktop.core.ir.serialize import load_graph

    data = validation_data(load_graph(parent_folder / "graph.nfg"),
                           json.loads((parent_folder / "config.json").read_text()))
    expected = accuracy(runtime_session(version.onnx_path, "onnxruntime"), data)
    assert checks["metrics.acc"].measured["value"] == pytest.approx(expected)
    assert "onnxruntime" in checks["metrics.acc"].detail
    parity = checks["export_parity"]
    assert "top-1 agreement" in parity.detail and "policy threshold" in parity.detail
    assert quantised["run"] in parity.detail
    assert 0.5 <= parity.measured["top1_agreement"] <= 1.0
    assert parity.measured["max_abs_diff"] > 0  # quantised outputs differ from the float ones; not what is bounded


def test_an_optimised_version_below_the_agreement_threshold_fails_naming_it(quantised):
    strict = {"checks": {"export_parity": {"min_top1_agreement": 1.0, "samples": 256}}}
    with Store(quantised["store"]) as store:
        version = registry.register(store, quantised["quantised"], "mnist")
        gate = registry.evaluate_gates(store, version.ref, parse_policy(strict))
    (parity,) = gate.checks
    assert parity.passed == (parity.measured["top1_agreement"] >= 1.0)
    assert ("≥" if parity.passed else "<") + " policy threshold 100.00%" in parity.detail


def test_a_loss_bound_on_an_optimised_version_fails_saying_only_acc_is_measured(quantised):
    with Store(quantised["store"]) as store:
        version = registry.register(store, quantised["quantised"], "mnist")
        gate = registry.evaluate_gates(store, version.ref, parse_policy({"checks": {"metrics": {"loss": {"max": 9}}}}))
    (loss,) = gate.checks
    assert not loss.passed and "measured: acc" in loss.detail


def test_an_agreement_threshold_above_one_is_refused():
    with pytest.raises(PolicyError, match="min_top1_agreement"):
        parse_policy({"checks": {"export_parity": {"min_top1_agreement": 1.5}}})
