"""One entry point for every importer: a PyTorch source, an ONNX file or a Keras model, by what the source is."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.importers.import_torch import ImportResult, import_torch
from neuralforge_desktop.core.importers.source import InputSpec


def import_model(source: str, inputs: list[InputSpec] | None = None, *, kwargs: dict[str, Any] | None = None,
                 weights: str | os.PathLike[str] | None = None, framework: str = "torch") -> ImportResult:
    """``model.onnx`` → the ONNX importer, ``model.keras`` (or ``framework="keras"``) → the Keras importer,
    anything else (``file.py:Name``, ``package.module:Name``) → the PyTorch importer."""
    suffix = Path(source).suffix.lower()
    if suffix == ".onnx":
        from neuralforge_desktop.core.importers.onnx_import import import_onnx

        return import_onnx(source)
    if suffix == ".keras" or framework == "keras":
        from neuralforge_desktop.core.importers.keras_import import import_keras

        return import_keras(source)
    return import_torch(source, inputs, kwargs=kwargs, weights=weights)
