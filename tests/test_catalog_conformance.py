"""One test over the whole catalog: for every entry and every example it declares, the default params are
valid and JSON round-trip, and the example runs through the product end to end (``run_layer_test`` in
``layer_harness``): inferred shapes equal what torch produces (on the meta device and on CPU), parameter and
buffer counts equal torch's, the generated code matches the builder's module and calls torch with the same
arguments, omitted defaults are torch's, MACs agree with torch's FLOP counter (or the op is on a commented
list of ops torch does not count), and the generated code is ruff-clean."""

from __future__ import annotations

import inspect
import json
import shutil
import subprocess
import sys

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.codegen.pytorch import generate_pytorch

from layer_harness import infer, layer_graph, run_layer_test

STRUCTURAL = {"Input", "Output", "Block", "CustomCode"}  # custom code: its own tests (tests/importers)
LAYERS = [layer for layer in catalog() if layer.type not in STRUCTURAL]
CASES = [(layer, i) for layer in LAYERS for i in range(len(layer.examples))]


def _ids(case: tuple) -> str:
    return f"{case[0].type}-{case[1]}"


@pytest.mark.parametrize("layer", list(catalog()), ids=lambda layer: layer.type)
def test_defaults_valid_and_json_round_trip(layer):
    defaults = layer.default_params()
    params, errors = layer.validate_params(json.loads(json.dumps(defaults)))
    assert not errors, [str(e) for e in errors]
    again, _ = layer.validate_params(json.loads(json.dumps({k: _jsonable(v) for k, v in params.items()})))
    assert again == params
    assert layer.description and layer.math, "Concept Mode needs a plain-language and a math description"
    for spec in layer.params:
        assert spec.help, f"{layer.type}.{spec.name} has no help text"


def _jsonable(value):
    return list(value) if isinstance(value, tuple) else value


@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: layer.type)
def test_every_layer_has_examples_and_torch_form(layer):
    assert layer.examples, f"{layer.type} declares no conformance examples"
    assert layer.torch is not None, f"{layer.type} has no PyTorch form"
    assert layer.macs is not None and layer.flops_extra is not None, f"{layer.type} has no cost rules"


# Defaults torch sets inside an overloaded ``__init__(*args, **kwargs)``, where no signature shows them.
UNSIGNED_DEFAULTS = {(kind, "nonlinearity"): "tanh" for kind in ("RNN", "GRU", "LSTM")}


def _torch_default(factory, name):
    for cls in factory.__mro__:
        parameters = inspect.signature(cls.__init__).parameters
        if name in parameters:
            default = parameters[name].default
            return default.__name__ if callable(default) else default
    raise AssertionError(f"{factory.__name__} takes no argument {name!r}")


@pytest.mark.parametrize("layer", [layer for layer in LAYERS if layer.torch and layer.torch.module],
                         ids=lambda layer: layer.type)
def test_omitted_defaults_are_torchs_defaults(layer):
    """Generated code leaves out an argument equal to ``TorchCall.defaults``: that must be torch's default."""
    call = layer.torch
    factory = getattr(torch.nn, call.module.removeprefix("nn."), None) if call.module.startswith("nn.") else None
    for name, default in call.defaults.items():
        if (layer.type, name) in UNSIGNED_DEFAULTS:
            assert default == UNSIGNED_DEFAULTS[(layer.type, name)]
        elif factory is not None:
            assert _torch_default(factory, name) == default, (layer.type, name)
    example = layer.examples[0]
    result = infer(layer, example.inputs, example.params)
    names = list(call.init(result.params, result.inputs)) if call.init else []
    assert not set(names[: call.positional]) & set(call.defaults), "a positional argument must never be omitted"


# torch's FlopCounterMode has no formula for these ops, so it reports 0 for work we do count; each is
# checked another way (see the test named alongside).
TORCH_COUNTS_NOTHING = {
    "LSTM": "the fused LSTM kernel (test_recurrent_macs_equal_unrolled_matmuls)",
    "BatchNorm1d": "normalisation kernels (test_norm_costs)",
    "BatchNorm2d": "normalisation kernels (test_norm_costs)",
    "LayerNorm": "normalisation kernels (test_norm_costs)",
    "GroupNorm": "normalisation kernels (test_norm_costs)",
    "InstanceNorm2d": "normalisation kernels (test_norm_costs)",
}


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_example_runs_and_costs_like_torch(case):
    layer, index = case
    torch.manual_seed(0)
    run = run_layer_test(layer, layer.examples[index])
    if layer.macs is None or layer.is_loss:
        return
    # The math kernel: torch's counter has no formula for the fused CPU attention kernel.
    # With grad enabled: under no_grad MultiheadAttention takes a fused fast path torch does not count.
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        run.model(*run.tensors.values())
    counted = counter.get_total_flops()
    macs = layer.macs(run.params, run.in_shapes(), run.out_shapes())
    if layer.type in TORCH_COUNTS_NOTHING:
        assert counted == 0, f"torch now counts {layer.type}: compare it here and drop it from the list"
    elif counted == 0:
        assert macs == 0, f"torch counts no FLOPs for {layer.type} but our MACs are {macs}"
    else:
        assert abs(2 * macs - counted) <= 0.02 * counted, f"2×MACs {2 * macs} vs torch's {counted}"


def test_generated_code_is_ruff_clean(tmp_path):
    ruff = shutil.which("ruff") or str(__import__("pathlib").Path(sys.executable).with_name("ruff"))
    written = 0
    for layer, index in CASES:
        if layer.is_loss:
            continue
        example = layer.examples[index]
        code = generate_pytorch(layer_graph(layer, example.inputs, example.params))
        (tmp_path / f"gen_{layer.type.lower()}_{index}.py").write_text(code.source)
        written += 1
    assert written
    # N812: "functional as F" is the convention the generated code follows.
    proc = subprocess.run([ruff, "check", "--no-cache", "--isolated", "--line-length", "120",
                           "--select", "E,F,W,I,B,UP,SIM,N", "--ignore", "N812", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
