"""Cost model: parameter and MAC counts against torch, scaling, ties, blocks, memory and latency."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from neuralforge_desktop.core.analysis import devices
from neuralforge_desktop.core.analysis.cost import CONVENTIONS, estimate_cost
from neuralforge_desktop.core.analysis.devices import DeviceProfile, cpu_profile, get_device, measure_cpu_profile
from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.catalog.registry import Catalog, builtin_layers
from neuralforge_desktop.core.catalog.spec import LayerDef, PortSpec
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.types import TensorSpec

torch = pytest.importorskip("torch")
nn = torch.nn


def _fake_cpu(calls: list[int] | None = None) -> DeviceProfile:
    if calls is not None:
        calls.append(1)
    return DeviceProfile("cpu", "test CPU", {p: 0.05 for p in devices.PRECISIONS}, 0.05, 10.0, 0.8, 1.0, 2.0,
                         "test stand-in", kind="cpu", extra={"measured": True})


@pytest.fixture(autouse=True)
def _no_real_cpu_measurement(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never write the user data dir nor time the real machine (except where they ask to)."""
    monkeypatch.setattr(devices, "default_cpu_profile_path", lambda: tmp_path / "cpu_profile.json")
    monkeypatch.setattr(devices, "measure_cpu_profile", lambda: _fake_cpu())
    monkeypatch.setattr(devices, "_CPU_MEMO", {})


def _cnn() -> Graph:
    c = Composer("cnn")
    x = c.input("image", [3, 32, 32])
    x = c.layer("Conv2d", x, "conv1", out_channels=16, kernel_size=3, padding=1)
    x = c.layer("Conv2d", x, "conv2", out_channels=32, kernel_size=3, stride=2, padding=1)
    x = c.layer("Conv2d", x, "dw", out_channels=32, kernel_size=3, padding=1, groups=32, bias=False)
    x = c.layer("Flatten", x, "flat")
    x = c.layer("Linear", x, "fc", out_features=10)
    x = c.layer("Identity", x, "same")
    c.output(x, "logits")
    return c.done()


def _torch_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.Conv2d(16, 32, 3, stride=2, padding=1),
        nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False), nn.Flatten(), nn.Linear(32 * 16 * 16, 10),
        nn.Identity(),
    )


def _torch_macs(model: nn.Module, x: torch.Tensor) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops() // 2


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_params_and_macs_match_torch() -> None:
    graph = _cnn()
    report = estimate_cost(graph, batch_size=2, device="t4")
    model = _torch_cnn()
    assert report.params == _params(model)
    assert report.trainable_params == report.params and report.non_trainable_params == 0
    assert report.macs == _torch_macs(model, torch.zeros(2, 3, 32, 32))
    assert report.flops == 2 * report.macs  # these layers have no elementwise extras
    assert report.uncounted == []
    x = torch.zeros(2, 3, 32, 32)
    for module, path in zip(model, ["conv1", "conv2", "dw", "flat", "fc", "same"], strict=True):
        row = report.row(path)
        assert row is not None
        assert row.params == _params(module), path
        assert row.macs == _torch_macs(module, x), path
        x = module(x)
        assert row.output_shape == "×".join(str(d) for d in x.shape)


def test_macs_and_activations_scale_with_batch() -> None:
    graph = _cnn()
    shapes = ShapeInference(graph).run()
    one = estimate_cost(graph, shapes, batch_size=1, device="t4")
    eight = estimate_cost(graph, shapes, batch_size=8, device="t4")
    assert eight.macs == 8 * one.macs and eight.flops == 8 * one.flops
    assert eight.activation_bytes == 8 * one.activation_bytes
    assert eight.params == one.params
    assert one.row("conv1").output_shape == "1×16×32×32"  # type: ignore[union-attr]
    assert eight.row("conv1").output_shape == "8×16×32×32"  # type: ignore[union-attr]
    # activation bytes: every node output, fp32, Output nodes add nothing
    expected = sum(4 * n for n in (3 * 32 * 32, 16 * 32 * 32, 32 * 16 * 16, 32 * 16 * 16, 32 * 16 * 16, 10, 10))
    assert one.activation_bytes == expected


