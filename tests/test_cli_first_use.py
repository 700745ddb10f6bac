"""CLI rough edges a new user met: outcome after Ctrl+C, unset params, a mismatch refused before a run exists,
layer names in any case, zoo descriptions that fit the terminal, and counts with the right plural."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from neuralforge_desktop.cli.fmt import plural
from neuralforge_desktop.cli.main import main
from neuralforge_desktop.cli.train_cmds import follow_run
from neuralforge_desktop.core.codegen.pytorch import generate_pytorch
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.events import EpochEvent, StartedEvent, StepEvent, StoppedEvent


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


class _InterruptedWorker:
    """A worker process as `follow_run` sees it, replaying what a real one sends when the user presses Ctrl+C
    during epoch ``interrupted_in``: the events so far, then (after stop()) a stopped event."""

    def __init__(self, run_id: str, completed_epochs: int) -> None:
        ds = {"name": "digits", "train": 100, "val": 20, "classes": 10}
        self.before = [StartedEvent(run_id=run_id, device="cpu", params=10, loss="CE", dataset=ds, epochs=5,
                                    steps_per_epoch=2)]
        for epoch in range(1, completed_epochs + 1):
            acc = 0.5 + 0.1 * epoch if epoch != 2 else 0.9
            self.before.append(EpochEvent(run_id=run_id, epoch=epoch, epochs=5, step=2 * epoch,
                                          metrics={"train/loss": 1.0 / epoch, "val/loss": 1.0, "val/acc": acc,
                                                   "epoch_seconds": 0.1},
                                          best=max(0.9 if epoch >= 2 else 0.0, 0.6), best_epoch=2 if epoch >= 2
                                          else 1))
        self.before.append(StepEvent(run_id=run_id, epoch=completed_epochs + 1, step=2 * completed_epochs + 1,
                                     loss=0.3))
        self.after = [StoppedEvent(run_id=run_id, epoch=completed_epochs + 1, step=2 * completed_epochs + 1)]
        self.stopped = False

    def events(self) -> Any:
        if self.stopped:
            yield from self.after
            return
        yield from self.before
        raise KeyboardInterrupt

    def stop(self) -> None:
        self.stopped = True

    def wait(self) -> int:
        return 0


@pytest.mark.parametrize(("completed", "expected"), [
    (0, "no completed epoch yet"),
    (3, "stopped at epoch 3; best val accuracy 90.00% so far (epoch 2)"),
])
def test_ctrl_c_says_where_training_stopped(capsys, tmp_path: Path, completed: int, expected: str) -> None:
    store = Store(tmp_path / "store.db")
    run_id = store.create_run("default", environment={}).id
    assert follow_run(_InterruptedWorker(run_id, completed), run_id, store, as_json=False) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert f"run {run_id} stopped: {expected};" in last
    assert "None" not in last


def test_runs_compare_and_show_say_not_set_for_unset_params(capsys, tmp_path: Path) -> None:
    db = str(tmp_path / "store.db")
    store = Store(db)
    a = store.create_run("default", params={"limit": None, "lr": 0.1, "seed": 0}, environment={}).id
    b = store.create_run("default", params={"limit": 500, "lr": 0.1, "seed": None}, environment={}).id
    store.close()
    status, out, _ = run(capsys, "runs", "compare", a, b, "--store", db)
    assert status == 0 and "None" not in out
    limit_row = next(line for line in out.splitlines() if line.startswith("param limit"))
    assert "not set" in limit_row and "500" in limit_row
    status, out, _ = run(capsys, "runs", "show", a, "--store", db)
    assert status == 0 and "limit=not set" in out and "None" not in out


def test_train_refuses_a_shape_mismatch_before_recording_a_run(capsys, tmp_path: Path) -> None:
    db = str(tmp_path / "store.db")
    status, out, err = run(capsys, "train", "zoo:resnet18", "--dataset", "mnist-10k", "--store", db)
    assert status == 1
    message = err.strip()
    assert "\n" not in message and "(3, 224, 224)" in message and "(1, 28, 28)" in message
    assert "run " not in out  # no run id was announced
    status, out, _ = run(capsys, "runs", "list", "--store", db)
    assert status == 0 and out.startswith("no runs in")


@pytest.mark.parametrize("typed", ["conv2d", "CONV2D", "Conv2D", "conv2D"])
def test_layers_finds_a_type_in_any_case(capsys, typed: str) -> None:
    status, out, _ = run(capsys, "layers", typed)
    assert status == 0 and "math:" in out and "out_channels" in out


def test_layers_suggests_close_names_for_a_typo(capsys) -> None:
    status, _, err = run(capsys, "layers", "convd2")
    assert status != 0 and "did you mean" in err and "Conv2d" in err


@pytest.mark.parametrize("columns", [80, 120])
def test_zoo_list_fits_the_terminal_width(capsys, monkeypatch: pytest.MonkeyPatch, columns: int) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    status, out, _ = run(capsys, "zoo", "list")
    assert status == 0
    lines = out.splitlines()
    assert all(len(line) <= columns for line in lines), max(lines, key=len)
    assert any(line.endswith("…") for line in lines)  # long descriptions are cut, and say so
    assert any(line.startswith("resnet18 ") for line in lines)


def test_counts_read_in_the_singular_and_plural(capsys) -> None:
    assert plural(1, "run") == "1 run" and plural(2, "point") == "2 points" and plural(0, "node") == "0 nodes"
    assert plural(1_234, "param") == "1,234 params" and plural(1, "index", "indices") == "1 index"
    status, out, _ = run(capsys, "validate", "zoo:mnist-cnn")
    assert status == 0 and "(s)" not in out and re.search(r"; (1 warning|\d+ warnings)\)$", out.strip())


def test_code_for_an_empty_graph_is_valid_and_says_why_it_is_empty() -> None:
    torch = pytest.importorskip("torch")
    source = generate_pytorch(Graph(name="empty")).source
    ast.parse(source)
    assert "def forward(self) ->" in source and "return ()" in source
    assert "no Input node yet" in source and "no Output node yet" in source
    namespace: dict[str, Any] = {}
    exec(compile(source, "<generated>", "exec"), namespace)  # the code NeuralForge wrote, run as a user would
    model = namespace["build_model"]()
    assert isinstance(model, torch.nn.Module) and model(*namespace["example_input"]()) == ()
