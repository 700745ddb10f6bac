"""One test over the whole catalog: for every entry and every example it declares, the default params are
valid and JSON round-trip, the inferred shape equals what real torch produces (on the meta device and on
CPU), the parameter and buffer counts equal torch's, MACs agree with torch's FLOP counter where it counts,
the generated code compiles, is ruff-clean, and matches the builder's module."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from neuralforge_desktop.core.build.torch_builder import build_model
from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.codegen.pytorch import generate_pytorch

from layer_harness import concrete_shape, direct_module, make_case

STRUCTURAL = {"Input", "Output", "Block"}
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


def _model_outputs(model, case):
    out = model(*[case.inputs[p] for p in case.example.inputs])
    return out if isinstance(out, tuple) else (out,)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_shapes_params_and_cost_match_torch(case):
    layer, index = case
    c = make_case(layer, layer.examples[index])
    assert c.shapes.ok, [d.message for d in c.shapes.errors]
    result = c.shapes.results["layer"]
    specs = result.inputs
    batch = next(iter(c.inputs.values())).shape[0] if next(iter(c.inputs.values())).dim() else 1
    expected = {port: concrete_shape(spec, batch) for port, spec in result.outputs.items()}
    if layer.is_loss:
        module, fn = direct_module(layer, c.params, specs)
        outs = fn(module, *c.inputs.values())
        params_of = module
    else:
        with torch.device("meta"):
            meta_model = build_model(c.graph).eval()
        meta_out = _model_outputs(meta_model, type(c)(c.layer, c.example, c.graph, c.shapes, c.params,
                                                      {k: v.to("meta") for k, v in c.inputs.items()}))
        assert [tuple(t.shape) for t in meta_out] == list(expected.values()), "meta-device shapes differ"
        params_of = build_model(c.graph).eval()
        outs = _model_outputs(params_of, c)
    assert [tuple(t.shape) for t in outs] == list(expected.values())
    n_params = sum(p.numel() for p in params_of.parameters()) if params_of is not None else 0
    n_buffers = sum(b.numel() for b in params_of.buffers()) if params_of is not None else 0
    assert layer.param_count(c.params, specs) == n_params
    assert layer.buffer_count(c.params, specs) == n_buffers
    if layer.macs is not None and not layer.is_loss:
        # The math kernel: torch's counter has no formula for the fused CPU attention kernel.
        with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
            _model_outputs(params_of, c)
        counted = counter.get_total_flops()
        in_shapes = {p: concrete_shape(s, batch) for p, s in specs.items()}
        macs = layer.macs(c.params, in_shapes, expected)
        if counted:
            assert abs(2 * macs - counted) <= 0.02 * counted, f"2×MACs {2 * macs} vs torch's {counted}"


@pytest.mark.parametrize("case", [c for c in CASES if not c[0].is_loss], ids=_ids)
def test_generated_code_matches_builder(case):
    layer, index = case
    c = make_case(layer, layer.examples[index])
    code = generate_pytorch(c.graph)
    ns: dict = {}
    exec(compile(code.source, f"<{layer.type}>", "exec"), ns)
    built = build_model(c.graph).eval()
    generated = ns["build_model"]().eval()
    assert list(built.state_dict()) == list(generated.state_dict())
    generated.load_state_dict(built.state_dict())
    for a, b in zip(_model_outputs(built, c), _model_outputs(generated, c), strict=True):
        torch.testing.assert_close(a, b)
    example = ns["example_input"]()
    example = example if isinstance(example, tuple) else (example,)
    generated(*example)


def test_generated_code_is_ruff_clean(tmp_path):
    ruff = shutil.which("ruff") or str(__import__("pathlib").Path(sys.executable).with_name("ruff"))
    written = 0
    for layer, index in CASES:
        if layer.is_loss:
            continue
        c = make_case(layer, layer.examples[index])
        (tmp_path / f"gen_{layer.type.lower()}_{index}.py").write_text(generate_pytorch(c.graph).source)
        written += 1
    assert written
    proc = subprocess.run([ruff, "check", "--no-cache", "--isolated", "--line-length", "120",
                           "--select", "E,F,W,I,B,UP", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
