"""The model registry on a real store with a real trained run: registration with a verified ONNX export,
stages, gates, approvals, rollback, and nothing half-registered when the export fails."""

from __future__ import annotations

import getpass
import sqlite3

import numpy as np
import onnxruntime as ort
import pytest

from neuralforge_desktop.core import registry, zoo
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.serialize import load_graph
from neuralforge_desktop.core.registry import PolicyError, RegistryError, parse_policy
from tests.registry.conftest import stored_files

CHEAP_PASSING = {"checks": {"size": {"max_mb": 50}, "targets": ["tflite"]}}


def _rows(store, table: str) -> int:
    with sqlite3.connect(store.path) as conn:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_a_registered_run_is_a_version_with_a_verified_onnx_file_graph_and_metrics(store, trained):
    version = registry.register(store, trained["run"], "mnist", "digits classifier")
    assert (version.name, version.version, version.stage, version.run_id) == ("mnist", 1, "none", trained["run"])
    assert version.input_shape == (1, 28, 28)
    assert version.metrics["val/acc"] == pytest.approx(trained["val_acc"]) and version.metrics["best_epoch"] == 1
    assert {f.name: f.kind for f in version.files} == {
        "model.onnx": "onnx", "graph.nfg": "graph", "export-report.json": "export-report"}
    assert version.onnx_path.parent.parent == trained["folder"] / "artifacts"
    assert load_graph(version.graph_path).name == zoo.build("mnist-cnn").name
    session = ort.InferenceSession(str(version.onnx_path), providers=["CPUExecutionProvider"])
    (scores,) = session.run(None, {"image": np.zeros((3, 1, 28, 28), np.float32)})
    assert scores.shape == (3, 10)
    (registered,) = version.transitions
    assert (registered.from_stage, registered.to_stage, registered.who) == (None, "none", getpass.getuser())

    second = registry.register(store, trained["run"], "mnist")
    assert second.version == 2
    (model,) = registry.list_models(store)
    assert (model.name, model.description, [v.version for v in model.versions]) == ("mnist", "digits classifier",
                                                                                     [1, 2])
    assert registry.resolve(store, "mnist").version == 2
    assert registry.resolve(store, "mnist@1").onnx_path == version.onnx_path
    assert registry.show(store, "mnist").latest == second
    with pytest.raises(RegistryError, match=r"model 'mnist' has no version in production \(its versions: 1, 2\)"):
        registry.resolve(store, "mnist@production")
    with pytest.raises(RegistryError, match="no registered model 'nope' \\(registered: mnist\\)"):
        registry.resolve(store, "nope@1")
    with pytest.raises(RegistryError, match="after '@' give a version number"):
        registry.resolve(store, "mnist@latest")


def test_a_failed_export_leaves_no_row_and_no_file(store, trained):
    before = stored_files(trained["folder"])
    with pytest.raises(UserError, match="has no checkpoint"):
        registry.register(store, trained["untrained"], "mnist")
    assert _rows(store, "registered_models") == _rows(store, "model_versions") == 0
    assert _rows(store, "model_version_files") == _rows(store, "model_transitions") == 0
    assert stored_files(trained["folder"]) == before
    assert not list(trained["folder"].glob(".register-*"))  # the export's temporary folder is gone too


def test_gates_re_evaluate_the_checkpoint_on_the_validation_split(store, trained):
    registry.register(store, trained["run"], "mnist")
    policy = parse_policy({"checks": {
        "metrics": {"acc": {"min": 0.0}, "val/loss": {"max": 100}},
        "export_parity": {"max_abs_diff": 1e-4, "samples": 16},
        "latency": {"max_ms": 10_000, "runs": 5},
        "size": {"max_mb": 50}, "targets": ["tflite", "coreml"]}})
    report = registry.evaluate_gates(store, "mnist@1", policy)
    assert report.passed, [c.detail for c in report.failed]
    by_check = {c.check: c for c in report.checks}
    assert set(by_check) == {"metrics.acc", "metrics.val/loss", "export_parity", "latency", "size", "targets.tflite",
                             "targets.coreml"}
    # The same checkpoint on the same split gives what training measured at its last (and best) epoch.
    assert by_check["metrics.acc"].measured["value"] == pytest.approx(trained["val_acc"], abs=1e-6)
    assert "26 validation examples of mnist-10k" in by_check["metrics.acc"].detail
    assert by_check["export_parity"].measured["max_abs_diff"] <= 1e-4
    assert by_check["latency"].measured["median_ms"] > 0 and by_check["latency"].measured["runs"] == 5
    assert registry.resolve(store, "mnist@1").gates[-1].passed


def test_a_promotion_whose_gates_fail_lists_every_failed_check_and_changes_nothing(store, trained):
    registry.register(store, trained["run"], "mnist")
    policy = parse_policy({"checks": {"metrics": {"acc": {"min": 1.01}}, "size": {"max_mb": 0.01},
                                      "targets": ["tflite"], "documents": ["model_card"]}})
    with pytest.raises(RegistryError) as refused:
        registry.promote(store, "mnist@1", "production", policy)
    message = str(refused.value)
    assert "mnist@1 cannot go to production; 3 failed" in message
    assert "metrics.acc: acc = " in message and "< min 1.01" in message
    assert "size: ONNX file 1.6" in message and "> budget 0.01 MB" in message
    assert "documents.model_card: required document 'model_card' is missing" in message
    assert "targets.tflite" not in message
    version = registry.resolve(store, "mnist@1")
    assert version.stage == "none" and len(version.transitions) == 1
    assert not version.gates[-1].passed  # the evaluation is recorded even when it fails


