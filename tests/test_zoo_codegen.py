"""Every zoo model: the generated source runs forward on its own example_input() and matches the builder's
module: same state_dict keys and shapes, the same initial weights from the same seed, the same outputs."""

from __future__ import annotations

import pytest
import torch

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.build.torch_builder import build_model
from neuralforge_desktop.core.codegen.pytorch import generate_pytorch

NAMES = [e.name for e in zoo.list_models()]
SLOW = {"gpt2-small", "bert-base", "vgg11", "resnet50"}  # 30 s or more each on two shared cores


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in NAMES])
def test_generated_code_matches_builder(name):
    graph = zoo.build(name)
    code = generate_pytorch(graph)
    ns: dict = {}
    exec(compile(code.source, f"<{name}>", "exec"), ns)
    torch.manual_seed(0)
    built = build_model(graph).eval()
    torch.manual_seed(0)
    generated = ns["build_model"]().eval()
    built_state, gen_state = built.state_dict(), generated.state_dict()
    assert list(built_state) == list(gen_state)
    for key, value in built_state.items():
        assert value.shape == gen_state[key].shape, key
        assert torch.equal(value, gen_state[key]), f"{key}: same seed, different initial weights"
    torch.manual_seed(1)
    example = ns["example_input"]()
    example = example if isinstance(example, tuple) else (example,)
    with torch.no_grad():
        expected = built(*example)
        actual = generated(*example)
    expected = expected if isinstance(expected, tuple) else (expected,)
    actual = actual if isinstance(actual, tuple) else (actual,)
    for e, a in zip(expected, actual, strict=True):
        torch.testing.assert_close(a, e)
        assert torch.isfinite(a).all()
    n_params = sum(p.numel() for p in built.parameters())
    entry = zoo.get_model(name)
    if entry.reference_params is not None:
        assert n_params == entry.reference_params
