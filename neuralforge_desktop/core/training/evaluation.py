"""Evaluation during and after training: validation metrics each epoch, and the final report (on the test
split when there is one) with the confusion matrix of a classification.

A language model is evaluated chunk by chunk (its scores are N×T×vocab: the whole split's would not fit in
memory): the loss is the mean over every target token (padding skipped), perplexity its exponential, and
``token_acc`` the share of positions whose highest score is the next token."""

from __future__ import annotations

import math
from typing import Any

from neuralforge_desktop.core.training.datasets.types import IGNORE_INDEX
from neuralforge_desktop.core.training.metrics import confusion_matrix, per_class_accuracy, topk_correct
from neuralforge_desktop.core.training.parts import TrainingParts
from neuralforge_desktop.core.training.setup import to_tensors

_CHUNK = 1024
_LM_CHUNK = 64  # sequences per forward pass when evaluating a language model
_MAX_PERPLEXITY_LOSS = 700.0  # exp() of more overflows a float


def perplexity(loss: float) -> float:
    """exp(mean next-token cross-entropy): how many tokens the model is, on average, as unsure as choosing
    among uniformly (inf for a loss too large to exponentiate)."""
    return math.exp(loss) if loss < _MAX_PERPLEXITY_LOSS else math.inf


def _chunks(x: tuple[Any, ...], size: int) -> Any:
    for start in range(0, len(x[0]), size):
        yield start, tuple(t[start:start + size] for t in x)


def model_outputs(parts: TrainingParts, x: tuple[Any, ...]) -> Any:
    """The model's outputs (as float32) for all of ``x``, in eval mode and chunks; train mode again after."""
    import torch

    parts.model.eval()
    chunks = []
    with torch.no_grad(), torch.autocast(parts.device.type, dtype=parts.amp_dtype, enabled=parts.amp):
        for _, batch in _chunks(x, _CHUNK):
            chunks.append(parts.evaluate(*batch).float())
    parts.model.train()
    return torch.cat(chunks)


def language_model_metrics(parts: TrainingParts, x: tuple[Any, ...], y: Any) -> dict[str, float]:
    """loss, perplexity, token_acc (and the extra metrics, averaged over chunks) of a language model."""
    import torch

    parts.model.eval()
    loss_sum = correct = tokens = 0.0
    extra = dict.fromkeys(parts.extra_metrics, 0.0)
    with torch.no_grad(), torch.autocast(parts.device.type, dtype=parts.amp_dtype, enabled=parts.amp):
        for start, batch in _chunks(x, _LM_CHUNK):
            target = y[start:start + _LM_CHUNK]
            out = parts.evaluate(*batch).float()
            counted = target != IGNORE_INDEX
            n = float(counted.sum())
            if n == 0:
                continue
            loss_sum += float(parts.setup.loss_fn(out, target)) * n  # the loss is a mean over counted tokens
            correct += float(((out.argmax(dim=parts.setup.class_dim) == target) & counted).sum())
            tokens += n
            for name, fn in parts.extra_metrics.items():
                extra[name] += float(fn(out, target)) * n
    parts.model.train()
    if tokens == 0:
        return {}
    loss = loss_sum / tokens
    return {"loss": loss, "perplexity": perplexity(loss), "token_acc": correct / tokens,
            **{name: total / tokens for name, total in extra.items()}}


def validation_metrics(parts: TrainingParts) -> dict[str, float]:
    """loss (and acc, top-k, perplexity, the extra metrics) on the validation split; empty when there is none."""
    x, y = parts.x_val, parts.y_val
    if x is None or y is None:
        return {}
    if parts.task == "language-modeling":
        return language_model_metrics(parts, x, y)
    out = model_outputs(parts, x)
    result = {"loss": float(parts.setup.loss_fn(out, y))}
    top_k = parts.config.top_k
    if parts.task == "classification":
        result["acc"] = float((out.argmax(dim=1) == y).float().mean())
        if out.shape[1] > top_k:
            result[f"top{top_k}"] = float(topk_correct(out, y, top_k)) / len(y)
    for name, fn in parts.extra_metrics.items():
        result[name] = float(fn(out, y))
    return result


def final_report(parts: TrainingParts) -> dict[str, Any]:
    bundle = parts.bundle
    split_name = "test" if bundle.test is not None and len(bundle.test) else "val"
    split = bundle.test if split_name == "test" else bundle.val
    if split is None or not len(split):
        return {}
    x, y = to_tensors(split, parts.device, parts.task, parts.input_fields, bundle.input_name)
    if parts.task == "language-modeling":
        metrics = language_model_metrics(parts, x, y)
        return {"split": split_name, **metrics} if metrics else {}
    out = model_outputs(parts, x)
    report: dict[str, Any] = {"split": split_name, "loss": float(parts.setup.loss_fn(out, y))}
    if parts.task == "classification":
        classes = int(bundle.num_classes or out.shape[1])
        matrix = confusion_matrix(out.argmax(dim=1), y, classes).cpu()
        report["acc"] = float((out.argmax(dim=1) == y).float().mean())
        report["confusion_matrix"] = matrix.tolist()
        report["per_class_acc"] = per_class_accuracy(matrix)
        report["class_names"] = bundle.class_names
    return report
