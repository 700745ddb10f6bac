"""``neuralforge fix RUN --kind KIND``: the fixed graph is written, the retrain command printed with the changed
settings and the lineage options; ``--retrain`` trains it as a run tagged with its parent."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.ir.serialize import load_graph
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.runner import prepare_run

from .test_fixes import softmax_classifier

SOFTMAX = {"kind": "softmax_before_cross_entropy", "severity": "error", "title": "Softmax before cross-entropy",
           "explanation": "CrossEntropyLoss applies log-softmax itself.", "evidence": {"layer": "softmax"},
           "fix": {"kind": "graph", "action": "remove_node", "label": "Remove softmax", "args": {"node": "softmax"}}}
IMBALANCE = {"kind": "class_imbalance", "severity": "warning", "title": "Classes imbalanced",
             "explanation": "One class has 12 times the examples of another.", "evidence": {},
             "fix": {"kind": "config", "action": "set_config", "label": "Weigh the classes",
                     "args": {"class_weights": True, "lr": 0.05, "grad_clip": 1.0}}}
LEAK = {"kind": "data_leakage", "severity": "error", "title": "Validation examples in training",
        "explanation": "Remove the duplicates from the validation split.", "evidence": {}, "fix": None}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def parent(tmp_path: Path) -> tuple[str, Path, Path]:
    """A recorded run of the softmax classifier (not trained: fixing reads only its graph and settings) and a
    Coach report of its findings."""
    store = tmp_path / "store.db"
    config = TrainConfig(dataset="digits", epochs=1, batch_size=32, limit=200, seed=3)
    run_id, _ = prepare_run(softmax_classifier(), config, Store(store), "coach", "first")
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"findings": [SOFTMAX, IMBALANCE, LEAK], "not_applied": []}), encoding="utf-8")
    return run_id, store, report


def test_fix_writes_the_fixed_graph_and_prints_the_linked_train_command(capsys, tmp_path, parent) -> None:
    run_id, store, report = parent
    fixed = tmp_path / "fixed.nfg"
    status, out, err = run(capsys, "fix", run_id, "--kind", "softmax_before_cross_entropy", "--finding-json",
                           str(report), "-o", str(fixed), "--store", str(store))
    assert status == 0, err
    assert "softmax" not in load_graph(fixed).nodes
    command = shlex.split(out.splitlines()[-1])
    assert command[:3] == ["neuralforge", "train", str(fixed)]
    for option in (["--dataset", "digits"], ["--epochs", "1"], ["--batch-size", "32"], ["--limit", "200"],
                   ["--seed", "3"], ["--parent", run_id], ["--coach-fix", "remove_node"],
                   ["--coach-finding", "softmax_before_cross_entropy"]):
        assert shlex.join(option) in shlex.join(command), option


def test_a_settings_fix_shows_up_in_the_train_command(capsys, tmp_path, parent) -> None:
    run_id, store, report = parent
    status, out, err = run(capsys, "fix", run_id, "--kind", "class_imbalance", "--finding-json", str(report),
                           "-o", str(tmp_path / "same.nfg"), "--store", str(store), "--json")
    assert status == 0, err
    data = json.loads(out)
    assert data["settings"] == {"class_weights": True, "lr": 0.05, "grad_clip": 1.0}
    assert "--class-weights" in data["train"] and data["train"][data["train"].index("--lr") + 1] == "0.05"
    assert data["train"][data["train"].index("--grad-clip") + 1] == "1"
    assert "softmax" in load_graph(tmp_path / "same.nfg").nodes  # a settings fix leaves the graph as it was


def test_a_finding_without_a_fix_or_of_another_kind_is_refused(capsys, parent) -> None:
    run_id, store, report = parent
    status, _, err = run(capsys, "fix", run_id, "--kind", "data_leakage", "--finding-json", str(report),
                         "--store", str(store))
    assert status != 0 and "no one-click fix" in err and "duplicates" in err
    status, _, err = run(capsys, "fix", run_id, "--kind", "dead_relu", "--finding-json", str(report),
                         "--store", str(store))
    assert status != 0 and "no dead_relu finding" in err and "class_imbalance" in err


def test_findings_saved_with_the_run_are_read(capsys, tmp_path, parent) -> None:
    run_id, store, _ = parent
    (tmp_path / "runs" / run_id / "coach.json").write_text(json.dumps({"findings": [SOFTMAX]}), encoding="utf-8")
    status, out, err = run(capsys, "fix", run_id, "--kind", "softmax_before_cross_entropy", "-o",
                           str(tmp_path / "f.nfg"), "--store", str(store))
    assert status == 0, err
    assert "Softmax before cross-entropy: removed softmax" in out and "wrote" in out


def test_coach_fix_needs_a_parent(capsys, tmp_path, parent) -> None:
    _, store, _ = parent
    status, _, err = run(capsys, "train", str(tmp_path / "runs" / parent[0] / "graph.nfg"), "--dataset", "digits",
                         "--coach-fix", "remove_node", "--store", str(store))
    assert status != 0 and "--parent" in err


@pytest.mark.slow
def test_retrain_trains_the_fixed_graph_as_a_run_linked_to_its_parent(capsys, tmp_path, parent) -> None:
    run_id, store, report = parent
    status, out, err = run(capsys, "fix", run_id, "--kind", "softmax_before_cross_entropy", "--finding-json",
                           str(report), "-o", str(tmp_path / "fixed.nfg"), "--store", str(store), "--retrain")
    assert status == 0, err
    child = next(r for r in Store(store).list_runs() if r.id != run_id)
    assert child.status == "finished"
    assert child.tags["parent_run"] == run_id and child.tags["coach_fix"] == "remove_node"
    assert child.tags["coach_finding"] == "softmax_before_cross_entropy"
    assert "softmax" not in load_graph(tmp_path / "runs" / child.id / "graph.nfg").nodes
    status, out, _ = run(capsys, "runs", "show", child.id, "--store", str(store))
    assert f"retrain of run {run_id} after the Coach fix remove_node (softmax_before_cross_entropy)" in out
