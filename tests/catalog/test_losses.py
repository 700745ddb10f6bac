"""Loss entries: the per-layer cases (shapes, the loss training builds, costs and error messages).

Every case runs through the shared harness (``tests/layer_harness.py``): the product's shape inference and
the product's training setup, which builds the loss. Generic checks of every example live in
``tests/test_catalog_conformance.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from neuralforge_desktop.core.catalog import losses
from neuralforge_desktop.core.catalog.spec import Example, LayerDef
from neuralforge_desktop.core.ir.types import DType, TensorSpec

from layer_harness import direct_module, error_of, infer, loss_setup, run_layer_test

CASES = [pytest.param(layer, ex, id=f"{layer.type}-{i}") for layer in losses.LAYERS
         for i, ex in enumerate(layer.examples)]
BY_TYPE = {layer.type: layer for layer in losses.LAYERS}
Inputs = Mapping[str, tuple[tuple[Any, ...], str]]


@pytest.mark.parametrize(("layer", "example"), CASES)
def test_training_builds_the_loss_torch_would(layer: LayerDef, example: Example) -> None:
    """The loss the trainer calls has every setting the node asks for, costs no MACs and some FLOPs."""
    run = run_layer_test(layer, example)
    reference = direct_module(layer, run.params, run.result.inputs)
    assert vars(run.model).keys() == vars(reference).keys()
    for key in ("reduction", "ignore_index", "label_smoothing", "beta"):
        assert getattr(run.model, key, None) == getattr(reference, key, None), key
    assert layer.macs is not None and layer.macs(run.params, run.in_shapes(), run.out_shapes()) == 0
    assert layer.flops_extra is not None and layer.flops_extra(run.params, run.in_shapes(), run.out_shapes()) > 0


def test_entry_names_its_ports_and_forward() -> None:
    for layer in losses.LAYERS:
        assert layer.is_loss and layer.category == "Loss"
        assert [p.name for p in layer.inputs] == ["input", "target"] and [p.name for p in layer.outputs] == ["loss"]
        assert layer.torch is not None and layer.torch.forward == "{loss} = {self}({input}, {target})"
        assert layer.torch.positional == 0


def test_training_reads_the_settings_from_the_node() -> None:
    ce = loss_setup("CrossEntropyLoss", {"input": ((4, 10), "float32"), "target": ((4,), "int64")},
                    {"label_smoothing": 0.1})
    assert type(ce).__name__ == "CrossEntropyLoss" and ce.label_smoothing == 0.1 and ce.reduction == "mean"
    mse = loss_setup("MSELoss", {"input": ((4, 1), "float32"), "target": ((4, 1), "float32")}, {"reduction": "sum"})
    assert type(mse).__name__ == "MSELoss" and mse.reduction == "sum"


# -- shapes ----------------------------------------------------------------------------------------------
def spec_of(layer_type: str, inputs: Inputs, params: Mapping[str, Any] | None = None) -> TensorSpec | None:
    return infer(layer_type, inputs, params).outputs.get("loss")


def test_reductions() -> None:
    inputs = {"input": ((0, 10, "H", "W"), "float32"), "target": ((0, "H", "W"), "int64")}
    assert spec_of("CrossEntropyLoss", inputs) == TensorSpec(())
    assert spec_of("CrossEntropyLoss", inputs, {"reduction": "sum"}) == TensorSpec(())
    assert spec_of("CrossEntropyLoss", inputs, {"reduction": "none"}) == TensorSpec(("N", "H", "W"))
    probs = {"input": ((0, 10), "float32"), "target": ((0, 10), "float32")}
    assert spec_of("CrossEntropyLoss", probs, {"reduction": "none"}) == TensorSpec(("N",))
    pair = {"input": ((0, 3, "T"), "float16"), "target": ((0, 3, "T"), "float16")}
    assert spec_of("L1Loss", pair, {"reduction": "none"}) == TensorSpec(("N", 3, "T"), DType.float16)
    assert spec_of("BCEWithLogitsLoss", pair) == TensorSpec((), DType.float16)


# -- errors ----------------------------------------------------------------------------------------------
def test_cross_entropy_target_batch_mismatch() -> None:
    diag = error_of("CrossEntropyLoss", {"input": ((4, 10), "float32"), "target": ((3,), "int64")}, batch=False)
    assert diag.node == "node" and diag.port == "target"
    assert diag.expected == "batch size 4 to match input (4, 10)" and diag.received == "(3)"
    assert "CrossEntropyLoss 'node' input 'target'" in diag.message


def test_cross_entropy_index_target_of_wrong_rank() -> None:
    diag = error_of("CrossEntropyLoss", {"input": ((0, 10), "float32"), "target": ((0, 1), "int64")})
    assert diag.port == "target"
    assert diag.expected == "integer class indices (N) of rank 1 for input (N, 10)"
    assert diag.received == "(N, 1) int64"
    diag = error_of("CrossEntropyLoss", {"input": ((0, 10), "float32"), "target": ((0, 10), "int64")})
    assert "one-hot labels must be float" in diag.expected and diag.received == "(N, 10) int64"


def test_cross_entropy_spatial_mismatch() -> None:
    diag = error_of("CrossEntropyLoss", {"input": ((0, 5, 8, 8), "float32"), "target": ((0, 8, 7), "int64")})
    assert diag.expected == "integer class indices (N, 8, 8) of rank 3 for input (N, 5, 8, 8)"
    assert diag.received == "(N, 8, 7) int64"


def test_cross_entropy_probabilities_of_wrong_shape() -> None:
    diag = error_of("CrossEntropyLoss", {"input": ((0, 10), "float32"), "target": ((0, 9), "float32")})
    assert diag.expected == ("integer class indices (N), or float class probabilities shaped like input "
                             "(N, 10)")
    assert diag.received == "(N, 9) float32"


def test_cross_entropy_bool_target() -> None:
    diag = error_of("CrossEntropyLoss", {"input": ((0, 10), "float32"), "target": ((0,), "bool")})
    assert diag.expected == "integer class indices or float class probabilities for input (N, 10)"
    assert diag.received == "(N) bool"


def test_cross_entropy_input_rank() -> None:
    diag = error_of("CrossEntropyLoss", {"input": ((0,), "float32"), "target": ((0,), "int64")})
    assert diag.port == "input" and diag.expected == "rank 2, 3, 4 or 5 (N, C) or (N, C, d1, …)"


def test_nll_refuses_probabilities() -> None:
    diag = error_of("NLLLoss", {"input": ((0, 10), "float32"), "target": ((0, 10), "float32")})
    assert diag.port == "target"
    assert diag.expected == "integer class indices for input (N, 10)" and diag.received == "(N, 10) float32"
    diag = error_of("NLLLoss", {"input": ((0, 10), "float32"), "target": ((0, 10), "int64")})
    assert "one index per sample" in diag.expected


def test_mse_shape_mismatch_names_both_shapes() -> None:
    diag = error_of("MSELoss", {"input": ((0, 1), "float32"), "target": ((0,), "float32")})
    assert diag.port == "target" and diag.expected == "the same shape as input (N, 1)" and diag.received == "(N)"
    diag = error_of("SmoothL1Loss", {"input": ((8, 3), "float32"), "target": ((2, 3), "float32")}, batch=False)
    assert diag.expected == "batch size 8 to match input (8, 3)" and diag.received == "(2, 3)"


def test_regression_losses_refuse_integer_targets() -> None:
    diag = error_of("BCEWithLogitsLoss", {"input": ((0, 1), "float32"), "target": ((0, 1), "int64")})
    assert diag.port == "target" and diag.expected == "a floating-point tensor"
    assert diag.received == "(N, 1) int64"


# -- costs -----------------------------------------------------------------------------------------------
def test_costs() -> None:
    ce = BY_TYPE["CrossEntropyLoss"]
    p = ce.validate_params({})[0]
    assert ce.flops_extra is not None
    assert ce.flops_extra(p, {"input": (4, 10), "target": (4,)}, {"loss": ()}) == 4 * 10 * 5 + 4 * 2
    assert ce.flops_extra(p, {"input": (4, 10), "target": (4, 10)}, {"loss": ()}) == 4 * 10 * 7 + 4 * 2
    p = ce.validate_params({"label_smoothing": 0.1})[0]
    assert ce.flops_extra(p, {"input": (4, 10), "target": (4,)}, {"loss": ()}) == 4 * 10 * 7 + 4 * 2
    mse = BY_TYPE["MSELoss"]
    assert mse.flops_extra is not None
    assert mse.flops_extra(mse.validate_params({})[0], {"input": (4, 3), "target": (4, 3)}, {"loss": ()}) == 36


def test_param_ranges() -> None:
    assert [e.field for e in BY_TYPE["CrossEntropyLoss"].validate_params({"label_smoothing": 1.5})[1]] == [
        "label_smoothing"]
    assert [e.field for e in BY_TYPE["MSELoss"].validate_params({"reduction": "avg"})[1]] == ["reduction"]
    assert [e.field for e in BY_TYPE["SmoothL1Loss"].validate_params({"beta": -1})[1]] == ["beta"]
