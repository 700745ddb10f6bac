"""The events NeuralForge records as it works: a real tiny training run, its export, registry changes, an
optimisation and a saved graph each leave their entry, and the chain they form verifies."""

from __future__ import annotations

import re

import pytest

from neuralforge_desktop.core import registry, zoo
from neuralforge_desktop.core.audit import entries, verify
from neuralforge_desktop.core.store.sqlite_store import Store


def kinds(store: Store, prefix: str | None = None) -> list[tuple[str, str]]:
    return [(e.kind, e.subject) for e in entries(store, kind=prefix)]


def test_training_records_run_created_dataset_read_and_run_finished(registry_store, trained):
    run = trained["run"]
    found = entries(registry_store)
    assert ("run.created", run) in [(e.kind, e.subject) for e in found]
    read = [e for e in found if e.kind == "dataset.read" and e.details_value()["run_id"] == run]
    assert len(read) == 1 and read[0].subject == "mnist-10k"
    assert re.fullmatch(r"[0-9a-f]{64}", read[0].details_value()["fingerprint"])
    finished = {e.subject: e.details_value()["status"] for e in found if e.kind == "run.finished"}
    assert finished == {run: "finished", trained["untrained"]: "failed"}
    assert verify(registry_store).intact


def test_registry_changes_and_policy_evaluations_are_recorded(registry_store, trained):
    registry.register(registry_store, trained["run"], "mnist")
    registry.approve(registry_store, "mnist@1", "looks right")
    policy = registry.parse_policy({"checks": {"size": {"max_mb": 50}}})
    registry.promote(registry_store, "mnist@1", "production", policy)
    found = [(e.kind, e.subject, e.details_value()) for e in entries(registry_store, kind="registry.")]
    assert found[0][:2] == ("registry.registered", "mnist@1") and found[0][2]["run_id"] == trained["run"]
    assert found[1] == ("registry.approved", "mnist@1", {"comment": "looks right"})
    assert found[2][:2] == ("registry.transition", "mnist@1") and found[2][2]["to"] == "production"
    gates = entries(registry_store, kind="policy.evaluated")
    assert [(g.subject, g.details_value()["passed"]) for g in gates] == [("mnist@1", True)]
    assert verify(registry_store).intact


def test_an_export_of_a_run_is_recorded(registry_store, trained, tmp_path):
    from neuralforge_desktop.core.exporters.pipeline import ExportRequest, export_graph
    from neuralforge_desktop.core.ir.serialize import load_graph

    graph = load_graph(registry_store.artifact_path(trained["run"], "graph.nfg"))
    output = tmp_path / "model.onnx"
    export_graph(ExportRequest(graph, "onnx", output, run_id=trained["run"], store=registry_store.path,
                               latency_batches=()))
    (exported,) = entries(registry_store, kind="model.exported")
    assert exported.subject == str(output)
    details = exported.details_value()
    assert details["format"] == "onnx" and details["source"]["run_id"] == trained["run"]
    assert verify(registry_store).intact


@pytest.mark.slow
def test_an_optimisation_run_is_recorded(quantised):
    with Store(quantised["store"]) as store:
        (optimised,) = entries(store, kind="optimize.finished")
        assert optimised.subject == quantised["quantised"]
        assert optimised.details_value()["parent_run"] == quantised["run"]
        assert ("run.created", quantised["quantised"]) in kinds(store, "run.")
        assert verify(store).intact


def test_saving_a_graph_records_its_hash_in_the_default_store(tmp_path):
    import hashlib

    from neuralforge_desktop.core.edit.document import Document
    from neuralforge_desktop.core.store.sqlite_store import default_store_path

    path = tmp_path / "cnn.nfg"
    Document(zoo.build("mnist-cnn")).save(path)
    with Store(default_store_path()) as store:
        (saved,) = entries(store, kind="graph.saved")
    assert saved.subject == str(path.resolve())
    assert saved.details_value()["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