def _two_linears(tie: bool, param: str = "weight") -> Graph:
    c = Composer("tied")
    x = c.input("x", [16])
    x = c.layer("Linear", x, "a", out_features=16)
    x = c.layer("Linear", x, "b", out_features=16)
    c.output(x, "y")
    if tie:
        c.tie("b", param, "a", param)
    return c.done()


def test_tied_params_are_counted_once() -> None:
    report = estimate_cost(_two_linears(True), device="t4")
    a, b = nn.Linear(16, 16), nn.Linear(16, 16)
    b.weight = a.weight
    assert report.params == _params(nn.Sequential(a, b)) == 2 * (16 * 16 + 16) - 16 * 16
    assert report.trainable_params == report.params
    assert report.row("b").params == 16  # type: ignore[union-attr]
    assert "shared with a.weight" in report.row("b").note  # type: ignore[union-attr]
    assert report.uncounted == []
    assert estimate_cost(_two_linears(False), device="t4").params == 2 * (16 * 16 + 16)


def test_tie_of_unknown_param_is_reported_not_guessed() -> None:
    report = estimate_cost(_two_linears(True, "gamma"), device="t4")
    assert "b (Linear)" in report.uncounted
    assert report.params == 2 * (16 * 16 + 16)


def test_tie_of_mismatched_sizes_is_reported() -> None:
    c = Composer("bad-tie")
    x = c.layer("Linear", c.input("x", [16]), "a", out_features=16)
    c.output(c.layer("Linear", x, "b", out_features=8), "y")
    c.tie("b", "weight", "a", "weight")  # 8×16 cannot share a 16×16 tensor
    report = estimate_cost(c.done(), device="t4")
    assert "b (Linear)" in report.uncounted and "elements" in report.row("b").note  # type: ignore[union-attr]


def test_lm_head_tied_to_embedding() -> None:
    from neuralforge_desktop.core.catalog.registry import catalog

    if "Embedding" not in catalog():
        pytest.skip("Embedding is not in the catalog yet")
    c = Composer("lm")
    h = c.layer("Embedding", c.input("tokens", [12], dtype="int64"), "wte", num_embeddings=100, embedding_dim=32)
    c.output(c.layer("Linear", h, "head", out_features=100, bias=False), "logits")
    c.tie("head", "weight", "wte", "weight")
    report = estimate_cost(c.done(), device="t4")
    wte = nn.Embedding(100, 32)
    head = nn.Linear(32, 100, bias=False)
    head.weight = wte.weight
    assert report.params == _params(nn.ModuleList([wte, head])) == 100 * 32
    assert report.uncounted == []


def _block_graph(repeat: int, width: int, trainable: bool = True) -> Graph:
    body = Composer("body")
    h = body.input("x", [32])
    h = body.layer("Linear", h, "lin", out_features=width)
    h = body.layer("Identity", h, "skip")
    body.output(h, "y")
    c = Composer("stack")
    x = c.input("x", [32])
    x = c.block("blk", body, x, repeat=repeat)
    c.output(x, "out")
    graph = c.done()
    graph.nodes["blk"].trainable = trainable
    return graph


def test_block_repeat_multiplies_and_rows_nest() -> None:
    report = estimate_cost(_block_graph(3, 32), batch_size=4, device="t4")
    model = nn.Sequential(*(nn.Linear(32, 32) for _ in range(3)))
    assert report.params == _params(model) == 3 * (32 * 32 + 32)
    assert report.macs == _torch_macs(model, torch.zeros(4, 32))
    block, inner = report.row("blk"), report.row("blk/lin")
    assert block is not None and inner is not None
    assert (block.depth, inner.depth, inner.repeat) == (0, 1, 3)
    assert block.params == inner.params == report.params
    assert block.macs == report.macs and block.output_shape == "4×32"
    assert report.row("blk/x").activation_bytes == 0  # type: ignore[union-attr]  # aliases the block input
    top_level = [r for r in report.rows if r.depth == 0]
    assert sum(r.params for r in top_level) == report.params


