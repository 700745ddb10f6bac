"""Importing PyTorch code: real modules in a user's file, the graph and weights written, and the generated
code loaded strictly with those weights computing what the module computes."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from neuralforge_desktop.cli.main import main  # noqa: E402

MODELS = Path(__file__).with_name("models.py")

CASES = {  # name: (--input values, custom-code nodes expected)
    "NestedSequential": ([], 0),  # the file's example_input()
    "ResidualNet": (["x=3,8,8"], 0),
    "CatSkip": (["x=4,8,8"], 0),
    "LstmClassifier": (["tokens=12:int64"], 0),
    "TinyEncoder": (["x=6,8"], 0),
    "DepthwiseSeparable": (["x=8,6,6"], 0),
    "DataDependent": (["x=4"], 1),
    "Functional": (["x=3,12"], 2),
    "Tied": (["tokens=5:int64"], 0),
    "WithLoss": (["x=5", "target=1"], 1),
    "make_mlp": (["input=7"], 0),
    "ClassicLeNet": (["x=1,28,28"], 0),
}


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _inputs(values: list[str]) -> list:
    gen = torch.Generator().manual_seed(7)
    made = []
    for text in values:
        _, _, rest = text.partition("=")
        dims, _, dtype = rest.partition(":")
        shape = (3, *[int(d) for d in dims.split(",")])
        int_ids = dtype == "int64"
        made.append(torch.randint(0, 5, shape, generator=gen) if int_ids else torch.randn(shape, generator=gen))
    return made or [torch.randn(3, 3, 16, 16, generator=gen)]


@pytest.mark.parametrize("name", list(CASES))
def test_import_codegen_and_weights_reproduce_the_module(name, tmp_path, capsys):
    inputs, custom = CASES[name]
    out = tmp_path / "net.nfg"
    argv = ["import", f"{MODELS}:{name}", "-o", str(out), "--json"]
    for text in inputs:
        argv += ["--input", text]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["custom"]) == custom, report["custom"]
    assert all(c["reason"] for c in report["custom"])
    assert (tmp_path / "net.safetensors").is_file()

    assert main(["summary", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    users = _load(MODELS, f"user_models_{name}")
    torch.manual_seed(0)  # the import constructs the module seeded, so its init is this one
    original = getattr(users, name)().eval()
    unique = {id(p): p for p in original.parameters()}
    assert summary["params"] == sum(p.numel() for p in unique.values())

    generated = tmp_path / "net_gen.py"
    assert main(["codegen", str(out), "-o", str(generated)]) == 0
    capsys.readouterr()
    from safetensors.torch import load_file

    model = _load(generated, f"generated_{name}").build_model()
    model.load_state_dict(load_file(str(tmp_path / "net.safetensors")), strict=True)
    model.eval()
    x = _inputs(inputs)
    with torch.no_grad():
        want, got = original(*x), model(*x)
    assert torch.allclose(got, want, atol=1e-5, rtol=1e-5), float((got - want).abs().max())


def test_report_names_each_custom_node_and_why(tmp_path, capsys):
    assert main(["import", f"{MODELS}:DataDependent", "--input", "x=4", "-o", str(tmp_path / "d.nfg")]) == 0
    text = capsys.readouterr().out
    assert "custom code 'gate'" in text and "control flow" in text
    graph = json.loads((tmp_path / "d.nfg").read_text())["graph"]
    gate = next(n for n in graph["nodes"] if n["id"] == "gate")
    assert gate["type"] == "CustomCode" and "class Gate(nn.Module)" in gate["params"]["source"]
    assert "SCALE = 0.5" in gate["params"]["source"]  # what the class needs from its file comes along


def test_folded_blocks_and_tied_weights(tmp_path, capsys):
    assert main(["import", f"{MODELS}:ResidualNet", "--input", "x=3,8,8", "-o", str(tmp_path / "r.nfg")]) == 0
    graph = json.loads((tmp_path / "r.nfg").read_text())["graph"]
    blocks = [n for n in graph["nodes"] if n["type"] == "Block"]
    assert [(b["id"], b["params"]["repeat"]) for b in blocks] == [("blocks", 3)]
    capsys.readouterr()
    assert main(["import", f"{MODELS}:Tied", "--input", "tokens=5:int64", "-o", str(tmp_path / "t.nfg")]) == 0
    ties = json.loads((tmp_path / "t.nfg").read_text())["graph"]["ties"]
    assert {(t["node"], t["param"]) for t in ties} >= {("head", "weight"), ("mix_1", "weight"), ("mix_1", "bias")}


@pytest.mark.parametrize(("argv", "message"), [
    (["nope.py:Net", "--input", "x=3"], "no file"),
    (["{models}:Nope", "--input", "x=3"], "defines no 'Nope'"),
    (["{models}:SCALE", "--input", "x=3"], "not an nn.Module class or a function"),
    (["{plain}:Net"], "no input shapes"),
    (["{models}:ResidualNet", "--input", "y=3,8,8"], "no argument 'y'"),
    (["{models}:ResidualNet", "--input", "x=5,8,8"], "in submodule 'stem' (Conv2d)"),
    (["{models}:ResidualNet", "--input", "x=3,8,8", "--weights", "{bad}"], "'stem.weight' is (1,)"),
])
def test_bad_input_is_one_clear_error_and_writes_nothing(argv, message, tmp_path, capsys):
    from safetensors.torch import save_file

    bad = tmp_path / "bad.safetensors"
    torch.manual_seed(0)
    state = _load(MODELS, "user_models_bad").ResidualNet().state_dict()
    state["stem.weight"] = torch.zeros(1)
    save_file(state, str(bad))
    out = tmp_path / "out.nfg"
    plain = tmp_path / "plain.py"
    plain.write_text("from torch import nn\n\n\nclass Net(nn.Linear):\n    def __init__(self):\n"
                     "        super().__init__(3, 2)\n\n    def forward(self, x):\n        return super().forward(x)\n")
    argv = [a.format(models=MODELS, bad=bad, plain=plain) for a in argv]
    assert main(["import", *argv, "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not out.exists() and not out.with_suffix(".safetensors").exists()


def test_a_file_that_does_not_import_names_its_line(tmp_path, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text("import torch\n\nx = 1\nraise ValueError('no GPU here')\n")
    assert main(["import", f"{broken}:Net", "--input", "x=3", "-o", str(tmp_path / "o.nfg")]) == 1
    assert "ValueError: no GPU here (at broken.py:4)" in capsys.readouterr().err


def test_untrusted_custom_code_does_not_run_until_trusted(tmp_path, capsys, monkeypatch):
    from neuralforge_desktop.core.build import code_trust
    from neuralforge_desktop.core.build.torch_builder import build_model
    from neuralforge_desktop.core.ir.serialize import load_graph

    assert main(["import", f"{MODELS}:DataDependent", "--input", "x=4", "-o", str(tmp_path / "d.nfg")]) == 0
    build_model(load_graph(tmp_path / "d.nfg"))  # imported here: trusted as written
    other = tmp_path / "elsewhere" / "trusted-code.json"  # another machine: nothing trusted
    monkeypatch.setattr(code_trust, "trust_path", lambda: other)
    with pytest.raises(code_trust.UntrustedCodeError, match="gate"):
        build_model(load_graph(tmp_path / "d.nfg"))
    assert main(["summary", str(tmp_path / "d.nfg")]) == 0  # inspecting never runs it
    assert main(["trust", str(tmp_path / "d.nfg")]) == 0
    build_model(load_graph(tmp_path / "d.nfg"))
