"""What one run trains with, built once before the loop: the dataset on the device, the model, optimizer,
scheduler and mixed-precision settings. The order of the seeding calls here is part of exact resume and of
"same seed, same weights": change it and old checkpoints no longer continue bit for bit."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.metrics import resolve_metric
from neuralforge_desktop.core.training.param_groups import freeze_untrainable, parameter_groups
from neuralforge_desktop.core.training.setup import (
    Setup,
    bind_dataset,
    build_setup,
    check_fit,
    pick_device,
    to_tensors,
    weigh_classes,
)


@dataclass
class TrainingParts:
    config: TrainConfig
    device: Any
    bundle: Any  # the loaded dataset (see datasets.types)
    setup: Setup
    model: Any
    input_fields: list[str]  # the dataset field each model input reads, in the order forward takes them
    x_train: tuple[Any, ...]  # one tensor per model input
    y_train: Any
    x_val: tuple[Any, ...] | None  # None when the dataset has no validation split
    y_val: Any | None
    steps_per_epoch: int
    optimizer: Any
    scheduler: Any
    scaler: Any
    amp: bool
    amp_dtype: Any
    extra_metrics: dict[str, Any]
    ddp: Any = None  # the DistributedDataParallel wrapper training steps call, in a data-parallel job


    @property
    def task(self) -> str:
        return self.setup.task

    def forward(self, *inputs: Any) -> Any:
        """The output the loss reads, for a batch of every model input (a model with several outputs returns a
        tuple)."""
        out = (self.ddp if self.ddp is not None else self.model)(*inputs)
        return out[self.setup.output_index] if isinstance(out, tuple) else out

    def evaluate(self, *inputs: Any) -> Any:
        """:meth:`forward` for validation and reports: the model itself, never the DDP wrapper (no collective,
        so a process may evaluate on its own)."""
        out = self.model(*inputs)
        return out[self.setup.output_index] if isinstance(out, tuple) else out


def build_parts(graph: Graph, cfg: TrainConfig) -> TrainingParts:
    import torch

    from neuralforge_desktop.core.training.datasets import load_dataset

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
    bundle = load_dataset(cfg.dataset, val_fraction=cfg.val_fraction, seed=cfg.seed, normalize=cfg.normalize,
                          limit=cfg.limit, options=dict(cfg.dataset_options))
    binding = bind_dataset(graph, bundle)
    torch.manual_seed(cfg.seed)  # weights start the same whatever loading consumed
    setup = build_setup(graph, bundle)
    check_fit(graph, bundle, setup)  # before the first step: a mismatch is a message, not a torch error
    if cfg.class_weights:
        weigh_classes(graph, bundle, setup, device)
    model = setup.model.to(device)
    freeze_untrainable(model, graph)  # before the optimizer: frozen parameters are not given to it
    fields = [binding.fields[name] for name in model.input_names]
    x_train, y_train = to_tensors(bundle.train, device, setup.task, fields, bundle.input_name)
    x_val, y_val = (to_tensors(bundle.val, device, setup.task, fields, bundle.input_name) if len(bundle.val)
                    else (None, None))
    steps_per_epoch = math.ceil(len(y_train) / cfg.batch_size)
    optimizer = _optimizer(model, cfg, graph)
    scheduler = _scheduler(optimizer, cfg, steps_per_epoch, steps_per_epoch * cfg.epochs)
    amp = cfg.amp if cfg.amp is not None else device.type == "cuda"
    amp_dtype = torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=amp and amp_dtype == torch.float16)
    return TrainingParts(cfg, device, bundle, setup, model, fields, x_train, y_train, x_val, y_val, steps_per_epoch,
                         optimizer, scheduler, scaler, bool(amp), amp_dtype,
                         {name: resolve_metric(name, cfg.trust_code) for name in cfg.metrics})


def _optimizer(model: Any, cfg: TrainConfig, graph: Graph | None = None) -> Any:
    """The configured optimizer; with nodes whose ``lr_mult`` is not 1, one parameter group per multiplier."""
    import torch

    groups = parameter_groups(model, graph, cfg.lr) if graph is not None else None
    params: Any = groups if groups is not None else [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.RMSprop(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def _scheduler(optimizer: Any, cfg: TrainConfig, steps_per_epoch: int, total_steps: int) -> Any:
    import torch

    if cfg.schedule == "onecycle":
        # Each group peaks at its own rate (the run's times the group's multiplier).
        max_lr = [cfg.lr * group.get("lr_mult", 1.0) for group in optimizer.param_groups]
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=max(total_steps, 1))
    warmup = cfg.warmup_steps

    def factor(step: int) -> float:
        scale = min(1.0, (step + 1) / warmup) if warmup else 1.0
        if cfg.schedule == "cosine":
            progress = min(max(step - warmup, 0) / max(total_steps - warmup, 1), 1.0)
            scale *= 0.5 * (1 + math.cos(math.pi * progress))
        elif cfg.schedule == "step":
            scale *= cfg.gamma ** ((step // steps_per_epoch) // max(cfg.step_size, 1))
        return scale

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
