"""The optimisation methods by name, each imported only when it is used (torch, onnxruntime and the pruning
library load with the method, not with the CLI's parser).

Every method is a function ``(store, run_id, options) -> OptimizeResult`` that makes a new run linked to
``run_id`` (see :mod:`.lineage`) and measures the model before and after (see :mod:`.measure`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.optimize.options import OptimizeOptions
from neuralforge_desktop.core.optimize.result import OptimizeResult

if TYPE_CHECKING:  # the parser lists the methods without loading the store
    from neuralforge_desktop.core.store.sqlite_store import Store

Method = Callable[["Store", str, OptimizeOptions], OptimizeResult]

_QUANTIZE = "neuralforge_desktop.core.optimize.quantize"
_QAT = "neuralforge_desktop.core.optimize.qat"
# method name → (module, function)
METHODS: dict[str, tuple[str, str]] = {
    "quantize-dynamic-int8": (_QUANTIZE, "optimize_dynamic_int8"),
    "quantize-static-int8": (_QUANTIZE, "optimize_static_int8"),
    "fp16": (_QUANTIZE, "optimize_fp16"),
    "qat-int8": (_QAT, "optimize_qat_int8"),
    "prune-magnitude": ("neuralforge_desktop.core.optimize.prune", "optimize_prune"),
    "prune-channels": ("neuralforge_desktop.core.optimize.prune", "optimize_prune"),
    "distill": ("neuralforge_desktop.core.optimize.distill", "optimize_distill"),
}

DESCRIPTIONS = {
    "quantize-dynamic-int8": "int8 weights, activations quantised at run time (onnxruntime quantize_dynamic)",
    "quantize-static-int8": "int8 weights and activations, calibrated on the run's training examples",
    "fp16": "float16 weights (and arithmetic where the runtime has float16 kernels)",
    "qat-int8": "quantisation-aware fine-tuning (torch.ao) of a CNN, then an int8 model",
    "prune-magnitude": "unstructured magnitude pruning to --sparsity, then fine-tuning",
    "prune-channels": "structured channel pruning to --sparsity or --target-macs, then fine-tuning",
    "distill": "train --student against the run as teacher (--temperature, --alpha)",
}


def method_names() -> tuple[str, ...]:
    return tuple(METHODS)


def get_method(name: str) -> Method:
    """The function of method ``name``; an unknown name is a :class:`UserError` listing the known ones."""
    entry = METHODS.get(name)
    if entry is None:
        raise UserError(f"unknown optimisation method {name!r}; the methods are {', '.join(METHODS)}")
    module_name, function_name = entry
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise UserError(f"optimisation method {name!r} is not part of this installation of NeuralForge "
                            f"(no module {module_name})") from None
        raise UserError(f"optimisation method {name!r} needs the package {exc.name!r}, which is not "
                        f"installed") from None
    function: Method = getattr(module, function_name)
    return function


def optimize(store: Store, run_id: str, options: OptimizeOptions) -> OptimizeResult:
    """Run the method ``options.method`` on run ``run_id``."""
    options.validate()
    return get_method(options.method)(store, run_id, options)
