"""What the Coach's rules read: the graph, the training settings, facts about the data, the metrics so far
and the captured diagnostics. Any part may be missing (a static check has no metrics; an older run has no
diagnostics); a rule that needs a missing part is reported as not applied, with the reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neuralforge_desktop.core.training.coach.records import RunDiagnostics

Series = list[tuple[int, float]]  # (step, value), oldest first


@dataclass
class DataFacts:
    """What the rules need to know about a dataset, computed once (by the static checks, or from the loaded
    data when a run starts)."""

    name: str
    task: str  # classification | regression | language-modeling
    classes: int | None
    train_size: int
    val_size: int
    kind: str = ""  # image | features | series | text
    label_counts: list[int] | None = None  # training examples per class
    channel_mean: list[float] | None = None  # of the inputs as the model sees them (after normalisation)
    channel_std: list[float] | None = None
    input_min: float | None = None
    input_max: float | None = None
    leaked: int | None = None  # validation examples identical to a training example (None: not checked)
    leaked_examples: list[int] = field(default_factory=list)  # a few validation indices, for the evidence


@dataclass
class CoachContext:
    graph: Any  # the run's Graph
    config: Any  # its TrainConfig
    loss_name: str | None = None  # the loss training uses (e.g. "cross_entropy", "mse"), None if unknown
    data: DataFacts | None = None
    metrics: dict[str, Series] = field(default_factory=dict)  # store metric name → series
    diagnostics: RunDiagnostics | None = None
    status: str = "static"  # static (before training) | running | finished | stopped | failed
    steps_per_epoch: int | None = None

    @property
    def trained(self) -> bool:
        return self.status != "static"
