"""A small U-Net for per-pixel segmentation."""

from __future__ import annotations

from neuralforge_desktop.core.ir.compose import Composer, Ref
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.zoo.entry import ZooEntry, body, conv_bn

UNET_IN_CHANNELS = 1
UNET_SIZE = 64
UNET_CLASSES = 2
UNET_WIDTHS = (32, 64, 128)  # one entry per level; the bottleneck doubles the last


def double_conv(name: str, in_ch: int, out_ch: int, size: int) -> Graph:
    """(3×3 convolution → BatchNorm → ReLU) twice, keeping the resolution."""
    c, x = body(name, [in_ch, size, size])
    x = conv_bn(c, x, "", out_ch, 3, suffix="1")
    x = conv_bn(c, x, "", out_ch, 3, suffix="2")
    c.output(x, "y")
    return c.done()


def unet_small() -> Graph:
    c = Composer("unet-small")
    x = c.input("image", [UNET_IN_CHANNELS, UNET_SIZE, UNET_SIZE])
    skips: list[tuple[Ref, int, int]] = []
    channels, size = UNET_IN_CHANNELS, UNET_SIZE
    for level, width in enumerate(UNET_WIDTHS, start=1):
        x = c.block(f"enc{level}", double_conv(f"enc{level}", channels, width, size), x)
        skips.append((x, width, size))
        x = c.layer("MaxPool2d", x, f"pool{level}", kernel_size=2)
        channels, size = width, size // 2
    bottom = UNET_WIDTHS[-1] * 2
    x = c.block("bottleneck", double_conv("bottleneck", channels, bottom, size), x)
    for level in range(len(UNET_WIDTHS), 0, -1):
        skip, width, size = skips[level - 1]
        x = c.layer("ConvTranspose2d", x, f"up{level}", out_channels=width, kernel_size=2, stride=2, padding=0)
        x = c.layer("Concat", [x, skip], f"cat{level}", dim=1, num_inputs=2)
        x = c.block(f"dec{level}", double_conv(f"dec{level}", width * 2, width, size), x)
    logits = c.layer("Conv2d", x, "head", out_channels=UNET_CLASSES, kernel_size=1, padding=0)
    c.output(logits, "logits")
    mask = c.input("mask", [UNET_SIZE, UNET_SIZE], "int64", role="target")
    c.layer("CrossEntropyLoss", {"input": logits, "target": mask}, "loss")
    return c.done()


ENTRIES: list[ZooEntry] = [
    ZooEntry(
        "unet-small", "U-Net (small)", "vision",
        "Ronneberger et al. 2015, scaled down: three encoder levels (32, 64, 128 channels) of double 3×3 "
        "convolutions with max pooling, a 256-channel bottleneck, and a decoder that upsamples with 2×2 "
        "transposed convolutions and concatenates the matching encoder features (skip connections). Input "
        "1×64×64, per-pixel logits for 2 classes, trained with cross-entropy against an int64 mask.",
        unet_small, 1_926_466, "torch.nn: the same U-Net written with Conv2d, BatchNorm2d and ConvTranspose2d",
    ),
]
