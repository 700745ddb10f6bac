"""``neuralforge coach`` and the Coach during ``neuralforge train``, as a user runs them: a run with a learning
rate far too high is told so while it trains and afterwards; a normal run gets no warning."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.ir.serialize import save_graph
from tests.coach.graphs import classifier

from training_graphs import digits_mlp

LIMIT = "400"  # training examples: two epochs in seconds, yet enough steps to see the loss move


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys):
    """Run a command in this process (training still runs in its worker process), as the shell would."""
    def run(*argv: str) -> Result:
        capsys.readouterr()
        code = main(list(argv))
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return run


def train(cli, tmp_path, *extra: str, json_events: bool = True) -> tuple[str, list[dict], str]:
    """Train the digits MLP (two short epochs); the run id, its events (with --json) and the store."""
    graph = tmp_path / "digits.nfg"
    save_graph(digits_mlp(), graph)
    store = str(tmp_path / "store.db")
    proc = cli("train", str(graph), "--dataset", "digits", "--epochs", "2", "--limit", LIMIT, "--store", store,
               *(["--json"] if json_events else []), *extra)
    assert proc.returncode == 0, proc.stderr
    if not json_events:
        return proc.stdout.split()[1].rstrip(":"), [], store  # "run ID: training …"
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    return events[0]["run_id"], events, store


@pytest.mark.slow
def test_a_huge_learning_rate_is_reported_live_and_by_coach_run(cli, tmp_path):
    run_id, events, store = train(cli, tmp_path, "--optimizer", "sgd", "--lr", "5")
    live = [e["finding"] for e in events if e["event"] == "coach"]
    kinds = {f["kind"] for f in live}
    assert kinds & {"lr_too_high", "loss_nan"}, events
    first = next(i for i, e in enumerate(events) if e["event"] == "coach")
    assert first < next(i for i, e in enumerate(events) if e["event"] == "finished")
    proc = cli("coach", run_id, "--json", "--store", store)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["run"] == run_id and report["status"] == "finished"
    found = {f["kind"]: f for f in report["findings"]}
    kind = "lr_too_high" if "lr_too_high" in found else "loss_nan"
    assert found[kind]["fix"]["action"] == "set_config" and found[kind]["fix"]["args"]["lr"] == 0.01  # SGD safe start
    assert found[kind]["evidence"]["numbers"]
    reasons = {n["kind"]: n["reason"] for n in report["not_applied"]}
    assert not any(r.startswith("no diagnostics") for r in reasons.values())  # the run captured them
    text = cli("coach", run_id, "--store", store).stdout
    assert f"run {run_id} (finished)" in text and "fix: Lower the learning rate to" in text


@pytest.mark.slow
def test_a_normal_run_gets_no_warning_and_prints_no_finding(cli, tmp_path):
    run_id, _, store = train(cli, tmp_path, json_events=False)
    report = json.loads(cli("coach", run_id, "--json", "--store", store).stdout)
    assert [f for f in report["findings"] if f["severity"] != "info"] == []
    assert {n["kind"] for n in report["not_applied"]} >= {"overfitting"}  # two epochs: too early to judge


def test_coach_graph_before_training(cli, tmp_path):
    graph = tmp_path / "softmax.nfg"
    save_graph(classifier("Softmax", norm=True), graph)
    proc = cli("coach", str(graph), "--dataset", "digits", "--batch-size", "4", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    kinds = {f["kind"]: f for f in report["findings"]}
    assert kinds["softmax_before_cross_entropy"]["fix"] == {
        "kind": "graph", "action": "remove_node", "label": "Remove Softmax 'act'", "args": {"node": "act"}}
    assert kinds["batchnorm_small_batch"]["severity"] == "warning"
    assert {n["kind"] for n in report["not_applied"]} >= {"lr_too_high", "dead_relu"}
    text = cli("coach", str(graph), "--dataset", "digits").stdout
    assert "coach warning: Softmax 'act' feeds a cross-entropy loss [act]" in text and "not applied:" in text


def test_coach_refuses_what_it_cannot_read(cli, tmp_path):
    store = str(tmp_path / "s.db")
    proc = cli("coach", "nope", "--store", store)
    assert proc.returncode == 1 and "no run 'nope'" in proc.stderr
    proc = cli("coach", "zoo:mnist-cnn")
    assert proc.returncode == 1 and "needs --dataset" in proc.stderr
    proc = cli("coach", "zoo:mnist-cnn", "--dataset", "digits")
    assert proc.returncode == 1 and "(1, 28, 28)" in proc.stderr
    proc = cli("coach", str(tmp_path / "missing.nfg"), "--dataset", "digits")
    assert proc.returncode == 1 and "no such file" in proc.stderr


def test_train_progress_prints_a_finding_readably():
    import io

    from neuralforge_desktop.cli.train_cmds import _Progress
    from neuralforge_desktop.core.training.coach.rules import evaluate
    from neuralforge_desktop.core.training.events import CoachEvent
    from tests.coach.contexts import healthy

    ctx = healthy()
    ctx.metrics["train/loss_step"][:2] = [(10, 1.4e12), (20, 9.3)]
    finding = evaluate(ctx).of_kind("lr_too_high")[0]
    out = io.StringIO()
    _Progress(out).show(CoachEvent(run_id="r1", finding=finding.to_json()))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("coach warning: The learning rate looks too high (step ")
    assert "evidence: reference_loss 2.3, peak_loss 1.4e+12" in out.getvalue()
    assert lines[-1].strip() == "fix: Lower the learning rate to 0.0001 (set_config: lr=0.0001)"
