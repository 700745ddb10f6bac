"""Evaluation metrics. Built-ins, plus user metrics named ``"package.module:function"`` in the config (the
function takes ``(outputs, targets)`` tensors and returns a float), so they also work in the worker process."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

MetricFn = Callable[[Any, Any], float]
_REGISTRY: dict[str, MetricFn] = {}


def register_metric(name: str, fn: MetricFn) -> None:
    _REGISTRY[name] = fn


def resolve_metric(name: str) -> MetricFn:
    if name in _REGISTRY:
        return _REGISTRY[name]
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            fn = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"metrics: cannot import {name!r} ({exc})") from None
        return fn
    known = ", ".join(sorted(_REGISTRY)) or "none"
    raise ValueError(f"metrics: unknown metric {name!r}; built-ins: {known}; or give 'module:function'")


def topk_correct(logits: Any, targets: Any, k: int) -> Any:
    """Number of rows whose target is among the k largest logits."""
    k = min(k, logits.shape[1])
    top = logits.topk(k, dim=1).indices
    return (top == targets.unsqueeze(1)).any(dim=1).sum()


def confusion_matrix(predictions: Any, targets: Any, num_classes: int) -> Any:
    import torch

    index = targets.to(torch.int64) * num_classes + predictions.to(torch.int64)
    return torch.bincount(index, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def per_class_accuracy(matrix: Any) -> list[float | None]:
    totals = matrix.sum(dim=1)
    return [float(matrix[i, i] / totals[i]) if int(totals[i]) else None for i in range(matrix.shape[0])]


def _f1_macro(outputs: Any, targets: Any) -> float:
    matrix = confusion_matrix(outputs.argmax(dim=1), targets, outputs.shape[1]).double()
    tp = matrix.diag()
    precision = tp / matrix.sum(dim=0).clamp(min=1)
    recall = tp / matrix.sum(dim=1).clamp(min=1)
    f1 = 2 * precision * recall / (precision + recall).clamp(min=1e-12)
    return float(f1.mean())


def _mae(outputs: Any, targets: Any) -> float:
    return float((outputs.reshape(targets.shape) - targets).abs().mean())


def _rmse(outputs: Any, targets: Any) -> float:
    return float(((outputs.reshape(targets.shape) - targets) ** 2).mean().sqrt())


register_metric("f1_macro", _f1_macro)
register_metric("mae", _mae)
register_metric("rmse", _rmse)
