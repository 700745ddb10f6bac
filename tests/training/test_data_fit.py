"""A model whose output cannot match the dataset's targets fails before the first training step with a
message naming the output, the dataset and both sizes; with no validation split the run ranks epochs by
train loss and never reports it as a validation accuracy."""

from __future__ import annotations

import subprocess
import sys

import pytest

from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.serialize import save_graph
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.engine import Trainer
from neuralforge_desktop.core.training.events import FailedEvent, FinishedEvent

from training_graphs import digits_mlp


def config(**overrides):
    base = dict(dataset="digits", epochs=1, batch_size=64, lr=3e-3, seed=1, threads=1, limit=300)
    base.update(overrides)
    return TrainConfig(**base)


def fails_before_training(graph, tmp_path, **overrides) -> str:
    events = []
    result = Trainer(graph, config(**overrides), "run", tmp_path, events.append).run()
    assert result.status == "failed"
    assert [e.kind for e in events] == ["failed"]  # not started, no step taken
    failed = events[0]
    assert isinstance(failed, FailedEvent) and failed.user_error and not failed.traceback
    return failed.error


def mlp(outputs: int, loss: str | None = None):
    c = Composer("mlp")
    x = c.input("image", [1, 8, 8])
    x = c.layer("Flatten", x, "flat")
    out = c.layer("Linear", x, "head", out_features=outputs)
    c.output(out, "scores")
    if loss is not None:
        # a float target input of the output's shape: a graph that is valid on its own
        target = c.input("target", [outputs], dtype="float32", role="target")
        c.layer(loss, {"input": out, "target": target}, "loss")
    return c.done()


def test_more_classes_in_the_data_than_outputs_in_the_model(tmp_path):
    message = fails_before_training(mlp(5), tmp_path)
    assert message == ("dataset digits has 10 classes (labels 0‥9), but Output 'scores' gives 5 scores per "
                       "example; give the last layer 10 outputs")


def test_an_autoencoder_trained_on_class_labels(tmp_path):
    c = Composer("autoencoder")
    x = c.input("image", [1, 8, 8])
    h = c.layer("Conv2d", x, "enc", out_channels=4, kernel_size=3, padding=1)
    h = c.layer("ReLU", h, "act")
    y = c.layer("Conv2d", h, "dec", out_channels=1, kernel_size=3, padding=1)
    c.output(y, "reconstruction")
    message = fails_before_training(c.done(), tmp_path)
    assert message == ("Output 'reconstruction' gives 1×8×8 per example — the shape of its input, as an "
                       "autoencoder's output has; it cannot be trained on labels, but dataset digits gives one "
                       "class label per example (10 classes), so the model must output 10 class scores per example")


def test_a_regression_loss_on_class_labels(tmp_path):
    message = fails_before_training(mlp(10, loss="MSELoss"), tmp_path)
    assert message == ("MSELoss 'loss' needs float targets, but dataset digits gives class labels (10 classes); "
                       "use CrossEntropyLoss for a classification")


def test_a_regression_output_that_does_not_match_the_targets(tmp_path):
    pytest.importorskip("statsmodels")
    c = Composer("series")
    x = c.input("window", [12])
    c.output(c.layer("Linear", x, "head", out_features=3), "forecast")
    message = fails_before_training(c.done(), tmp_path, dataset="sunspots", limit=None)
    assert message == "Output 'forecast' gives 3 per example, but dataset sunspots's targets are 1 per example"


def test_without_a_validation_split_epochs_are_ranked_by_train_loss(tmp_path):
    events = []
    result = Trainer(digits_mlp(), config(epochs=2, val_fraction=0.0), "run", tmp_path, events.append).run()
    assert result.status == "finished"
    epochs = [e for e in events if e.kind == "epoch"]
    assert all("val/acc" not in e.metrics and "val/loss" not in e.metrics for e in epochs)
    losses = [e.metrics["train/loss"] for e in epochs]
    finished = events[-1]
    assert isinstance(finished, FinishedEvent)
    assert finished.best == min(losses) and finished.best_epoch == 1 + losses.index(min(losses))


@pytest.mark.slow
def test_cli_says_there_is_no_validation_split_and_shows_train_loss(tmp_path):
    graph = tmp_path / "digits.nfg"
    save_graph(digits_mlp(), graph)
    proc = subprocess.run([sys.executable, "-m", "neuralforge_desktop", "train", str(graph), "--dataset", "digits",
                           "--epochs", "1", "--limit", "300", "--val-fraction", "0", "--store",
                           str(tmp_path / "s.db")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "no validation split: val metrics are not computed" in proc.stdout
    assert "val acc" not in proc.stdout and "val accuracy" not in proc.stdout
    last = proc.stdout.strip().splitlines()[-1]
    assert "finished: best train loss" in last and "(no validation split)" in last
