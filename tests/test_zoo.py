"""The model zoo: every template builds, passes shape inference, and matches its reference's size."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.analysis.cost import estimate_cost
from neuralforge_desktop.core.analysis.lint import lint
from neuralforge_desktop.core.analysis.shapes import ShapeInference, infer_shapes, node_ports
from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.ir.graph import INPUT, OUTPUT, Graph
from neuralforge_desktop.core.ir.serialize import dumps, loads
from neuralforge_desktop.core.ir.types import TensorSpec, resolve_dim

NAMES = [entry.name for entry in zoo.list_models()]
COUNTED = [entry.name for entry in zoo.list_models() if entry.reference_params is not None]


# -- counting parameters by walking the graph -----------------------------------------------------------------
def _tied_size(graph: Graph, inference: ShapeInference, node_id: str, param: str) -> int:
    """Size of one named parameter: ``weight`` is the count without bias, ``bias`` the difference."""
    node = graph.node(node_id)
    layer = catalog().get(node.type)
    result = inference.results[node_id]
    assert result.params is not None
    full = layer.param_count(result.params, result.inputs)
    if layer.param_spec("bias") is None:
        assert param == "weight", f"cannot size {node_id}.{param}"
        return full
    unbiased = layer.param_count(type(result.params)({**result.params, "bias": False}), result.inputs)
    return unbiased if param == "weight" else full - unbiased


def count_params(graph: Graph, overrides: Mapping[str, TensorSpec] | None = None) -> int:
    """Trainable parameters: every layer's count, block bodies once per repetition, tied weights once."""
    inference = ShapeInference(graph, input_overrides=overrides).run()
    assert inference.errors == [], [str(d) for d in inference.errors]
    total = 0
    for node in graph:
        result = inference.results[node.id]
        if node.type in (INPUT, OUTPUT):
            continue
        if node.is_block:
            assert node.body is not None and result.params is not None
            ins, outs = node_ports(node, None, result.params)
            current = dict(result.inputs)
            for _ in range(node.repeat):
                total += count_params(node.body, current)
                produced = ShapeInference(node.body, input_overrides=current).run().graph_outputs()
                current = {i.name: produced[o.name] for i, o in zip(ins, outs, strict=False)}
            continue
        assert result.params is not None
        total += catalog().get(node.type).param_count(result.params, result.inputs)
    for tie in graph.ties:
        total -= _tied_size(graph, inference, tie.node, tie.param)
    return total


# -- the registry ---------------------------------------------------------------------------------------------
def test_registry_lists_the_agreed_models() -> None:
    expected = {"mnist-cnn", "lenet5", "resnet18", "resnet50", "mobilenet-v2", "vgg11", "unet-small",
                "autoencoder", "lstm-text", "transformer-text", "bert-tiny", "bert-base", "gpt2-small", "gpt2-tiny"}
    assert expected <= set(NAMES)
    assert len(NAMES) == len(set(NAMES))
    for entry in zoo.list_models():
        assert entry.task in zoo.TASKS
        assert entry.title and entry.description
        assert (entry.reference_params is None) == (entry.reference == "")
    assert [e.name for e in zoo.list_models("nlp")] == [e.name for e in zoo.list_models() if e.task == "nlp"]


def test_unknown_model_is_reported_by_name() -> None:
    with pytest.raises(zoo.UnknownModelError, match="no-such-model"):
        zoo.get_model("no-such-model")
    with pytest.raises(KeyError):
        zoo.build("no-such-model")


def test_task_must_be_known() -> None:
    with pytest.raises(ValueError, match="task"):
        zoo.ZooEntry("x", "X", "audio", "", Graph)


# -- every model ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_model_builds_and_infers_without_errors(name: str) -> None:
    graph = zoo.build(name)
    entry = zoo.get_model(name)
    assert graph.meta == {"zoo": name, "task": entry.task, "description": entry.description}
    inference = infer_shapes(graph)
    assert [str(d) for d in inference.errors] == []
    outputs = inference.graph_outputs()
    assert outputs and all(spec.shape[0] == "N" for spec in outputs.values())
    for path, node in graph.walk():
        assert node.id.isidentifier(), path
        if node.is_block:
            assert node.body is not None and node.body.input_nodes and node.body.output_nodes, path
    losses = [n for n in graph if catalog().get(n.type).is_loss]
    targets = [n for n in graph.input_nodes if n.params.get("role") == "target"]
    assert len(losses) == len(targets) <= 1
    for loss in losses:
        assert inference.spec(loss.id, "loss") is not None


