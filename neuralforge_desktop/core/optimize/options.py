"""What an optimisation is asked to do: one record shared by every method, so the CLI, the app and a pipeline
stage fill in the same fields and each method reads the ones it uses."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError

RUNTIMES = ("onnxruntime", "litert")
DEFAULT_CALIBRATION_SAMPLES = 256
DEFAULT_LATENCY_RUNS = 50


@dataclass
class OptimizeOptions:
    method: str
    target_sparsity: float | None = None  # pruning: the share of weights (or channels) removed, 0 < s < 1
    target_macs: int | None = None  # pruning: prune channels until the model needs at most this many MACs
    finetune_epochs: int = 1  # quantisation-aware training, pruning and distillation: epochs of training after
    teacher_run: str | None = None  # distillation: the run whose model teaches
    temperature: float = 4.0  # distillation: softmax temperature of the soft targets
    alpha: float = 0.5  # distillation: weight of the soft-target loss (1 − alpha on the true labels)
    student_graph: Path | None = None  # distillation: the smaller graph to train
    calibration_samples: int = DEFAULT_CALIBRATION_SAMPLES  # static int8: training examples to calibrate on
    runtime: str = "onnxruntime"  # where the optimised model runs and is timed: "onnxruntime" or "litert"
    output_dir: Path | None = None  # where the files go (default: the new run's folder beside the store)
    latency_runs: int = DEFAULT_LATENCY_RUNS  # timed runs per model; the median is reported
    extras: dict[str, Any] = field(default_factory=dict)  # method-specific settings without a field of their own

    def validate(self) -> OptimizeOptions:
        def need(ok: bool, name: str, message: str) -> None:
            if not ok:
                raise UserError(f"optimize: {name} {message}")

        need(bool(self.method.strip()), "method", "is empty; see `neuralforge optimize --help` for the methods")
        need(self.runtime in RUNTIMES, "runtime", f"must be one of {', '.join(RUNTIMES)}, got {self.runtime!r}")
        need(self.target_sparsity is None or 0 < self.target_sparsity < 1, "sparsity",
             f"must be between 0 and 1 (exclusive), got {self.target_sparsity}")
        need(self.target_macs is None or self.target_macs >= 1, "target MACs",
             f"must be at least 1, got {self.target_macs}")
        need(self.finetune_epochs >= 0, "fine-tune epochs", f"must be 0 or more, got {self.finetune_epochs}")
        need(self.temperature > 0, "temperature", f"must be above 0, got {self.temperature}")
        need(0 <= self.alpha <= 1, "alpha", f"must be from 0 to 1, got {self.alpha}")
        need(self.calibration_samples >= 1, "calibration samples",
             f"must be at least 1, got {self.calibration_samples}")
        need(self.latency_runs >= 1, "latency runs", f"must be at least 1, got {self.latency_runs}")
        return self

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("student_graph", "output_dir"):
            data[key] = None if data[key] is None else str(data[key])
        return data
