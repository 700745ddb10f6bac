"""The export formats by name, each loaded only when asked for: a format's module is cheap to import (its heavy
framework is imported inside its functions), but a format may be missing from an installation, and then the
error says which package to install rather than failing on import.

    from neuralforge_desktop.core.exporters.registry import formats, get_format

    formats()                 # ("onnx", "tflite", "coreml")
    fmt = get_format("onnx")  # an ExportFormat; UserError for an unknown or unavailable one
"""

from __future__ import annotations

import importlib
import importlib.util

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.exporters.base import ExportError, ExportFormat

# name → module under neuralforge_desktop.core.exporters (each defines EXPORTER)
_MODULES = {"onnx": "onnx", "tflite": "tflite", "coreml": "coreml"}
_PACKAGE = "neuralforge_desktop.core.exporters"
INSTALL_HINT = "pip install 'neuralforge-desktop[export]'"


def formats() -> tuple[str, ...]:
    """The names of every export format, available here or not."""
    return tuple(_MODULES)


def get_format(name: str) -> ExportFormat:
    """The format called ``name``. An unknown name is a :class:`UserError` listing the known ones; a format
    whose module or packages are missing here is an :class:`ExportError` naming what to install."""
    module_name = _MODULES.get(name)
    if module_name is None:
        raise UserError(f"unknown export format {name!r}; the formats are {', '.join(formats())}")
    qualified = f"{_PACKAGE}.{module_name}"
    try:
        module = importlib.import_module(qualified)
    except ModuleNotFoundError as exc:
        if exc.name == qualified:
            raise ExportError(f"export format {name!r} is not part of this installation of NeuralForge "
                              f"(no module {qualified})") from None
        raise ExportError(f"export format {name!r} needs the package {exc.name!r}, which is not installed; "
                          f"install it with {INSTALL_HINT}") from None
    exporter = getattr(module, "EXPORTER", None)
    if not isinstance(exporter, ExportFormat):
        raise ExportError(f"export format {name!r}: {qualified} defines no EXPORTER")
    missing = [m for m in exporter.requires if importlib.util.find_spec(m) is None]
    if missing:
        raise ExportError(f"export format {name!r} needs {', '.join(missing)}, not installed here; "
                          f"install with {INSTALL_HINT}")
    return exporter


def check_precision(exporter: ExportFormat, precision: str) -> None:
    """A precision the format does not offer is a one-line error listing the ones it does."""
    if precision not in exporter.precisions:
        raise UserError(f"{exporter.title} export has no precision {precision!r}; it offers "
                        f"{', '.join(exporter.precisions)}")
