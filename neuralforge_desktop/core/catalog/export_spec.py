"""What a layer declares about export: the targets (and precisions) that cannot take it.

Part of a :class:`~neuralforge_desktop.core.catalog.spec.LayerDef` (``export_limits``). A layer without limits
exports to every target at every precision that target offers; a limit is declared only where a target really
fails, and the catalog-wide export test converts every layer's examples to every target to hold the
declarations to the truth: what is declared supported must convert (and, where it can run, match torch), what
is declared unsupported must fail. The export support matrix (:mod:`neuralforge_desktop.core.exporters.support`)
and the pre-flight check of an export read these limits and never a type name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# (validated params, input port → TensorSpec) → whether the limit applies to this node
LimitCondition = Callable[[Mapping[str, Any], Mapping[str, Any]], bool]


@dataclass(frozen=True)
class ExportLimit:
    """One thing an export target cannot take of a layer.

    ``target`` is a format name (``"onnx"``, ``"tflite"``, ``"coreml"``); ``precisions`` the precisions it
    concerns (empty: all of them). ``when`` narrows it to some params or input shapes (``None``: every node of
    the type), described for people in ``condition`` ("groups > 1"). ``reason`` says in one line why;
    ``suggestion`` names what to use instead (a layer type or a setting), or is empty when nothing does.
    """

    target: str
    reason: str
    precisions: tuple[str, ...] = ()
    when: LimitCondition | None = None
    condition: str = ""
    suggestion: str = ""

    def applies(self, target: str, precision: str, params: Mapping[str, Any] | None = None,
                inputs: Mapping[str, Any] | None = None) -> bool:
        """Whether this limit stops ``target`` at ``precision`` for a node with these params and input specs
        (with no params, whether it can stop some node: the matrix's view)."""
        if target != self.target or (self.precisions and precision not in self.precisions):
            return False
        if self.when is None or params is None:
            return True
        try:
            return bool(self.when(params, inputs or {}))
        except (KeyError, TypeError, AttributeError, IndexError):  # half-inferred node: judge it when it is whole
            return False