def test_block_copies_with_different_shapes_are_each_costed() -> None:
    report = estimate_cost(_block_graph(2, 64), batch_size=2, device="t4")
    model = nn.Sequential(nn.Linear(32, 64), nn.Linear(64, 64))
    assert report.params == _params(model)
    assert report.macs == _torch_macs(model, torch.zeros(2, 32))
    assert [r.path for r in report.rows].count("blk/lin") == 1
    assert report.row("blk/lin").repeat == 2  # type: ignore[union-attr]


def test_nested_blocks_multiply() -> None:
    inner = _block_graph(2, 32)
    c = Composer("outer")
    x = c.input("x", [32])
    x = c.block("stage", inner, x, repeat=3)
    c.output(x, "out")
    report = estimate_cost(c.done(), device="t4")
    assert report.params == 6 * (32 * 32 + 32)
    assert report.row("stage/blk/lin").repeat == 6  # type: ignore[union-attr]
    assert report.row("stage/blk/lin").depth == 2  # type: ignore[union-attr]


def test_frozen_block_is_not_trainable() -> None:
    report = estimate_cost(_block_graph(2, 32, trainable=False), device="t4")
    assert report.trainable_params == 0
    assert report.non_trainable_params == report.params == 2 * (32 * 32 + 32)


def _catalog_with(*layers: LayerDef) -> Catalog:
    cat = Catalog()
    cat.register_all(builtin_layers())
    for layer in layers:
        cat.register(layer, replace=True)
    return cat


MYSTERY = LayerDef(type="Mystery", category="Test", description="test op without a cost rule", math="y = ?(x)",
                   shape=lambda p, x: {"y": x["x"]}, macs=None)
TOY_LOSS = LayerDef(type="ToyLoss", category="Test", description="test loss", math="mean((x - t)²)",
                    inputs=(PortSpec("input"), PortSpec("target")), outputs=(PortSpec("loss"),),
                    shape=lambda p, x: {"loss": TensorSpec(())}, is_loss=True,
                    flops_extra=lambda p, x, y: 3 * x["input"][0] * x["input"][1])


def test_op_without_cost_rule_and_unknown_type_are_uncounted() -> None:
    cat = _catalog_with(MYSTERY)
    graph = Graph("odd")
    graph.add_node("Input", "x", {"shape": [8]})
    graph.add_node("Mystery", "m")
    graph.add_node("Linear", "lin", {"out_features": 4})
    graph.add_node("Output", "y")
    graph.add_node("NotARealLayer", "ghost")
    graph.connect("x", "y", "m", "x")
    graph.connect("m", "y", "lin", "x")
    graph.connect("lin", "y", "y", "x")
    report = estimate_cost(graph, ShapeInference(graph, cat).run(), device="t4")
    assert report.uncounted == ["m (Mystery)", "ghost (NotARealLayer)"]
    assert report.macs == 8 * 4  # the Linear still counts
    assert not report.row("m").counted and "no MACs rule" in report.row("m").note  # type: ignore[union-attr]
    assert report.to_json()["uncounted"] == report.uncounted


def test_symbols_bind_and_unbound_symbols_are_uncounted() -> None:
    c = Composer("seq")
    x = c.input("tokens", ["T", 16])
    c.output(c.layer("Linear", x, "lin", out_features=8), "y")
    graph = c.done()
    unbound = estimate_cost(graph, device="t4")
    assert "lin (Linear)" in unbound.uncounted and unbound.params == 16 * 8 + 8
    graph.symbols["T"] = 10
    shapes = ShapeInference(graph).run()
    ten = estimate_cost(graph, shapes, batch_size=2, device="t4")
    assert ten.uncounted == [] and ten.macs == 2 * 10 * 16 * 8
    assert ten.row("lin").output_shape == "2×10×8"  # type: ignore[union-attr]
    assert estimate_cost(graph, shapes, batch_size=2, device="t4", bindings={"T": 20}).macs == 2 * ten.macs