@pytest.mark.parametrize("name", NAMES)
def test_build_returns_a_fresh_laid_out_graph(name: str) -> None:
    first, second = zoo.build(name), zoo.build(name)
    assert first is not second
    assert first.nodes.keys() == second.nodes.keys()
    first.remove_node(first.output_nodes[0].id)
    assert len(second.output_nodes) == len(zoo.build(name).output_nodes)
    for graph in [second] + [n.body for _, n in second.walk() if n.body is not None]:
        positions = [n.position for n in graph]
        assert len(set(positions)) == len(positions), f"{name}: nodes overlap in {graph.name}"


@pytest.mark.parametrize("name", NAMES)
def test_templates_are_lint_clean(name: str) -> None:
    assert [str(d) for d in lint(zoo.build(name))] == []


@pytest.mark.parametrize("name", NAMES)
def test_round_trips_through_a_graph_file(name: str) -> None:
    graph = zoo.build(name)
    text = dumps(graph)
    loaded = loads(text)
    assert dumps(loaded) == text
    assert loaded.meta["zoo"] == name and loaded.symbols == graph.symbols and loaded.ties == graph.ties
    assert count_params(loaded) == count_params(graph)


@pytest.mark.parametrize("name", COUNTED)
def test_param_count_matches_reference(name: str) -> None:
    graph = zoo.build(name)
    assert count_params(graph) == zoo.get_model(name).reference_params


@pytest.mark.parametrize("name", COUNTED)
def test_cost_model_agrees_and_costs_every_node(name: str) -> None:
    report = estimate_cost(zoo.build(name))
    assert report.params == zoo.get_model(name).reference_params
    assert report.uncounted == []
    assert report.macs > 0


def test_symbols_and_ties() -> None:
    assert zoo.build("lstm-text").symbols == {"T": 200}
    assert zoo.build("bert-base").symbols == {"T": 128}
    gpt2 = zoo.build("gpt2-small")
    assert gpt2.symbols == {"T": 128}
    assert [(t.node, t.param, t.source, t.source_param) for t in gpt2.ties] == [("lm_head", "weight", "wte",
                                                                                  "weight")]


def test_attention_is_causal_only_in_gpt2() -> None:
    for name, causal in (("gpt2-small", True), ("gpt2-tiny", True), ("bert-base", False), ("bert-tiny", False)):
        attention = [n for _, n in zoo.build(name).walk() if n.type == "MultiheadAttention"]
        assert attention and all(n.params.get("causal", False) is causal for n in attention), name


def test_resnet_stages_are_blocks_with_repeats() -> None:
    graph = zoo.build("resnet50")
    stages = [n for n in graph if n.is_block]
    assert [n.id for n in stages] == ["layer1", "layer2", "layer3", "layer4"]
    repeats = []
    for stage in stages:
        assert stage.body is not None
        inner = {n.id: n for n in stage.body if n.is_block}
        assert inner["block0"].body is not None and "downsample" in inner["block0"].body
        repeats.append(1 + inner["blocks"].repeat)
    assert repeats == [3, 4, 6, 3]


