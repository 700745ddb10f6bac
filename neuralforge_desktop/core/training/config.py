"""Everything that defines a training run, as plain data (saved with the run, hashed into its checksum)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.training.coach.records import LEVELS

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("none", "step", "cosine", "onecycle")
DEVICES = ("auto", "cpu", "cuda")
MAX_SEED = 2**32 - 1  # numpy's seeded generators take 0 … 2**32 - 1


class ConfigError(UserError, ValueError):
    """A training setting is invalid; the message names the field."""


@dataclass
class TrainConfig:
    dataset: str = "mnist-10k"
    epochs: int = 3
    batch_size: int = 64
    lr: float = 1e-3
    optimizer: str = "adam"
    momentum: float = 0.9  # SGD and RMSprop
    weight_decay: float = 0.0
    schedule: str = "none"
    warmup_steps: int = 0  # linear warm-up before the schedule
    step_size: int = 1  # epochs between decays for "step"
    gamma: float = 0.1  # decay factor for "step"
    grad_clip: float | None = None  # max global L2 norm of gradients
    early_stopping: int | None = None  # stop after this many epochs without a better val metric
    device: str = "auto"
    amp: bool | None = None  # mixed precision; None = on for CUDA, off on CPU
    seed: int = 0
    val_fraction: float = 0.1
    limit: int | None = None  # use at most this many training examples
    normalize: bool = True
    augment_flip: bool = False
    augment_crop: int = 0  # random-crop padding in pixels; 0 = off
    dataset_options: dict[str, Any] = field(default_factory=dict)
    checkpoint_minutes: float = 10.0  # also checkpoint mid-epoch after this long
    log_every: int = 10  # steps between step-metric events
    top_k: int = 5
    metrics: list[str] = field(default_factory=list)  # built-in, plugin or (with trust_code) "module:function"
    trust_code: bool = False  # the user allowed metrics that import code (--trust-code)
    threads: int | None = None  # torch CPU threads; None = torch's default
    procs: int | None = None  # data-parallel processes (torchrun, one per GPU on CUDA); None = 1
    init: str | None = None  # weights to start from: a safetensors file in the run folder (`train --init`)
    class_weights: bool = False  # classification: weigh each class's loss by 1 / its share of the training labels
    diagnostics: str = "basic"  # what the Coach captures inside the model: off | basic | full (see coach/capture.py)

    def validate(self) -> TrainConfig:
        def need(ok: bool, name: str, message: str) -> None:
            if not ok:
                raise ConfigError(f"{name}: {message}")

        need(self.epochs >= 1, "epochs", f"must be at least 1, got {self.epochs}")
        need(self.batch_size >= 1, "batch_size", f"must be at least 1, got {self.batch_size}")
        need(self.lr > 0 and math.isfinite(self.lr), "lr", f"must be a finite number above 0, got {self.lr}")
        need(self.optimizer in OPTIMIZERS, "optimizer", f"one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        need(self.schedule in SCHEDULES, "schedule", f"one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        need(self.device in DEVICES, "device", f"one of {', '.join(DEVICES)}, got {self.device!r}")
        need(0 <= self.val_fraction < 1, "val_fraction", f"must be in [0, 1), got {self.val_fraction}")
        need(self.weight_decay >= 0 and math.isfinite(self.weight_decay), "weight_decay",
             f"must be a finite number ≥ 0, got {self.weight_decay}")
        need(self.grad_clip is None or (self.grad_clip > 0 and math.isfinite(self.grad_clip)), "grad_clip",
             f"must be a finite number above 0, got {self.grad_clip}")
        need(0 <= self.seed <= MAX_SEED, "seed", f"must be from 0 to {MAX_SEED}, got {self.seed}")
        need(self.limit is None or self.limit >= 1, "limit", f"must be at least 1, got {self.limit}")
        need(self.early_stopping is None or self.early_stopping >= 1, "early_stopping", "must be at least 1")
        need(self.warmup_steps >= 0, "warmup_steps", "must be ≥ 0")
        need(self.diagnostics in LEVELS, "diagnostics", f"one of {', '.join(LEVELS)}, got {self.diagnostics!r}")
        need(self.log_every >= 1, "log_every", "must be at least 1")
        need(self.procs is None or 1 <= self.procs <= 256, "procs", f"must be from 1 to 256, got {self.procs}")
        need(self.procs is None or self.batch_size >= self.procs, "batch_size",
             f"must be at least the number of processes ({self.procs}): each takes a share of every batch")
        need(self.init is None or (bool(self.init) and "/" not in self.init and "\\" not in self.init
                                   and self.init.endswith(".safetensors")), "init",
             f"must name a .safetensors file in the run folder, got {self.init!r}")
        return self

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{unknown[0]}: not a training setting")
        return cls(**data).validate()
