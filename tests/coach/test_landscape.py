"""The loss landscape of a checkpoint: filter-normalised directions, the line between two checkpoints, the
surface around one, the worker and ``neuralforge diagnose --landscape`` on a real tiny run."""

import json
import math
from pathlib import Path

import pytest
import torch

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.serialize import load_graph
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.checkpoints import load_checkpoint
from neuralforge_desktop.core.training.coach.landscape import (
    LandscapeCancelled,
    LandscapeError,
    LandscapeRequest,
    LandscapeResult,
    checkpoint_tags,
    compute_landscape,
    data_subset,
    filter_normalized_direction,
    resolve_tag,
    surface,
)
from neuralforge_desktop.core.training.coach.landscape_worker import request_args
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.engine import Trainer
from neuralforge_desktop.core.training.parts import build_parts
from neuralforge_desktop.core.training.runner import prepare_run


def digits_cnn():
    """A convolution with BatchNorm and two linear layers: every kind of parameter the directions treat."""
    c = Composer("digits-cnn")
    x = c.input("image", [1, 8, 8])
    x = c.layer("Conv2d", x, "conv1", out_channels=4, kernel_size=3, padding=1)
    x = c.layer("BatchNorm2d", x, "bn1")
    x = c.layer("ReLU", x, "relu1")
    x = c.layer("Flatten", x, "flat")
    x = c.layer("Linear", x, "fc1", out_features=16)
    x = c.layer("ReLU", x, "relu2")
    logits = c.layer("Linear", x, "fc2", out_features=10)
    c.output(logits, "logits")
    label = c.input("label", [], dtype="int64", role="target")
    c.layer("CrossEntropyLoss", {"input": logits, "target": label}, "loss")
    return c.done()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A real run: two short epochs on digits (a checkpoint each, and the best), and a run never trained."""
    folder = tmp_path_factory.mktemp("landscape")
    store_path = folder / "store.db"
    graph = digits_cnn()
    config = TrainConfig(dataset="digits", epochs=2, batch_size=32, lr=0.01, limit=400, seed=0, threads=1)
    with Store(store_path) as store:
        run_id, run_dir = prepare_run(graph, config, store, "tests", name="tiny")
        assert Trainer(graph, config, run_id, run_dir, lambda event: None, store).run().status == "finished"
        untrained, _ = prepare_run(graph, config, store, "tests", name="untrained")
    return {"store": store_path, "id": run_id, "dir": run_dir, "untrained": untrained}


def direct_loss(run_dir: Path, tag: str, examples: int, seed: int) -> float:
    """The loss of one checkpoint on the same examples, computed in one plain forward pass."""
    parts = build_parts(load_graph(run_dir / "graph.nfg"),
                        TrainConfig.from_json(json.loads((run_dir / "config.json").read_text())))
    folder = run_dir / "checkpoints" / ("best" if tag == "best" else "")
    load_checkpoint(folder, tag, parts.model, parts.device)
    x, y = data_subset(parts, examples, seed)
    parts.model.eval()
    with torch.no_grad():
        return float(parts.setup.loss_fn(parts.model(*x), y))


def test_each_filter_of_a_direction_has_the_norm_of_the_same_filter_of_the_weights():
    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 5, 3), torch.nn.BatchNorm2d(5), torch.nn.Flatten(),
                                torch.nn.Linear(5 * 4 * 4, 7))
    weights = {name: p.detach().clone() for name, p in model.named_parameters()}
    weights["0.weight"][2] *= 40.0  # one filter far larger than the others: its direction follows it
    direction = filter_normalized_direction(weights, torch.Generator().manual_seed(0))
    assert set(direction) == set(weights)
    for name in ("0.weight", "3.weight"):
        w, d = weights[name], direction[name]
        assert d.shape == w.shape
        expected = w.reshape(w.shape[0], -1).norm(dim=1)
        got = d.reshape(d.shape[0], -1).norm(dim=1)
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-7)
        cosine = float((d.flatten() @ w.flatten()) / (d.norm() * w.norm()))
        assert abs(cosine) < 0.9  # a random direction, not the weights themselves
    for name in ("0.bias", "1.weight", "1.bias", "3.bias"):  # biases and BatchNorm: ignored (zero)
        assert torch.count_nonzero(direction[name]) == 0


def test_directions_are_seeded():
    weights = {"w": torch.randn(6, 4), "b": torch.randn(6)}
    first = filter_normalized_direction(weights, torch.Generator().manual_seed(7))
    again = filter_normalized_direction(weights, torch.Generator().manual_seed(7))
    other = filter_normalized_direction(weights, torch.Generator().manual_seed(8))
    assert torch.equal(first["w"], again["w"])
    assert not torch.allclose(first["w"], other["w"])


def test_the_line_starts_and_ends_at_the_two_checkpoints_losses(run):
    calls = []
    request = LandscapeRequest(between=("epoch-0001", "epoch-0002"), points=7, examples=150, seed=1)
    result = compute_landscape(run["dir"], request, run_id=run["id"], run_name="tiny",
                               progress=lambda done, total: calls.append((done, total)))
    assert result.kind == "line" and result.checkpoint == "epoch-0001" and result.checkpoint_b == "epoch-0002"
    assert result.alphas[0] == -0.25 and result.alphas[-1] == 1.25 and len(result.losses) == 7
    loss_a = direct_loss(run["dir"], "epoch-0001", 150, 1)
    loss_b = direct_loss(run["dir"], "epoch-0002", 150, 1)
    assert result.center_loss == pytest.approx(loss_a, rel=1e-5)
    assert result.end_loss == pytest.approx(loss_b, rel=1e-5)
    at = {round(a, 9): loss for a, loss in zip(result.alphas, result.losses, strict=True)}
    assert at[0.0] == pytest.approx(loss_a, rel=1e-5) and at[1.0] == pytest.approx(loss_b, rel=1e-5)
    assert loss_a != pytest.approx(loss_b, rel=1e-3)  # two different checkpoints
    assert result.distance is not None and result.distance > 0
    assert all(0.0 <= acc <= 1.0 for acc in result.accuracies)
    assert calls == [(k, 9) for k in range(1, 10)]  # A, B, then the 7 points


def test_the_surface_centre_is_the_checkpoint_and_the_surface_is_seeded(run):
    calls = []
    request = LandscapeRequest(checkpoint="best", grid=3, examples=120, seed=2)
    result = compute_landscape(run["dir"], request, run_id=run["id"], run_name="tiny",
                               progress=lambda done, total: calls.append((done, total)))
    assert result.kind == "surface" and result.xs == [-1.0, 0.0, 1.0] == result.ys
    assert len(result.losses) == 3 and all(len(row) == 3 for row in result.losses)
    assert result.losses[1][1] == result.center_loss
    assert result.center_loss == pytest.approx(direct_loss(run["dir"], "best", 120, 2), rel=1e-5)
    corners = [result.losses[0][0], result.losses[0][2], result.losses[2][0], result.losses[2][2]]
    assert all(math.isfinite(c) and c > result.center_loss for c in corners)  # a trained model sits in a basin
    assert result.accuracies is not None and result.center_accuracy == result.accuracies[1][1]
    assert calls == [(k, 10) for k in range(1, 11)]  # the centre, then 3 × 3

    again = compute_landscape(run["dir"], request, run_id=run["id"])
    assert again.losses == result.losses
    other = compute_landscape(run["dir"], LandscapeRequest(checkpoint="best", grid=3, examples=120, seed=5))
    assert other.losses[0][0] != result.losses[0][0]


def test_cancelling_stops_the_surface_and_leaves_the_weights_as_they_were(run):
    parts = build_parts(load_graph(run["dir"] / "graph.nfg"),
                        TrainConfig.from_json(json.loads((run["dir"] / "config.json").read_text())))
    before = {k: v.clone() for k, v in parts.model.state_dict().items()}
    x, y = data_subset(parts, 50, 0)
    done = []
    with pytest.raises(LandscapeCancelled):
        surface(parts, LandscapeRequest(grid=4), x, y, progress=lambda d, t: done.append(d),
                cancelled=lambda: len(done) >= 3)
    assert done == [1, 2, 3]
    for key, value in parts.model.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_checkpoints_are_named_by_tag_epoch_number_latest_or_best(run):
    tags = checkpoint_tags(run["dir"])
    assert tags == ["epoch-0001", "epoch-0002", "best"]
    assert resolve_tag(run["dir"], None, "tiny") == "epoch-0002"
    assert resolve_tag(run["dir"], "latest", "tiny") == "epoch-0002"
    assert resolve_tag(run["dir"], "1", "tiny") == "epoch-0001"
    with pytest.raises(LandscapeError, match=r"run tiny has no checkpoint 'epoch-9'; it has epoch-0001, "
                                             r"epoch-0002, best"):
        resolve_tag(run["dir"], "epoch-9", "tiny")
    with pytest.raises(LandscapeError, match="grid"):
        LandscapeRequest(grid=1).validate()


def test_a_result_file_round_trips_and_anything_else_is_refused(run, tmp_path):
    result = LandscapeResult(kind="surface", run_id="r", run_name="n", checkpoint="best", losses=[[1.0, 2.0]],
                             center_loss=1.0, xs=[0.0, 1.0], ys=[0.0])
    result.save(tmp_path / "l.json")
    assert LandscapeResult.load(tmp_path / "l.json") == result
    (tmp_path / "other.json").write_text(json.dumps({"kind": "surface"}))
    with pytest.raises(LandscapeError, match="other.json: not a loss landscape"):
        LandscapeResult.load(tmp_path / "other.json")


def test_diagnose_landscape_draws_a_png_from_a_real_run(run, tmp_path, capsys):
    from PySide6.QtGui import QImage

    png, numbers = tmp_path / "landscape.png", tmp_path / "landscape.json"
    status = main(["diagnose", run["id"], "--landscape", "--grid", "3", "--examples", "100", "-o", str(png),
                   "--json", str(numbers), "--store", str(run["store"])])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert f"wrote {png} and {numbers} (3×3 grid around epoch-0002" in captured.out
    assert "10/10 points (100%)" in captured.err
    image = QImage(str(png))
    assert not image.isNull() and image.width() >= 600 and image.height() >= 500
    saved = LandscapeResult.load(numbers)
    assert saved.kind == "surface" and saved.run_name == "tiny" and len(saved.losses) == 3

    line_png = tmp_path / "line.png"
    assert main(["diagnose", run["id"], "--landscape", "--between", "1", "best", "--points", "3",
                 "--examples", "50", "-o", str(line_png), "--store", str(run["store"])]) == 0
    assert "3 points from epoch-0001 to best" in capsys.readouterr().out
    assert not QImage(str(line_png)).isNull()


@pytest.mark.parametrize("args, message", [
    (["nope"], "no run 'nope' in "),
    (["{untrained}"], "run untrained ({untrained}) has no checkpoints"),
    (["{run}", "--checkpoint", "epoch-7"], "has no checkpoint 'epoch-7'; it has epoch-0001, epoch-0002, best"),
    (["{run}", "--between", "epoch-0001", "final"], "has no checkpoint 'final'"),
])
def test_diagnose_refuses_bad_input_in_one_line(run, tmp_path, capsys, args, message):
    fill = {"run": run["id"], "untrained": run["untrained"]}
    args = [a.format(**fill) for a in args]
    out = tmp_path / "x.png"
    status = main(["diagnose", *args, "--landscape", "-o", str(out), "--store", str(run["store"])])
    err = capsys.readouterr().err
    assert status == 1
    assert message.format(**fill) in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_a_regression_has_a_landscape_without_accuracy(tmp_path):
    c = Composer("sunspots-mlp")
    x = c.input("x", [12])
    x = c.layer("Linear", x, "fc1", out_features=8)
    x = c.layer("ReLU", x, "relu")
    c.output(c.layer("Linear", x, "fc2", out_features=1), "y")
    graph = c.done()
    config = TrainConfig(dataset="sunspots", epochs=1, batch_size=32, seed=0, threads=1)
    with Store(tmp_path / "store.db") as store:
        run_id, run_dir = prepare_run(graph, config, store, "tests")
        assert Trainer(graph, config, run_id, run_dir, lambda event: None, store).run().status == "finished"
    result = compute_landscape(run_dir, LandscapeRequest(grid=3, examples=60))
    assert result.task == "regression" and result.loss_name.startswith("MSELoss")
    assert result.accuracies is None and result.center_accuracy is None
    assert result.losses[1][1] == result.center_loss > 0


def test_the_worker_reports_progress_and_failures_as_json_lines(run, tmp_path, capsys):
    """The worker's main, in this process (the diagnose test above runs it as a process)."""
    from neuralforge_desktop.core.training.coach import landscape_worker

    out = tmp_path / "surface.json"
    assert landscape_worker.main(request_args(run["store"], run["id"], LandscapeRequest(grid=2, examples=40),
                                              out)) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[0] == {"event": "started", "kind": "surface", "run_id": run["id"], "run_name": "tiny",
                         "checkpoint": "epoch-0002", "checkpoint_b": None}
    assert [e["done"] for e in events if e["event"] == "progress"] == [1, 2, 3, 4, 5]
    assert events[-1]["event"] == "done" and events[-1]["path"] == str(out)
    assert LandscapeResult.load(out).losses[0][0] > 0

    assert landscape_worker.main(request_args(run["store"], "nope", LandscapeRequest(), tmp_path / "x.json")) == 1
    (failed,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert failed["event"] == "failed" and failed["user_error"] is True and "no run 'nope'" in failed["error"]
    assert not (tmp_path / "x.json").exists()
