"""Live previews in the core: feature maps for conv outputs, histograms for the rest, statistics that equal the
tensors the builder's own model produces."""

import pytest
import torch

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.analysis.previews import BINS, MAX_TILES, compute_previews
from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.build.torch_builder import build_model
from neuralforge_desktop.core.measure.profile_graph import example_inputs


def test_mnist_cnn_previews_match_the_built_model():
    graph = zoo.build("mnist-cnn")
    result = compute_previews(graph)
    assert result.error is None, result.error
    previews = result.previews

    conv = previews["conv1"]
    assert conv.kind == "maps" and conv.shape == (1, 32, 28, 28) and conv.channels == 32
    assert conv.tiles is not None and conv.tiles.dtype.name == "uint8"
    assert conv.tiles.shape == (MAX_TILES, 28, 28)
    assert conv.tiles.min() == 0 and conv.tiles.max() == 255  # each tile spans its own range
    fc2 = previews["fc2"]
    assert fc2.kind == "histogram" and fc2.shape == (1, 10) and fc2.tiles is None
    assert len(fc2.counts) == BINS and sum(fc2.counts) == 10
    assert previews["logits"].maximum == fc2.maximum  # an Output shows what reaches it
    assert "label" not in previews and "loss" not in previews  # training-only nodes are not the model

    # The same tensors, computed independently: the builder's model with the same seed, forward hooks.
    shapes = ShapeInference(graph).run()
    torch.manual_seed(0)
    model = build_model(graph, shapes).eval()
    seen = {}
    model.conv1.register_forward_hook(lambda _m, _i, out: seen.__setitem__("conv1", out))
    with torch.no_grad():
        seen["fc2"] = model(*example_inputs(graph, shapes, 1, "cpu"))
    for node_id in ("conv1", "fc2"):
        tensor, preview = seen[node_id], previews[node_id]
        assert preview.minimum == pytest.approx(tensor.min().item(), rel=1e-6)
        assert preview.mean == pytest.approx(tensor.mean().item(), rel=1e-5, abs=1e-7)
        assert preview.maximum == pytest.approx(tensor.max().item(), rel=1e-6)


def test_a_graph_that_cannot_run_reports_why():
    graph = zoo.build("mnist-cnn")
    graph.nodes["fc1"].params["in_features"] = 5  # an edit a shape rule rejects
    result = compute_previews(graph)
    assert result.previews == {} and result.error


def test_the_sample_comes_from_the_chosen_dataset_when_it_fits():
    graph = zoo.build("mnist-cnn")
    result = compute_previews(graph, dataset="mnist-10k")
    assert result.error is None and result.source == "first example of mnist-10k"
    image = result.previews["image"]
    assert image.kind == "maps" and image.shape == (1, 1, 28, 28)
    graph.nodes["image"].params["shape"] = [3, 32, 32]  # no longer fits MNIST: random input, and why
    result = compute_previews(graph, dataset="mnist-10k")
    assert result.error is None and result.source.startswith("random input") and "(3, 32, 32)" in result.source


def test_a_weights_file_replaces_the_initial_weights_where_it_fits(tmp_path):
    from safetensors.torch import save_file

    graph = zoo.build("mnist-cnn")
    shapes = ShapeInference(graph).run()
    torch.manual_seed(7)  # other weights than the previews' own seed
    trained = build_model(graph, shapes).eval()
    save_file({k: v.contiguous() for k, v in trained.state_dict().items()}, tmp_path / "best.safetensors")
    with torch.no_grad():
        expected = trained(*example_inputs(graph, shapes, 1, "cpu"))
    result = compute_previews(graph, weights=tmp_path / "best.safetensors", weights_note="run r1")
    assert result.error is None and "weights of run r1 (8 of 8 tensors)" in result.source
    assert result.previews["fc2"].maximum == pytest.approx(expected.max().item(), rel=1e-6)
