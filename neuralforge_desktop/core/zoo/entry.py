"""What one zoo entry is, and small building pieces the model families share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from neuralforge_desktop.core.ir.compose import Composer, Ref
from neuralforge_desktop.core.ir.graph import Graph

TASKS = ("vision", "nlp", "generative", "tabular", "sequence")


@dataclass(frozen=True)
class ZooEntry:
    """An architecture template (no weights).

    ``build`` returns a fresh graph on every call. ``reference_params`` is the trainable parameter count of
    the implementation named in ``reference`` (``None`` when the template has no published counterpart).
    """

    name: str
    title: str
    task: str
    description: str
    build: Callable[[], Graph]
    reference_params: int | None = None
    reference: str = ""

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"zoo entry {self.name!r}: task must be one of {', '.join(TASKS)}, got {self.task!r}")


def body(name: str, shape: Sequence[int | str], input_id: str = "x") -> tuple[Composer, Ref]:
    """A block body with one data input ``input_id`` of ``shape`` (batch excluded), as its block first sees it."""
    c = Composer(name)
    return c, c.input(input_id, shape)


def classification_loss(c: Composer, logits: Ref, label_shape: Sequence[int | str] = (), label_id: str = "label",
                        loss_id: str = "loss") -> Ref:
    """An int64 target input of class indices and a cross-entropy loss fed by ``logits`` and it."""
    label = c.input(label_id, list(label_shape), "int64", role="target")
    return c.layer("CrossEntropyLoss", {"input": logits, "target": label}, loss_id)


def conv_bn(c: Composer, x: Ref, prefix: str, out_channels: int, kernel_size: int, stride: int = 1,
            groups: int = 1, act: str | None = "ReLU", suffix: str = "") -> Ref:
    """Conv (no bias) → BatchNorm2d → optional activation; ids ``{prefix}conv{suffix}``, ``bn``, ``relu``."""
    x = c.layer("Conv2d", x, f"{prefix}conv{suffix}", out_channels=out_channels, kernel_size=kernel_size,
                stride=stride, padding=(kernel_size - 1) // 2, groups=groups, bias=False)
    x = c.layer("BatchNorm2d", x, f"{prefix}bn{suffix}")
    if act is not None:
        x = c.layer(act, x, f"{prefix}{act.lower()}{suffix}")
    return x
