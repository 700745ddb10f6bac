"""Where the training loop stands: what a checkpoint saves so that a resumed run continues exactly, plus the
clocks that decide when to write the next one (those are not saved: a resumed run starts them afresh)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class LoopState:
    epoch: int = 0  # epochs completed
    step_in_epoch: int = 0  # steps of the current epoch done (non-zero only in a mid-epoch checkpoint)
    global_step: int = 0
    best: float | None = None  # the best value of the ranking metric so far, and its 1-based epoch
    best_epoch: int | None = None
    stale_epochs: int = 0  # epochs since the best one (early stopping counts these)
    # Loss sum, correct count and examples seen of the current epoch's steps before a mid-epoch checkpoint,
    # so a resumed epoch reports the same averages as an uninterrupted one.
    carried_loss: float = 0.0
    carried_correct: int = 0
    carried_seen: int = 0
    started_at: float = field(default_factory=time.monotonic)
    last_checkpoint_at: float = field(default_factory=time.monotonic)

    def to_checkpoint(self) -> dict[str, Any]:
        """The saved form, a plain dict with the keys checkpoints have always used."""
        return {"epoch": self.epoch, "step_in_epoch": self.step_in_epoch, "global_step": self.global_step,
                "best": self.best, "best_epoch": self.best_epoch, "stale_epochs": self.stale_epochs,
                "sums": [self.carried_loss, self.carried_correct, self.carried_seen]}

    @classmethod
    def from_checkpoint(cls, saved: dict[str, Any]) -> LoopState:
        """The state a checkpoint saved; TypeError/ValueError if a value is not what the trainer writes."""
        for key in ("epoch", "step_in_epoch", "global_step", "stale_epochs"):
            _need(isinstance(saved[key], int) and not isinstance(saved[key], bool) and saved[key] >= 0, key)
        _need(saved["best"] is None or isinstance(saved["best"], int | float), "best")
        _need(saved["best_epoch"] is None or isinstance(saved["best_epoch"], int), "best_epoch")
        _need(isinstance(saved["sums"], list | tuple) and len(saved["sums"]) == 3
              and all(isinstance(v, int | float) for v in saved["sums"]), "sums")
        carried_loss, carried_correct, carried_seen = saved["sums"]
        return cls(epoch=saved["epoch"], step_in_epoch=saved["step_in_epoch"], global_step=saved["global_step"],
                   best=saved["best"], best_epoch=saved["best_epoch"], stale_epochs=saved["stale_epochs"],
                   carried_loss=carried_loss, carried_correct=carried_correct, carried_seen=carried_seen)

    def carry(self, tally: EpochTally) -> None:
        """Fold the current epoch's running sums in, before a mid-epoch checkpoint."""
        self.carried_loss, self.carried_correct, self.carried_seen = tally.totals()

    def next_epoch(self) -> None:
        self.epoch += 1
        self.step_in_epoch = 0
        self.carried_loss, self.carried_correct, self.carried_seen = 0.0, 0, 0

    def rank(self, value: float, higher_is_better: bool) -> bool:
        """Record an epoch's ranking metric; True if it is the best so far."""
        better = self.best is None or (value > self.best if higher_is_better else value < self.best)
        if better:
            self.best, self.best_epoch, self.stale_epochs = value, self.epoch, 0
        else:
            self.stale_epochs += 1
        return better


def _need(ok: bool, key: str) -> None:
    if not ok:
        raise TypeError(f"the loop state's {key!r} is not what a checkpoint holds")


@dataclass
class EpochTally:
    """Running sums of one epoch's training steps, on the device (read back only when needed), on top of
    what a mid-epoch checkpoint carried over."""

    loss_sum: Any  # float64 tensor
    correct: Any  # int64 tensor
    seen: int = 0
    carried_loss: float = 0.0
    carried_correct: int = 0
    carried_seen: int = 0
    started_at: float = field(default_factory=time.monotonic)

    @classmethod
    def start(cls, state: LoopState, device: Any) -> EpochTally:
        import torch

        return cls(torch.zeros((), device=device, dtype=torch.float64),
                   torch.zeros((), device=device, dtype=torch.int64),
                   carried_loss=state.carried_loss, carried_correct=state.carried_correct,
                   carried_seen=state.carried_seen)

    def totals(self) -> tuple[float, int, int]:
        return (self.carried_loss + float(self.loss_sum), self.carried_correct + int(self.correct),
                self.carried_seen + self.seen)
