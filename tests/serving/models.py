"""Tiny ONNX models for the serving tests: version k answers k × (sum of the 4 inputs) on both outputs, so a
prediction tells which version made it."""

from __future__ import annotations

from pathlib import Path

INPUT_SIZE = 4


def export_scaled_sum(path: Path, factor: float) -> Path:
    import torch

    model = torch.nn.Linear(INPUT_SIZE, 2)
    with torch.no_grad():
        model.weight.fill_(factor)
        model.bias.zero_()
    torch.onnx.export(model.eval(), (torch.zeros(1, INPUT_SIZE),), str(path), input_names=["x"],
                      output_names=["y"], dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=17,
                      dynamo=False)
    return path


def expected_prediction(factor: float, instance: list[float]) -> list[float]:
    total = factor * sum(instance)
    return [total, total]