# -- plain torch.nn references --------------------------------------------------------------------------------
@functools.cache
def torch_references() -> dict[str, Callable[[], Any]]:
    """Each model written in plain torch.nn (torchvision and transformers are not dependencies)."""
    import torch
    from torch import nn

    class _Basic(nn.Module):
        expansion = 1

        def __init__(self, cin: int, width: int, stride: int) -> None:
            super().__init__()
            cout = width
            self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                                      nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
            self.down = _down(cin, cout, stride)

        def forward(self, x: Any) -> Any:
            return torch.relu(self.body(x) + self.down(x))

    class _Bottleneck(nn.Module):
        expansion = 4

        def __init__(self, cin: int, width: int, stride: int) -> None:
            super().__init__()
            cout = width * 4
            self.body = nn.Sequential(
                nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                nn.Conv2d(width, cout, 1, bias=False), nn.BatchNorm2d(cout))
            self.down = _down(cin, cout, stride)

        def forward(self, x: Any) -> Any:
            return torch.relu(self.body(x) + self.down(x))

    def _down(cin: int, cout: int, stride: int) -> Any:
        if stride == 1 and cin == cout:
            return nn.Identity()
        return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def _resnet(block: type, layers: tuple[int, ...]) -> Any:
        mods: list[Any] = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                           nn.MaxPool2d(3, 2, 1)]
        cin = 64
        for i, (width, n) in enumerate(zip((64, 128, 256, 512), layers, strict=True)):
            for j in range(n):
                mods.append(block(cin, width, 2 if i > 0 and j == 0 else 1))
                cin = width * block.expansion
        mods += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 1000)]
        return nn.Sequential(*mods)

    class _InvertedResidual(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int, t: int) -> None:
            super().__init__()
            hidden = cin * t
            mods: list[Any] = []
            if t != 1:
                mods += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6()]
            mods += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
                     nn.ReLU6(), nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
            self.conv = nn.Sequential(*mods)
            self.residual = stride == 1 and cin == cout

        def forward(self, x: Any) -> Any:
            return x + self.conv(x) if self.residual else self.conv(x)

    def _mobilenet_v2() -> Any:
        from neuralforge_desktop.core.zoo.vision import MOBILENET_V2_SETTINGS

        mods: list[Any] = [nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6()]
        cin = 32
        for t, c, n, s in MOBILENET_V2_SETTINGS:
            for i in range(n):
                mods.append(_InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        mods += [nn.Conv2d(cin, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU6(), nn.AdaptiveAvgPool2d(1),
                 nn.Flatten(), nn.Dropout(0.2), nn.Linear(1280, 1000)]
        return nn.Sequential(*mods)

    def _vgg11() -> Any:
        mods: list[Any] = []
        cin = 3
        for v in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"):
            if v == "M":
                mods.append(nn.MaxPool2d(2, 2))
            else:
                mods += [nn.Conv2d(cin, int(v), 3, padding=1), nn.ReLU()]
                cin = int(v)
        mods += [nn.AdaptiveAvgPool2d(7), nn.Flatten(), nn.Linear(512 * 49, 4096), nn.ReLU(), nn.Dropout(),
                 nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 1000)]
        return nn.Sequential(*mods)

    class _UNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            from neuralforge_desktop.core.zoo.segmentation import UNET_CLASSES, UNET_IN_CHANNELS, UNET_WIDTHS

            def double(cin: int, cout: int) -> Any:
                return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                                     nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

            ins = (UNET_IN_CHANNELS,) + UNET_WIDTHS[:-1]
            self.enc = nn.ModuleList(double(a, b) for a, b in zip(ins, UNET_WIDTHS, strict=True))
            self.bottleneck = double(UNET_WIDTHS[-1], 2 * UNET_WIDTHS[-1])
            belows = UNET_WIDTHS[1:] + (2 * UNET_WIDTHS[-1],)
            self.up = nn.ModuleList(nn.ConvTranspose2d(b, w, 2, 2) for w, b in zip(UNET_WIDTHS, belows, strict=True))
            self.dec = nn.ModuleList(double(2 * w, w) for w in UNET_WIDTHS)
            self.head = nn.Conv2d(UNET_WIDTHS[0], UNET_CLASSES, 1)

        def forward(self, x: Any) -> Any:
            skips = []
            for enc in self.enc:
                x = enc(x)
                skips.append(x)
                x = torch.max_pool2d(x, 2)
            x = self.bottleneck(x)
            for up, dec, skip in reversed(list(zip(self.up, self.dec, skips, strict=True))):
                x = dec(torch.cat([up(x), skip], 1))
            return self.head(x)

    def _encoder_stack(d: int, heads: int, ffn: int, layers: int, norm_first: bool) -> Any:
        layer = nn.TransformerEncoderLayer(d, heads, ffn, batch_first=True, norm_first=norm_first)
        return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)

    def _bert(layers: int, d: int, heads: int, ffn: int) -> Any:
        return nn.ModuleList([nn.Embedding(30522, d), nn.Embedding(512, d), nn.Embedding(2, d), nn.LayerNorm(d),
                              _encoder_stack(d, heads, ffn, layers, False), nn.Linear(d, d)])

    def _gpt2() -> Any:
        wte = nn.Embedding(50257, 768)
        head = nn.Linear(768, 50257, bias=False)
        head.weight = wte.weight  # tied: counted once by parameters()
        return nn.ModuleList([wte, nn.Embedding(1024, 768), _encoder_stack(768, 12, 3072, 12, True),
                              nn.LayerNorm(768), head])

    def _seq(*mods: Any) -> Any:
        return nn.Sequential(*mods)

    return {
        "mnist-cnn": lambda: _seq(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                  nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(), nn.Linear(128, 10)),
        "lenet5": lambda: _seq(nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5),
                               nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.Tanh(),
                               nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10)),
        "resnet18": lambda: _resnet(_Basic, (2, 2, 2, 2)),
        "resnet50": lambda: _resnet(_Bottleneck, (3, 4, 6, 3)),
        "mobilenet-v2": _mobilenet_v2,
        "vgg11": _vgg11,
        "unet-small": _UNet,
        "autoencoder": lambda: _seq(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 64), nn.ReLU(),
                                    nn.Linear(64, 32), nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 256), nn.ReLU(),
                                    nn.Linear(256, 784), nn.Sigmoid(), nn.Unflatten(1, (1, 28, 28))),
        "lstm-text": lambda: nn.ModuleList([nn.Embedding(20000, 128), nn.LSTM(128, 128, batch_first=True),
                                            nn.Linear(128, 2)]),
        "transformer-text": lambda: nn.ModuleList([nn.Embedding(20000, 128), nn.Embedding(512, 128),
                                                   _encoder_stack(128, 4, 512, 2, True), nn.LayerNorm(128),
                                                   nn.Linear(128, 2)]),
        "bert-tiny": lambda: nn.ModuleList([_bert(2, 128, 2, 512), nn.Linear(128, 2)]),
        "bert-base": lambda: _bert(12, 768, 12, 3072),
        "gpt2-small": _gpt2,
        "gpt2-tiny": lambda: nn.ModuleList([nn.Embedding(2048, 128), nn.Embedding(256, 128),
                                            _encoder_stack(128, 4, 512, 2, True), nn.LayerNorm(128),
                                            nn.Linear(128, 2048, bias=False)]),
        "tabular-mlp": lambda: _seq(nn.Linear(16, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Dropout(0.2),
                                    nn.Linear(64, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Dropout(0.2),
                                    nn.Linear(64, 2)),
        "gru-forecast": lambda: nn.ModuleList([nn.GRU(4, 64, 2, batch_first=True, dropout=0.1), nn.Linear(64, 1)]),
    }


# Image models whose reference takes the image alone: compare the inferred output shape with torch's. (The
# builder test below runs every other small model; these are the cheap ones worth a second, independent check.)
FORWARD_CHECKS = ("mnist-cnn", "lenet5", "resnet18", "unet-small", "autoencoder")


def _n(module: Any) -> int:
    return sum(p.numel() for p in module.parameters())


def test_every_model_has_a_torch_reference() -> None:
    pytest.importorskip("torch")
    assert set(torch_references()) == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_param_count_matches_plain_torch(name: str) -> None:
    torch = pytest.importorskip("torch")
    graph = zoo.build(name)
    with torch.device("meta"):  # shapes only: no memory, no initialisation
        expected = _n(torch_references()[name]())
    assert count_params(graph) == expected
    reference = zoo.get_model(name).reference_params
    assert reference is None or reference == expected


@pytest.mark.parametrize("name", FORWARD_CHECKS)
def test_inferred_output_shape_matches_torch(name: str) -> None:
    torch = pytest.importorskip("torch")
    graph = zoo.build(name)
    inference = infer_shapes(graph)
    image = next(n for n in graph.input_nodes if n.params.get("role", "data") == "data")
    out = graph.output_nodes[0]
    model = torch_references()[name]().eval()
    with torch.no_grad():
        y = model(torch.zeros(1, *image.params["shape"]))
    assert ("N", *y.shape[1:]) == inference.graph_outputs()[out.id].shape


BIG = ("vgg11", "bert-base", "gpt2-small")  # built and counted, not run: a forward pass would take seconds


@pytest.mark.parametrize("name", NAMES)
def test_builds_as_a_torch_module_that_runs(name: str) -> None:
    torch = pytest.importorskip("torch")
    from neuralforge_desktop.core.build.torch_builder import build_model

    graph = zoo.build(name)
    if name in BIG:
        with torch.device("meta"):
            assert _n(build_model(graph)) == count_params(graph)
        return
    model = build_model(graph).eval()
    assert _n(model) == count_params(graph)
    bindings = {"N": 1, "T": 16}
    inputs = []
    for node in graph.input_nodes:
        if node.params.get("role") == "target":
            continue
        shape = [resolve_dim(d, bindings) for d in ("N", *node.params["shape"])]
        is_int = node.params["dtype"] == "int64"
        inputs.append(torch.randint(0, 2, shape) if is_int else torch.rand(shape))
    with torch.no_grad():
        result = model(*inputs)
    results = result if isinstance(result, tuple) else (result,)
    expected = infer_shapes(graph).graph_outputs()
    assert [tuple(r.shape) for r in results] == [
        tuple(resolve_dim(d, bindings) for d in expected[n.id].shape) for n in graph.output_nodes]
