"""Rules torch enforces when a layer is built or trained, which the catalog now checks too (found by the random-
graph conformance suite): each case is refused with an error naming the field, torch refuses the same layer,
and the nearest valid case is accepted and runs in torch with the inferred shape."""

from __future__ import annotations

import pytest
import torch

from neuralforge_desktop.core.analysis.shapes import infer_shapes
from neuralforge_desktop.core.ir.compose import Composer

from layer_harness import error_of, infer, run_generated


def test_conv_transpose_output_padding_must_be_below_stride_or_dilation() -> None:
    params = {"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1}
    diag = error_of("ConvTranspose2d", (2, 3, 5, 5), {**params, "output_padding": 2})
    assert diag.field == "output_padding" and "smaller than stride or dilation" in diag.message
    with pytest.raises(RuntimeError, match="output padding"):
        torch.nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=2)(torch.zeros(2, 3, 5, 5))
    shape = infer("ConvTranspose2d", (2, 3, 5, 5), {**params, "output_padding": 1}).outputs["y"].shape
    out = run_generated("ConvTranspose2d", {"x": torch.zeros(2, 3, 5, 5)}, {**params, "output_padding": 1})[0]
    assert tuple(out.shape) == (2, *shape[1:])
    # dilation raises the limit: output_padding 2 is allowed with dilation 3 and stride 1
    infer("ConvTranspose2d", (2, 3, 5, 5), {"out_channels": 4, "dilation": 3, "stride": 1, "output_padding": 2})


def test_batch_norm_needs_more_than_one_value_per_channel() -> None:
    diag = error_of("BatchNorm1d", (1, 4), batch=False)  # a fixed batch of one sample, one value per channel
    assert "more than one value per channel" in diag.message
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        torch.nn.BatchNorm1d(4).train()(torch.zeros(1, 4))
    infer("BatchNorm1d", (2, 4), batch=False)
    infer("BatchNorm1d", (2, 4))  # the batch N is a symbol: a batch of one is the caller's matter


def test_instance_norm_needs_more_than_one_position() -> None:
    diag = error_of("InstanceNorm2d", (2, 3, 1, 1))
    assert "more than one value per channel and sample" in diag.message
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        torch.nn.InstanceNorm2d(3).train()(torch.zeros(2, 3, 1, 1))
    infer("InstanceNorm2d", (2, 3, 1, 2))


def test_attention_inputs_need_the_same_batch_not_one_that_may_differ() -> None:
    diag = error_of("TransformerDecoderLayer", {"x": ((1, "N", 8), "float32"), "memory": ((0, 3, 8), "float32")},
                    {"nhead": 2, "dim_feedforward": 16}, batch=False)
    assert diag.port == "memory" and "the same batch size" in diag.message
    with pytest.raises(RuntimeError):
        torch.nn.TransformerDecoderLayer(8, 2, 16, batch_first=True)(torch.zeros(1, 2, 8), torch.zeros(2, 3, 8))


def test_select_and_split_along_the_batch_are_refused() -> None:
    diag = error_of("Select", (0, 5), {"dim": 0, "index": 2})
    assert diag.field == "dim" and "other than the batch N" in diag.message
    diag = error_of("Split", (0, 5), {"dim": 0, "num_outputs": 3})
    assert diag.field == "num_outputs" and "whatever its symbols' values" in diag.message
    # two copies of the batch always split in two, (2·N) // 2 = N for every N; in three they may not
    for pieces, ok in ((2, True), (3, False)):
        c = Composer("split")
        x = c.layer("Flatten", c.input("x", [2, 3]), "flat", start_dim=0, end_dim=1)  # (2·N, 3)
        c.output(c.layer("Split", x, "split", dim=0, num_outputs=pieces), "y")
        shapes = infer_shapes(c.done())
        assert shapes.ok == ok
        if ok:
            assert shapes.spec("split", "y0").shape == ("N", 3)
