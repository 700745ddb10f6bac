"""Evaluation metrics: the built-ins, metrics from installed plugins (entry points in the group
``neuralforge.metrics``: installing a plugin is consent to run its code), and, only when the user passes
``--trust-code``, any function named ``"package.module:function"``. A metric takes ``(outputs, targets)`` tensors
and returns a float; it is resolved in the worker process. A metric name comes from a config file that may have
come from anyone, so a name alone never imports a module."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from neuralforge_desktop.core.errors import UserError

MetricFn = Callable[[Any, Any], float]
PLUGIN_GROUP = "neuralforge.metrics"
_REGISTRY: dict[str, MetricFn] = {}


class MetricError(UserError, ValueError):
    """A metric that is unknown, fails to load, or names code the user has not said to trust."""


def register_metric(name: str, fn: MetricFn) -> None:
    _REGISTRY[name] = fn


def plugin_metric_names() -> set[str]:
    """Metric names installed plugins provide (without importing the plugins)."""
    return {ep.name for ep in entry_points(group=PLUGIN_GROUP)}


def is_code_metric(name: str) -> bool:
    """Whether ``name`` is a "module:function" to import, rather than a built-in or a plugin's metric."""
    return ":" in name and name not in _REGISTRY and name not in plugin_metric_names()


def check_metrics(names: list[str], trust_code: bool) -> list[str]:
    """Refuse unknown metrics and code the user did not trust; the modules that would run (to warn about)."""
    modules: list[str] = []
    for name in names:
        if name in _REGISTRY or name in plugin_metric_names():
            continue
        if ":" not in name:
            known = ", ".join(sorted(_REGISTRY | dict.fromkeys(plugin_metric_names()))) or "none"
            raise MetricError(f"metric {name!r}: unknown; built-ins and plugins: {known}")
        module = name.partition(":")[0]
        if not trust_code:
            raise MetricError(f"metric {name!r} would import and run code from module {module!r}; pass "
                              f"--trust-code to allow it (only for code you trust), or install it as a plugin "
                              f"(entry point group {PLUGIN_GROUP})")
        modules.append(module)
    return modules


def resolve_metric(name: str, trust_code: bool = False) -> MetricFn:
    if name in _REGISTRY:
        return _REGISTRY[name]
    for ep in entry_points(group=PLUGIN_GROUP, name=name):
        try:
            return ep.load()  # a plugin: installed, so consented to
        except Exception as exc:  # a broken plugin is reported, like a broken layer plugin
            raise MetricError(f"metric {name!r}: its plugin failed to load ({exc})") from None
    check_metrics([name], trust_code)
    module, _, attr = name.partition(":")
    try:
        # trusted: the user passed --trust-code for this run, after a warning naming the module
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise MetricError(f"metric {name!r}: cannot import it ({exc})") from None
    if not callable(fn):
        raise MetricError(f"metric {name!r}: {attr} in {module} is not a function")
    return fn


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
