"""Graphs and stores the comparison tests share."""

from __future__ import annotations

from neuralforge_desktop.core.ir.compose import Composer


def wider_digits_mlp():
    """The tests' digits MLP with a wider first layer, a second dropout, and its head renamed ``head``."""
    c = Composer("digits-mlp")
    x = c.input("image", [1, 8, 8])
    x = c.layer("Flatten", x, "flat")
    x = c.layer("Linear", x, "fc1", out_features=64)
    x = c.layer("ReLU", x, "relu")
    x = c.layer("Dropout", x, "drop", p=0.1)
    x = c.layer("Dropout", x, "drop2", p=0.3)
    logits = c.layer("Linear", x, "head", out_features=10)
    c.output(logits, "logits")
    label = c.input("label", [], dtype="int64", role="target")
    c.layer("CrossEntropyLoss", {"input": logits, "target": label}, "loss")
    return c.done()


def log_curve(store, run_id: str, name: str, values, *, first_step: int = 10, every: int = 10,
              start: float = 1000.0, seconds: float = 2.0) -> None:
    """``values`` of metric ``name`` at steps first_step, first_step + every, … one every ``seconds``."""
    for i, value in enumerate(values):
        store.log_metric(run_id, name, float(value), first_step + i * every, timestamp=start + i * seconds)
    store.flush()
