"""Module levels torch.fx cannot trace (Python that reads shapes) imported through torch.export: catalog layers,
no custom code, and the generated code with the written weights computing what the module computes, on a
batch size other than the one the import ran with."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from neuralforge_desktop.cli.main import main  # noqa: E402

MODELS = Path(__file__).with_name("export_models.py")

CASES = {  # name: (--input, the catalog types the graph holds, the module path torch.export traced)
    "ShapeBranch": ("x=3,8,8", {"Conv2d": 1, "ReLU": 1, "MaxPool2d": 1, "AdaptiveAvgPool2d": 1, "Flatten": 1,
                                "Linear": 1}, "(model)"),
    "PerChannel": ("x=3,6,6", {"Slice": 3, "Conv2d": 3, "Concat": 1, "ReLU": 1, "GlobalAvgPool2d": 1, "Linear": 1,
                               "Softmax": 1}, "(model)"),
    "ViewArithmetic": ("x=2,8,8", {"Conv2d": 1, "Tanh": 1, "Reshape": 1, "Linear": 2, "Sigmoid": 1, "Flatten": 2,
                                   "Multiply": 1}, "(model)"),
    "TokenMixer": ("x=6,3,3", {"Flatten": 1, "Transpose": 1, "Linear": 1, "GELU": 1, "Add": 1, "LayerNorm": 1,
                               "Mean": 1}, "(model)"),
    "InplaceResidual": ("x=4,5,5", {"Conv2d": 1, "Add": 1, "ReLU": 1}, "(model)"),
    "Outer": ("x=4", {"Linear": 4, "ReLU": 2, "Block": 1}, "inner"),
}


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _import(name: str, shape: str, out: Path, capsys) -> dict:
    assert main(["import", f"{MODELS}:{name}", "--input", shape, "-o", str(out), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("name", list(CASES))
def test_fx_untraceable_level_imports_through_torch_export(name, tmp_path, capsys):
    shape, types, traced = CASES[name]
    out = tmp_path / "net.nfg"
    report = _import(name, shape, out, capsys)
    assert report["custom"] == []
    assert report["types"] == types
    assert [e["module"] for e in report["exported"]] == [traced]
    assert all("torch.fx cannot trace" in e["fx_failure"] for e in report["exported"])
    _check_generated_code(name, shape, out, capsys)


def _check_generated_code(name: str, shape: str, out: Path, capsys) -> None:
    """The generated code, loaded strictly with the written weights, computes what the module computes."""
    tmp_path = out.parent
    generated = tmp_path / "net_gen.py"
    assert main(["codegen", str(out), "-o", str(generated)]) == 0
    capsys.readouterr()
    from safetensors.torch import load_file

    model = _load(generated, f"generated_export_{name}").build_model()
    model.load_state_dict(load_file(str(tmp_path / "net.safetensors")), strict=True)
    torch.manual_seed(0)  # the import constructs the module seeded, so its init is this one
    original = getattr(_load(MODELS, f"export_models_{name}"), name)().eval()
    x = torch.randn(5, *[int(d) for d in shape.partition("=")[2].split(",")])  # a batch the import never saw
    with torch.no_grad():
        want, got = original(x), model.eval()(x)
    assert float((got - want).abs().max()) <= 1e-5


def test_submodule_branching_on_values_stays_code_inside_an_exported_level(tmp_path, capsys):
    out = tmp_path / "net.nfg"
    report = _import("ShapeAndValueBranch", "x=5", out, capsys)
    assert [e["module"] for e in report["exported"]] == ["(model)"]
    assert [c["node"] for c in report["custom"]] == ["gate"]
    assert "data-dependent" in report["custom"][0]["reason"]
    assert report["types"] == {"Linear": 2, "ReLU": 1, "Add": 1, "CustomCode": 1}
    _check_generated_code("ShapeAndValueBranch", "x=5", out, capsys)


def test_report_text_names_the_level_torch_export_traced_and_the_unused_branch(tmp_path, capsys):
    assert main(["import", f"{MODELS}:ShapeBranch", "--input", "x=3,8,8", "-o", str(tmp_path / "s.nfg")]) == 0
    text = capsys.readouterr().out
    assert "traced with torch.export: 'the model' (torch.fx failed: " in text
    assert "control flow" in text
    assert "not called on these input shapes, so not in the graph (nor their weights): grey" in text
    from safetensors.torch import load_file

    assert not any(k.startswith("grey.") for k in load_file(str(tmp_path / "s.safetensors")))


def test_branch_on_values_stays_custom_code(tmp_path, capsys):
    report = _import("ValueBranch", "x=5", tmp_path / "v.nfg", capsys)
    assert report["exported"] == [] and len(report["custom"]) == 1
    reason = report["custom"][0]["reason"]
    assert "torch.fx cannot trace" in reason and "torch.export cannot trace it either" in reason
    assert "data-dependent" in reason


def test_code_that_fixes_the_batch_size_stays_custom_code(tmp_path, capsys):
    """``x.view(2, -1)`` exported at batch 2 would pass the import's check and break on any other batch."""
    report = _import("FixedBatch", "x=3,4", tmp_path / "f.nfg", capsys)
    assert report["exported"] == [] and len(report["custom"]) == 1
    assert "torch.export cannot trace it either" in report["custom"][0]["reason"]
    assert "fixes the batch size" in report["custom"][0]["reason"]
