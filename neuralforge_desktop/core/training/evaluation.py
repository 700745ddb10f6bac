"""Evaluation during and after training: validation metrics each epoch, and the final report (on the test
split when there is one) with the confusion matrix of a classification."""

from __future__ import annotations

from typing import Any

from neuralforge_desktop.core.training.metrics import confusion_matrix, per_class_accuracy, topk_correct
from neuralforge_desktop.core.training.parts import TrainingParts
from neuralforge_desktop.core.training.setup import to_tensors

_CHUNK = 1024


def model_outputs(parts: TrainingParts, x: Any) -> Any:
    """The model's outputs (as float32) for all of ``x``, in eval mode and chunks; train mode again after."""
    import torch

    parts.model.eval()
    chunks = []
    with torch.no_grad(), torch.autocast(parts.device.type, dtype=parts.amp_dtype, enabled=parts.amp):
        for start in range(0, len(x), _CHUNK):
            chunks.append(parts.forward(x[start:start + _CHUNK]).float())
    parts.model.train()
    return torch.cat(chunks)


def validation_metrics(parts: TrainingParts) -> dict[str, float]:
    """loss (and acc, top-k, the extra metrics) on the validation split; empty when there is none."""
    x, y = parts.x_val, parts.y_val
    if x is None or y is None:
        return {}
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
    x, y = to_tensors(split, parts.device, parts.task)
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