def test_production_without_a_policy_relies_on_the_latest_recorded_gate(store, trained):
    registry.register(store, trained["run"], "mnist")
    with pytest.raises(RegistryError, match="no gate has been evaluated for mnist@1"):
        registry.promote(store, "mnist@1", "production")
    registry.evaluate_gates(store, "mnist@1", parse_policy({"checks": {"size": {"max_mb": 0.01}}}))
    with pytest.raises(RegistryError, match="size: ONNX file"):
        registry.promote(store, "mnist@1", "production")
    registry.evaluate_gates(store, "mnist@1", parse_policy(CHEAP_PASSING))
    promoted = registry.promote(store, "mnist@1", "production", comment="first release")
    assert promoted.stage == "production"
    last = promoted.transitions[-1]
    assert (last.from_stage, last.to_stage, last.who, last.comment) == ("none", "production", getpass.getuser(),
                                                                        "first release")


def test_a_policy_requiring_approval_refuses_until_the_version_is_approved(store, trained):
    registry.register(store, trained["run"], "mnist")
    policy = parse_policy({**CHEAP_PASSING, "require_approval": True})
    with pytest.raises(RegistryError, match=r"1 failed:\n  - approval: the policy requires an approval of mnist@1"):
        registry.promote(store, "mnist@1", "production", policy)
    approved = registry.approve(store, "mnist@1", "checked the confusion matrix")
    assert [(a.who, a.comment) for a in approved.approvals] == [(getpass.getuser(), "checked the confusion matrix")]
    assert registry.promote(store, "mnist@1", "production", policy).stage == "production"
    registry.register(store, trained["run"], "mnist")
    registry.evaluate_gates(store, "mnist@2", policy)  # recorded with its approval requirement
    with pytest.raises(RegistryError, match="requires an approval of mnist@2"):
        registry.promote(store, "mnist@2", "production")


def test_one_production_version_at_a_time_and_rollback_restores_the_previous_one(store, trained):
    for _ in range(2):
        registry.register(store, trained["run"], "mnist")
    with pytest.raises(RegistryError, match="model 'mnist' has no version in production, so there is nothing"):
        registry.rollback(store, "mnist")
    assert registry.promote(store, "mnist@2", "staging").stage == "staging"
    registry.promote(store, "mnist@1", "production", parse_policy(CHEAP_PASSING))
    with pytest.raises(RegistryError, match="no previous production version to roll back to: mnist@1 is the first"):
        registry.rollback(store, "mnist")
    registry.promote(store, "mnist@2", "production", parse_policy(CHEAP_PASSING))
    assert [(v.version, v.stage) for v in registry.show(store, "mnist").versions] == [(1, "archived"),
                                                                                      (2, "production")]
    assert registry.resolve(store, "mnist@1").transitions[-1].comment == "replaced by mnist@2"

    restored = registry.rollback(store, "mnist")
    assert (restored.version, restored.stage) == (1, "production")
    assert registry.resolve(store, "mnist@production").version == 1
    current = registry.resolve(store, "mnist@2")
    assert current.stage == "archived" and current.transitions[-1].comment == "rolled back to mnist@1"
    assert [(t.from_stage, t.to_stage) for t in restored.transitions] == [
        (None, "none"), ("none", "production"), ("production", "archived"), ("archived", "production")]
    # the schema itself allows one production version per model
    with pytest.raises(sqlite3.IntegrityError), sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE model_versions SET stage = 'production'")


def test_documents_are_looked_up_on_the_version(store, trained, tmp_path):
    registry.register(store, trained["run"], "mnist")
    policy = parse_policy({"checks": {"documents": ["model_card"]}})
    (missing,) = registry.evaluate_gates(store, "mnist@1", policy).checks
    assert not missing.passed and "'model_card' is missing" in missing.detail
    card = tmp_path / "card.md"
    card.write_text("# MNIST CNN\nIntended use: digits.\n", encoding="utf-8")
    attached = registry.attach_document(store, "mnist@1", "model_card", card)
    assert attached.file("documents/model_card.md") is not None
    (found,) = registry.evaluate_gates(store, "mnist@1", policy).checks
    assert found.passed and found.detail == "found documents/model_card.md"


def test_version_files_outlive_the_run_and_pruning(store, trained):
    version = registry.register(store, trained["run"], "mnist")
    store.delete_run(trained["run"])
    store.prune_artifacts(grace_seconds=0)
    assert version.onnx_path.is_file() and version.graph_path.is_file()
    assert registry.resolve(store, "mnist@1").onnx_path == version.onnx_path


@pytest.mark.parametrize(("policy", "named"), [
    ({"checks": {"acuracy": {}}}, "unknown check 'acuracy' (known checks: metrics, export_parity"),
    ({"checks": {"metrics": {"acc": {"minimum": 0.9}}}}, "checks.metrics.acc: unknown bound 'minimum'"),
    ({"checks": {"size": {"max_mb": 5, "limit": 3}}}, "checks.size: unknown key 'limit'"),
    ({"checks": {"targets": ["tflight"]}}, "checks.targets: unknown target 'tflight'"),
    ({"require_aproval": True}, "unknown key 'require_aproval'"),
    ({"checks": {"latency": {"runs": 5}}}, "checks.latency: needs max_ms"),
    ({"require_approval": "yes"}, "require_approval must be true or false"),
])
def test_a_policy_with_an_unknown_or_bad_entry_is_refused_naming_it(policy, named):
    with pytest.raises(PolicyError) as refused:
        parse_policy(policy, "p.yaml")
    assert named in str(refused.value) and refused.value.status == 2


def test_the_example_policy_is_valid():
    from pathlib import Path

    policy = registry.load_policy(Path(__file__).parents[2] / "docs" / "examples" / "policy.yaml")
    assert set(policy.checks) == {"metrics", "export_parity", "size", "latency", "targets"}
    assert policy.checks["metrics"]["acc"] == {"min": 0.9}
