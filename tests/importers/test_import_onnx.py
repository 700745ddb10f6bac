"""Importing ONNX files: small torch models exported here, NeuralForge's own exports of zoo models, ops outside
the catalog, and bad files. The generated PyTorch code, loaded strictly with the written weights, must compute
what onnxruntime computes on the file."""

from __future__ import annotations

import importlib.util
import json
import sys
import warnings
from collections import Counter
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from torch import nn  # noqa: E402

from neuralforge_desktop.cli.main import main  # noqa: E402
from neuralforge_desktop.core import zoo  # noqa: E402
from neuralforge_desktop.core.codegen.pytorch import generate_pytorch  # noqa: E402
from neuralforge_desktop.core.importers.onnx_import import import_onnx  # noqa: E402
from neuralforge_desktop.core.ir.serialize import load_graph  # noqa: E402

from .test_round_trip import canonical  # noqa: E402


class Cnn(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, bias=False)
        self.avg = nn.AvgPool2d(2)
        self.fc = nn.Linear(16, 5)
        self.norm = nn.BatchNorm1d(5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.avg(nn.functional.leaky_relu(self.conv2(x), 0.2))
        return torch.softmax(self.norm(self.fc(torch.flatten(x, 1))), dim=-1)


class Mlp(nn.Module):
    """On (N, T, C): torch exports the Linear layers as MatMul + Add."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(6, 12)
        self.b = nn.Linear(6, 12)
        self.norm = nn.LayerNorm(24)
        self.out = nn.Linear(24, 4, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.cat([torch.tanh(self.a(x)), torch.sigmoid(self.b(x)) + torch.tanh(self.a(x))], dim=-1)
        return self.out(nn.functional.gelu(self.norm(y)))


class Tokens(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(20, 8)
        self.head = nn.Linear(8, 3)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(tokens).mean(dim=1))


class Recurrent(nn.Module):
    """torch exports a batch-first LSTM as Transpose → LSTM → Squeeze (per layer) → Transpose."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(20, 8)
        self.lstm = nn.LSTM(8, 12, num_layers=2, batch_first=True)
        self.gru = nn.GRU(12, 6, batch_first=True)
        self.head = nn.Linear(6, 2)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        y, _ = self.lstm(self.embed(tokens))
        y, _ = self.gru(y)
        return self.head(y[:, -1])


class Upsampling(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.nearest = nn.Upsample(scale_factor=2)
        self.bilinear = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return torch.cat([self.nearest(y), self.bilinear(y)], dim=1)


class Custom(nn.Module):
    """Ops outside the catalog (Exp, Sub of a constant, Abs, Clip) and a constant tensor operand."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.register_buffer("offset", torch.linspace(-1, 1, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.exp(self.fc(x).clamp(-3, 2)) - self.offset
        return y.abs() * 2.0


CASES = {"Cnn": (Cnn, (3, 12, 12), torch.float32, 0), "Mlp": (Mlp, (7, 6), torch.float32, 0),
         "Tokens": (Tokens, (9,), torch.int64, 0), "Recurrent": (Recurrent, (7,), torch.int64, 0),
         "Upsampling": (Upsampling, (3, 5, 5), torch.float32, 0), "Custom": (Custom, (4,), torch.float32, 5)}


def _export(model: nn.Module, example: torch.Tensor, path: Path, dynamic: dict | None = None) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), (example,), str(path), input_names=["x"], output_names=["y"],
                          dynamic_axes=dynamic or {"x": {0: "N"}, "y": {0: "N"}}, opset_version=17, dynamo=False)
    return path


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _generated(graph_path: Path, tmp_path: Path, name: str) -> nn.Module:
    from safetensors.torch import load_file

    source = tmp_path / f"{name}_gen.py"
    source.write_text(generate_pytorch(load_graph(graph_path)).source)
    model = _load(source, f"onnx_generated_{name}").build_model()
    model.load_state_dict(load_file(str(graph_path.with_suffix(".safetensors"))), strict=True)
    return model.eval()


@pytest.mark.parametrize("name", list(CASES))
def test_generated_code_and_weights_compute_what_onnxruntime_computes(name, tmp_path, capsys):
    cls, shape, dtype, custom = CASES[name]
    torch.manual_seed(0)
    original = cls().eval()
    gen = torch.Generator().manual_seed(3)
    example = torch.randint(0, 20, (2, *shape), generator=gen) if dtype == torch.int64 else \
        torch.randn((2, *shape), generator=gen)
    onnx_path = _export(original, example, tmp_path / f"{name}.onnx")
    out = tmp_path / "net.nfg"
    assert main(["import", str(onnx_path), "-o", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["custom"]) == custom, report["custom"]
    assert report["max_abs_diff"] <= 1e-5
    trained = {id(p): p for p in original.parameters()}
    assert report["params"] == sum(p.numel() for p in trained.values())

    model = _generated(out, tmp_path, name)
    x = torch.randint(0, 20, (5, *shape), generator=gen) if dtype == torch.int64 else \
        torch.randn((5, *shape), generator=gen)  # another batch than the import's
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    want = torch.from_numpy(session.run(None, {"x": x.numpy()})[0])
    with torch.no_grad():
        got = model(x)
    assert float((got - want).abs().max()) <= 1e-5
    assert sum(p.numel() for p in model.parameters()) == report["params"]


class Heads(nn.Module):
    """A reshape whose one size follows the sequence length (exported as Shape arithmetic)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x).reshape(x.shape[0], -1, 2, 4).transpose(1, 2)


def test_a_reshape_that_follows_the_sequence_length_keeps_it_free(tmp_path):
    torch.manual_seed(0)
    original = Heads().eval()
    path = _export(original, torch.randn(2, 5, 6), tmp_path / "heads.onnx",
                   {"x": {0: "N", 1: "T"}, "y": {0: "N", 2: "T"}})
    result = import_onnx(path)
    reshape = next(n for n in result.graph if n.type == "Reshape")
    assert reshape.params["shape"] == [-1, 2, 4]
    from neuralforge_desktop.core.importers.import_torch import write_import

    write_import(result, tmp_path / "heads.nfg")
    model = _generated(tmp_path / "heads.nfg", tmp_path, "heads")
    x = torch.randn(3, 11, 6)  # another batch and another T than the import's
    with torch.no_grad():
        assert float((model(x) - original(x)).abs().max()) <= 1e-5


def test_custom_nodes_keep_the_attributes_in_their_code(tmp_path):
    torch.manual_seed(0)
    path = _export(Custom(), torch.randn(2, 4), tmp_path / "c.onnx")
    result = import_onnx(path)
    sources = "\n".join(result.sources)
    assert "return torch.clamp(x0, min=-3.0, max=2.0)" in sources  # Clip's bounds, as literals
    assert "return x0 * 2.0" in sources and "return x0 - self.c1" in sources  # a scalar, and a vector as a buffer
    assert "ONNX Exp, kept as code" in sources
    assert all("ONNX" in reason for _, reason in result.report.custom)


def test_an_op_without_a_template_is_refused_by_name(tmp_path, capsys):
    from onnx import TensorProto, helper

    node = helper.make_node("Hardmax", ["x"], ["y"], name="pick", axis=-1)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])])
    path = tmp_path / "h.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    out = tmp_path / "h.nfg"
    assert main(["import", str(path), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "Hardmax (node 'pick')" in err and err.count("\n") == 1, err
    assert not out.exists() and not out.with_suffix(".safetensors").exists()


@pytest.mark.parametrize("content", [None, b"not an onnx file", b"\x08\x07\x12\x03abc"])
def test_a_bad_file_is_one_clear_error_and_writes_nothing(content, tmp_path, capsys):
    path = tmp_path / "model.onnx"
    if content is not None:
        path.write_bytes(content)
    out = tmp_path / "out.nfg"
    assert main(["import", str(path), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert ("no such file" if content is None else "not a valid ONNX model") in err and err.count("\n") == 1, err
    assert not out.exists() and not out.with_suffix(".safetensors").exists()


def _nf_export(name: str, tmp_path: Path) -> tuple:
    from neuralforge_desktop.core.exporters.pipeline import ExportRequest, export_graph

    graph = zoo.build(name)
    path = tmp_path / f"{name}.onnx"
    export_graph(ExportRequest(graph, "onnx", path, verify=False, record=False, latency_batches=()))
    return graph, import_onnx(path)


def _flat_layers(graph) -> Counter:
    """Layer types of the model side, blocks unrolled (an ONNX file has no blocks)."""
    found: Counter = Counter()
    for node in graph:
        if node.type == "Block":
            for key, count in _flat_layers(node.body).items():
                found[key] += count * node.repeat
        elif node.type not in ("Input", "Output") and not node.type.endswith("Loss"):
            found[node.type] += 1
    return found


@pytest.mark.parametrize("name", ["mnist-cnn", "lenet5", "tabular-mlp", "gru-forecast"])
def test_round_trip_through_neuralforges_own_export(name, tmp_path):
    graph, result = _nf_export(name, tmp_path)
    for node in [n for n in graph if n.type.startswith("Dropout")]:
        graph.remove_node(node.id, rewire=True)  # an inference file has no dropout …
    for node in graph:
        if "dropout" in node.params:
            graph.set_param(node.id, "dropout", 0.0)  # … between recurrent layers either
    for symbol, size in graph.symbols.items():
        result.graph.set_symbol(symbol, size)  # ONNX names a dynamic size but keeps no default for it
    assert canonical(result.graph) == canonical(graph)
    assert result.report.max_abs_diff <= 1e-5 and not result.report.custom


def test_round_trip_resnet18_comes_back_flat_with_batchnorm_folded(tmp_path):
    graph, result = _nf_export("resnet18", tmp_path)
    want = _flat_layers(graph)
    # the export folds each BatchNorm into the Conv before it (eval mode), so the Conv gains a bias
    want.pop("BatchNorm2d")
    assert _flat_layers(result.graph) == want
    assert all(n.params.get("bias", True) for n in result.graph if n.type == "Conv2d")
    assert result.report.max_abs_diff <= 1e-5 and not result.report.custom