def test_training_memory_formula() -> None:
    c = Composer("mlp")
    x = c.input("x", [8])
    x = c.layer("Linear", x, "frozen", out_features=16)
    x = c.layer("Linear", x, "head", out_features=4)
    c.output(x, "y")
    graph = c.done()
    graph.nodes["frozen"].trainable = False
    shapes = ShapeInference(graph).run()
    report = estimate_cost(graph, shapes, batch_size=2, device="t4")
    params, trainable = 8 * 16 + 16 + 16 * 4 + 4, 16 * 4 + 4
    assert (report.params, report.trainable_params) == (params, trainable)
    assert report.non_trainable_params == params - trainable
    assert report.activation_bytes == 4 * 2 * (8 + 16 + 4)  # every output, kept or not
    # the frozen layer reads the raw input, so autograd records nothing there; the head keeps its input
    saved = 4 * 2 * 16
    assert report.saved_activation_bytes == saved
    assert report.training_memory_bytes == 4 * params + 4 * trainable + 2 * 4 * trainable + saved
    sgd = estimate_cost(graph, shapes, batch_size=2, device="t4", optimizer="sgd")
    assert sgd.training_memory_bytes == 4 * params + 4 * trainable + saved
    momentum = estimate_cost(graph, shapes, batch_size=2, device="t4", optimizer="sgd_momentum")
    assert momentum.training_memory_bytes == sgd.training_memory_bytes + 4 * trainable
    with pytest.raises(ValueError, match="optimizer"):
        estimate_cost(graph, shapes, device="t4", optimizer="lion")


def test_latency_grows_with_batch_and_h100_beats_t4() -> None:
    graph = _cnn()
    shapes = ShapeInference(graph).run()
    for device in ("t4", "a10g", "a100", "h100", "cpu"):
        times = [estimate_cost(graph, shapes, batch_size=n, device=device).latency_ms for n in (1, 4, 16, 64, 256)]
        assert times == sorted(times) and times[-1] > times[0], device
    t4 = estimate_cost(graph, shapes, batch_size=64, device="t4").latency_ms
    h100 = estimate_cost(graph, shapes, batch_size=64, device="h100").latency_ms
    assert h100 < t4
    fp16 = estimate_cost(graph, shapes, batch_size=256, device="a100", precision="fp16").latency_ms
    assert fp16 < estimate_cost(graph, shapes, batch_size=256, device="a100").latency_ms
    assert estimate_cost(graph, shapes, device="t4").row("flat").latency_ms == 0  # type: ignore[union-attr]


def test_losses_and_targets_cost_no_latency() -> None:
    graph = Graph("train")
    graph.add_node("Input", "x", {"shape": [8]})
    graph.add_node("Input", "t", {"shape": [4], "role": "target"})
    graph.add_node("Linear", "lin", {"out_features": 4})
    graph.add_node("ToyLoss", "loss")
    graph.add_node("Output", "y")
    graph.connect("x", "y", "lin", "x")
    graph.connect("lin", "y", "loss", "input")
    graph.connect("t", "y", "loss", "target")
    graph.connect("lin", "y", "y", "x")
    report = estimate_cost(graph, ShapeInference(graph, _catalog_with(TOY_LOSS)).run(), batch_size=4, device="t4")
    assert report.uncounted == []
    assert report.row("loss").latency_ms == 0 and report.row("loss").flops == 3 * 4 * 4  # type: ignore[union-attr]
    assert report.row("t").latency_ms == 0  # type: ignore[union-attr]
    assert report.latency_ms == report.row("lin").latency_ms > 0  # type: ignore[union-attr]


