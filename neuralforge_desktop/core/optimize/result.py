"""What every optimisation method takes and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class OptimizeOptions:
    method: str
    target_sparsity: float | None = None
    target_macs: int | None = None
    finetune_epochs: int = 0
    teacher_run: str | None = None
    temperature: float = 4.0
    alpha: float = 0.5
    student_graph: str | None = None
    calibration_samples: int = 256
    runtime: str = "onnxruntime"
    output_dir: Path | None = None
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass
class OptimizeResult:
    parent_run: str
    new_run: str
    method: str
    before: dict[str, Any]
    after: dict[str, Any]
    artifacts: list[Path] = field(default_factory=list)
