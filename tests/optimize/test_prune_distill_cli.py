"""``neuralforge optimize`` with the pruning and distillation methods, as a user runs them: the same
before/after table as quantisation, a new run linked to the parent, and one-line refusals."""

from __future__ import annotations

import json

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.ir.serialize import save_graph
from neuralforge_desktop.core.store.sqlite_store import Store

from .test_distill import mnist_mlp


def _table(out: str, method: str, run: str) -> dict[str, list[str]]:
    """The table's rows by their label (the cells after it)."""
    lines = out.splitlines()
    assert lines[0].startswith(f"{method}: run {run} → new run ")
    assert lines[1].split() == ["before", "after", "change"]
    rows = {}
    for line in lines[2:7]:
        label, _, cells = line.strip().partition("  ")
        rows[label] = cells.split()
    return rows


def test_prune_channels_and_magnitude_print_the_before_after_table(trained, capsys):
    store = str(trained["store"])
    assert main(["optimize", trained["run"], "--method", "prune-channels", "--sparsity", "0.5",
                 "--finetune-epochs", "1", "--latency-runs", "3", "--store", store]) == 0
    captured = capsys.readouterr()
    assert f"optimising run {trained['run']} with prune-channels" in captured.err
    rows = _table(captured.out, "prune-channels", trained["run"])
    assert rows["parameters"][:4] == ["421.64", "k", "105.87", "k"]
    assert rows["MACs per example"][-1].startswith("×0.2") and rows["size on disk"][-1].startswith("×0.2")
    assert "note: channels: conv1 32→16, conv2 64→32, fc1 128→64" in captured.out

    assert main(["optimize", trained["run"], "--method", "prune-magnitude", "--sparsity", "0.5",
                 "--latency-runs", "3", "--json", "--store", store]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["method"] == "prune-magnitude" and report["change"]["macs_ratio"] == 1
    assert report["settings"]["sparsity"] >= 0.498
    with Store(trained["store"]) as opened:
        assert opened.get_run(report["run_id"]).tags["parent_run"] == trained["run"]
    assert main(["runs", "show", report["run_id"], "--store", store]) == 0
    assert f"  prune-magnitude of run {trained['run']}\n" in capsys.readouterr().out


def test_distill_trains_the_student_and_prints_the_table(trained, tmp_path, capsys):
    student = tmp_path / "student.nfg"
    save_graph(mnist_mlp(), student)
    assert main(["optimize", trained["run"], "--method", "distill", "--student", str(student), "--alpha", "0.7",
                 "--latency-runs", "3", "--store", str(trained["store"])]) == 0
    out = capsys.readouterr().out
    rows = _table(out, "distill", trained["run"])
    assert rows["parameters"][:4] == ["421.64", "k", "25.45", "k"]
    assert "(1 − 0.7)·CE + 0.7·T²·KL at T = 4" in out


def test_pruning_and_distillation_refusals_name_the_setting(trained, capsys):
    store = str(trained["store"])
    assert main(["optimize", trained["run"], "--method", "prune-magnitude", "--store", store]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the "optimising run …" line
    assert err.startswith("neuralforge: sparsity: prune-magnitude needs --sparsity")
    assert main(["optimize", trained["run"], "--method", "distill", "--store", store]) == 1
    assert "distillation needs a student graph" in capsys.readouterr().err
    assert main(["optimize", trained["run"], "--method", "prune-channels", "--sparsity", "1.5",
                 "--store", store]) == 1
    assert "sparsity must be between 0 and 1" in capsys.readouterr().err