def test_json_report_has_every_key() -> None:
    data = estimate_cost(_cnn(), batch_size=3, device="a100").to_json()
    for key in ("batch_size", "device", "params", "trainable_params", "non_trainable_params", "buffers", "macs",
                "flops", "activation_bytes", "saved_activation_bytes", "peak_inference_activation_bytes",
                "training_memory_bytes", "latency_ms", "uncounted", "conventions", "nodes"):
        assert key in data, key
    assert data["batch_size"] == 3 and data["device"] == "a100"
    assert data["conventions"] == CONVENTIONS and "2 × MACs" in data["conventions"]["flops"]
    row = data["nodes"][1]
    for key in ("path", "type", "output_shape", "params", "trainable_params", "buffers", "macs", "flops",
                "activation_bytes", "saved_bytes", "latency_ms", "depth"):
        assert key in row, key
    json.dumps(data)


def _chain(length: int) -> Graph:
    c = Composer("chain")
    x = c.input("x", [64])
    for i in range(length):
        x = c.layer("Linear", x, f"lin{i}", out_features=64)
        x = c.layer("Identity", x, f"id{i}")
    c.output(x, "out")
    return c.done(layout=False)


def test_incremental_estimate_matches_fresh_and_is_fast() -> None:
    graph = _chain(499)
    shapes = ShapeInference(graph).run()
    first = estimate_cost(graph, shapes, device="t4")
    assert len(first.rows) == 1000 and first.params == 499 * (64 * 64 + 64)
    elapsed = []
    for width in (48, 32):  # best of two edits: a loaded machine's hiccups are not the estimate's time
        graph.set_param("lin250", "out_features", width)
        shapes.update(["lin250"])
        start = time.perf_counter()
        after = estimate_cost(graph, shapes, device="t4")
        elapsed.append(time.perf_counter() - start)
    assert after.params == first.params - 2 * (64 * 64 + 64) + (64 * 32 + 32) + (32 * 64 + 64)
    assert after.to_json() == estimate_cost(graph, ShapeInference(graph).run(), device="t4").to_json()
    assert min(elapsed) < 0.1  # typically 2-3 ms; generous for slow CI machines


def test_cpu_profile_is_measured_once_and_cached(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[int] = []
    monkeypatch.setattr(devices, "measure_cpu_profile", lambda: _fake_cpu(calls))
    path = tmp_path / "sub" / "cpu.json"
    first = cpu_profile(path)
    assert cpu_profile(path) is first and calls == [1]
    assert json.loads(path.read_text())["profile"]["name"] == "cpu"
    monkeypatch.setattr(devices, "_CPU_MEMO", {})  # a new session reads the file
    assert cpu_profile(path).to_json() == first.to_json() and calls == [1]
    cpu_profile(path, refresh=True)
    assert calls == [1, 1]
    assert get_device("CPU", cpu_profile_path=path).name == "cpu"


def test_real_measurement_and_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()
    profile = measure_cpu_profile(matmul_size=128, copy_mib=4, repeats=2)
    assert profile.extra["measured"] and profile.matmul_tflops["fp32"] > 0 and profile.bandwidth_gbs > 0
    assert "measured on this machine" in profile.source
    import numpy

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("no BLAS")

    monkeypatch.setattr(numpy, "matmul", broken)
    fallback = measure_cpu_profile(matmul_size=16, copy_mib=1)
    assert "fallback" in fallback.source and "no BLAS" in fallback.source and not fallback.extra["measured"]


def test_device_profiles() -> None:
    for name in ("t4", "a10g", "a100", "h100"):
        profile = get_device(name.upper())
        assert profile.source and 0 < profile.compute_efficiency <= 1 and profile.launch_overhead_us == 20.0
        assert profile.matmul_flops_per_s("fp16") >= profile.matmul_flops_per_s("fp32")
    assert get_device("h100").bandwidth_gbs > get_device("t4").bandwidth_gbs
    with pytest.raises(ValueError, match="unknown device"):
        get_device("tpu")
    with pytest.raises(ValueError, match="precision"):
        estimate_cost(_cnn(), device="t4", precision="int3")
