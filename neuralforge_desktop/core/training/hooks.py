"""Ways for code in the same process to adapt one run of the training loop without writing a second loop:
pruning keeps its masks through fine-tuning, distillation trains against a teacher's logits. Neither belongs in
the loop itself, and neither travels to a worker process (they are functions, not settings): a run that uses
hooks is trained in-process with :class:`~neuralforge_desktop.core.training.engine.Trainer`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# (model output the loss reads, targets, the batch's model inputs) -> the scalar loss to minimise
LossHook = Callable[[Any, Any, tuple[Any, ...]], Any]


@dataclass(frozen=True)
class TrainingHooks:
    # Called once the model holds its starting weights (initial weights or a resumed checkpoint), before the
    # first step; it may reparametrise modules in place, keeping their Parameter objects (the optimizer has them).
    prepare_model: Callable[[Any], None] | None = None
    # Replaces the run's loss for training steps; validation and the final report still use the run's own loss,
    # so their figures compare with any other run on the dataset.
    loss: LossHook | None = None
