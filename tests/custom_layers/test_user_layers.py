"""Custom layers written in Python: parameters from ``__init__``, shapes and costs from meta runs equal to torch's,
the class in generated code, a graph that builds and runs, errors on the node, removal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from neuralforge_desktop.core.analysis.cost import estimate_cost
from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.build.torch_builder import build_model
from neuralforge_desktop.core.catalog import user_layers
from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.codegen.pytorch import generate_pytorch

from layer_harness import NODE, generated_model, layer_graph, loss_setup

SOURCE = '''\
import torch
from torch import nn

GAIN = 2


def shift(x):
    return x + 1


class ScaleChannels(nn.Module):
    """A 1×1 convolution, then a learned per-channel scale."""

    def __init__(self, channels: int, scale: float = 1.0):
        super().__init__()
        self.proj = nn.Conv2d(channels, channels, 1)
        self.weight = nn.Parameter(torch.ones(channels))
        self.scale = scale

    def forward(self, x):
        return shift(self.proj(x)) * self.weight[:, None, None] * self.scale * GAIN


class Broken(nn.Module):
    def __init__(self, fail: bool = False):
        super().__init__()
        self.fail = fail

    def forward(self, x):
        if self.fail:
            raise ValueError("told to fail")
        return x


class Squash(nn.Module):
    def __init__(self, squash: bool = False):
        super().__init__()
        self.squash = squash

    def forward(self, x):
        return x.sum() if self.squash else x


def l1_loss(pred, target):
    return (pred - target).abs().mean()


class Turned(nn.Module):
    def forward(self, x):
        return x.t()


class SquaredLoss(nn.modules.loss._Loss):
    def forward(self, a, b):
        return ((a - b) ** 2).mean()


class FocalLoss(nn.Module):
    def __init__(self, gamma: float = 2.0):
        super().__init__()
        self.gamma = gamma

    def forward(self, scores, labels):
        logp = torch.log_softmax(scores, dim=1).gather(1, labels[:, None]).squeeze(1)
        return (-((1 - logp.exp()) ** self.gamma) * logp).mean()
'''


@pytest.fixture
def layers_file(tmp_path: Path) -> Path:
    path = tmp_path / "mine.py"
    path.write_text(SOURCE)
    return path


@pytest.fixture
def added(layers_file: Path) -> Iterator[Path]:
    cat = catalog()
    user_layers.add_file(layers_file, "ScaleChannels", cat, inputs=["N, 16, 8, 8"], init={"channels": 16})
    yield layers_file
    for name in ("ScaleChannels", "Broken", "Squash", "l1_loss", "FocalLoss", "SquaredLoss"):
        if (user_layers.default_layers_dir() / f"{name}.json").exists():
            user_layers.remove(name, cat)


def _reference(channels: int, scale: float) -> torch.nn.Module:
    namespace: dict = {}
    exec(SOURCE, namespace)
    return namespace["ScaleChannels"](channels, scale)


def test_params_shapes_and_costs_equal_torch(added: Path) -> None:
    layer = catalog().get("ScaleChannels")
    assert layer.category == "Custom" and layer.plugin == user_layers.PLUGIN
    assert [(p.name, p.kind, p.default) for p in layer.params] == [("channels", "int", 16), ("scale", "float", 1.0)]
    graph = layer_graph("ScaleChannels", {"x": (2, 8, 5, 7)}, {"channels": 8, "scale": 0.5})
    shapes = ShapeInference(graph).run()
    assert shapes.ok, [d.message for d in shapes.errors]
    assert shapes.results[NODE].outputs["y"].shape == ("N", 8, 5, 7)  # the symbolic batch is put back
    reference = _reference(8, 0.5)
    x = torch.randn(3, 8, 5, 7)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        expected = reference(x)
    report = estimate_cost(graph, shapes, batch_size=3)
    assert report.params == sum(p.numel() for p in reference.parameters()) == 8 * 8 + 8 + 8
    assert report.macs == counter.get_total_flops() // 2 > 0
    assert tuple(expected.shape) == (3, 8, 5, 7)


def test_codegen_emits_the_class_and_runs(added: Path) -> None:
    graph = layer_graph("ScaleChannels", {"x": (2, 4, 3, 3)}, {"channels": 4, "scale": 2.0})
    code = generate_pytorch(graph)
    assert "class ScaleChannels(nn.Module):" in code.source and "def shift(x):" in code.source
    assert "GAIN = 2" in code.source and "ScaleChannels(" in code.source
    torch.manual_seed(0)
    from_source = generated_model(code)
    torch.manual_seed(0)
    built = build_model(graph).eval()
    x = torch.randn(2, 4, 3, 3)
    with torch.no_grad():
        assert torch.allclose(from_source(x), built(x))
        assert built(x).shape == (2, 4, 3, 3)


def test_a_loss_function_is_a_loss_training_uses(layers_file: Path, added: Path) -> None:
    layer = user_layers.add_file(layers_file, "l1_loss", catalog())
    assert layer.is_loss and [p.name for p in layer.inputs] == ["input", "target"]
    assert layer.torch is not None and "def l1_loss" in layer.torch.helpers[0]
    inputs = {"input": (2, 16), "target": (2, 16)}
    shapes = ShapeInference(layer_graph("l1_loss", inputs)).run()
    assert shapes.ok and shapes.results[NODE].outputs["loss"].shape == ()
    loss_fn = loss_setup("l1_loss", inputs)  # as training builds it
    assert float(loss_fn(torch.zeros(2, 16), torch.ones(2, 16))) == pytest.approx(1.0)
    torch_loss = user_layers.add_file(layers_file, "SquaredLoss", catalog())  # torch's _Loss: size_average=None …
    assert torch_loss.is_loss and [(p.name, p.default) for p in torch_loss.params] == [("reduction", "mean")]


@pytest.mark.parametrize("name,params,expected", [
    ("Broken", {"fail": True}, "ValueError: told to fail"),
    ("Squash", {"squash": True}, "()"),
])
def test_a_failing_forward_is_a_shape_error_on_the_node(added: Path, name: str, params: dict,
                                                         expected: str) -> None:
    user_layers.add_file(added, name, catalog())  # the check run uses the defaults, which work
    shapes = ShapeInference(layer_graph(name, {"x": (2, 4)}, params)).run()
    (diag,) = shapes.errors
    assert diag.node == NODE and expected in diag.message


def test_a_check_run_that_fails_adds_nothing(added: Path) -> None:
    with pytest.raises(user_layers.CustomLayerError, match="forward failed"):
        user_layers.add_file(added, "ScaleChannels", catalog(), inputs=["N, 3, 8, 8"], init={"channels": 16})
    with pytest.raises(user_layers.CustomLayerError, match="must keep the batch axis first"):
        user_layers.add_file(added, "Turned", catalog(), inputs=["N, 4"])
    with pytest.raises(user_layers.CustomLayerError, match="neither an nn.Module"):
        user_layers.add_file(added, "GAIN", catalog())
    with pytest.raises(user_layers.CustomLayerError, match="already a"):
        user_layers.add_source("from torch import nn\n\nclass Linear(nn.Module):\n    def forward(self, x):\n"
                               "        return x\n", "Linear", catalog())


def test_saved_layers_load_at_start_and_remove_works(added: Path) -> None:
    folder = user_layers.default_layers_dir()
    assert (folder / "ScaleChannels.py").read_text() == SOURCE
    from neuralforge_desktop.core.catalog.registry import Catalog

    (folder / "Junk.json").write_text("{not json")
    fresh = Catalog()
    user_layers.load_into(fresh)  # a broken file is reported like a broken plugin, never fatal
    assert fresh.get("ScaleChannels").category == "Custom"
    assert any("'Junk' failed to load" in message for message in fresh.plugin_errors)
    (folder / "Junk.json").unlink()
    user_layers.remove("ScaleChannels", catalog())
    assert "ScaleChannels" not in catalog() and not (folder / "ScaleChannels.json").exists()
    with pytest.raises(user_layers.CustomLayerError, match="no custom layer"):
        user_layers.remove("ScaleChannels", catalog())


def test_cli_add_and_remove(layers_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from neuralforge_desktop.cli.main import main

    try:
        assert main(["layers", "add", f"{layers_file}:ScaleChannels", "--input", "N, 16, 8, 8",
                     "--arg", "channels=16"]) == 0
        out = capsys.readouterr().out
        assert "added custom layer ScaleChannels" in out and "channels: int = 16" in out
        assert main(["layers", "ScaleChannels"]) == 0 and "[plugin user]" in capsys.readouterr().out
        assert main(["layers", "add", f"{layers_file}:Nothing"]) == 1
        assert "defines no 'Nothing'" in capsys.readouterr().err
    finally:
        assert main(["layers", "remove", "ScaleChannels"]) == 0
    assert "ScaleChannels" not in catalog()
    assert main(["layers", "remove", "ScaleChannels"]) == 1


def test_a_graph_with_a_custom_layer_exports_to_onnx(added: Path, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from neuralforge_desktop.core.exporters.pipeline import ExportRequest, export_graph

    graph = layer_graph("ScaleChannels", {"x": (2, 4, 6, 6)}, {"channels": 4, "scale": 0.5})
    report = export_graph(ExportRequest(graph, "onnx", tmp_path / "scale.onnx", latency_batches=(),
                                        store=tmp_path / "store.db", record=False))
    assert (tmp_path / "scale.onnx").is_file()
    assert report.parity and max(p["max_abs"] for p in report.parity) <= 1e-4


def test_a_graph_with_a_custom_layer_and_loss_trains(added: Path, tmp_path: Path) -> None:
    from neuralforge_desktop.core.ir.compose import Composer
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.training.config import TrainConfig
    from neuralforge_desktop.core.training.engine import Trainer
    from neuralforge_desktop.core.training.runner import prepare_run

    loss = user_layers.add_file(added, "FocalLoss", catalog(), inputs=["N, 10", "N: int64"])
    assert loss.is_loss and loss.inputs[1].dtype == "any"  # integer targets: class labels
    c = Composer("custom-digits")
    x = c.input("image", [1, 8, 8])
    x = c.layer("ScaleChannels", x, "scale", channels=1)
    x = c.layer("Flatten", x, "flat")
    logits = c.layer("Linear", x, "fc", out_features=10)
    c.output(logits, "logits")
    label = c.input("label", [], dtype="int64", role="target")
    c.layer("FocalLoss", {"input": logits, "target": label}, "loss")
    graph = c.done()
    store = Store(tmp_path / "store.db")
    config = TrainConfig(dataset="digits", epochs=1, batch_size=64, lr=3e-3, seed=7, threads=1, log_every=5)
    run_id, folder = prepare_run(graph, config, store, "tests")
    events: list = []
    result = Trainer(graph, config, run_id, folder, events.append, store).run()
    assert result.status == "finished", events[-1]
    report = estimate_cost(graph, batch_size=4)
    assert report.macs == 4 * (64 + 64 * 10) and not any("failed" in row.note for row in report.rows)
    assert result.best_metric > 0.2  # one short epoch, well above chance (0.1): the custom loss trains
