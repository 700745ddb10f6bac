"""The model registry, kept in the run store (schema v7): named models whose versions are runs with their graph
and a verified ONNX export, moved through the stages none → staging → production → archived under a
policy's gates and approvals, with every transition recorded.

``resolve(store, ref)`` is what serving and pipelines use: ``ref`` is ``name``, ``name@3`` or
``name@production``; the :class:`ModelVersion` it returns carries the ONNX file, the graph, the input shape
(without the batch) and the metrics the run had when it was registered.
"""

from neuralforge_desktop.core.registry.entities import (
    PROMOTION_TARGETS,
    STAGES,
    Approval,
    ModelVersion,
    RegisteredModel,
    RegistryError,
    Transition,
    parse_ref,
)
from neuralforge_desktop.core.registry.gates import CheckResult, GateReport, evaluate_gates
from neuralforge_desktop.core.registry.policy import Policy, PolicyError, load_policy, parse_policy
from neuralforge_desktop.core.registry.register import attach_document, register
from neuralforge_desktop.core.registry.stages import approve, list_models, promote, resolve, rollback, show

__all__ = [
    "PROMOTION_TARGETS", "STAGES", "Approval", "CheckResult", "GateReport", "ModelVersion", "Policy", "PolicyError",
    "RegisteredModel", "RegistryError", "Transition", "approve", "attach_document", "evaluate_gates",
    "list_models", "load_policy", "parse_policy", "parse_ref", "promote", "register", "resolve", "rollback", "show",
]
