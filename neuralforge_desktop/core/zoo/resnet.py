"""ResNet-18 and ResNet-50 as torchvision builds them (v1.5: the stride sits on the 3×3 convolution).

Each stage ``layer1`` … ``layer4`` is a Block. Inside it the first residual block (``block0``) may change
the resolution or width and then carries a ``downsample`` path (1×1 convolution + BatchNorm); the identical
blocks after it are one Block repeated (``blocks``), each copy with its own weights.
"""

from __future__ import annotations

from neuralforge_desktop.core.ir.compose import Composer, Ref
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.zoo.entry import ZooEntry, body, classification_loss, conv_bn


def _downsample(in_ch: int, out_ch: int, size: int, stride: int) -> Graph:
    c, x = body("downsample", [in_ch, size, size])
    x = c.layer("Conv2d", x, "conv", out_channels=out_ch, kernel_size=1, stride=stride, padding=0, bias=False)
    c.output(c.layer("BatchNorm2d", x, "bn"), "y")
    return c.done()


def _residual_end(c: Composer, x: Ref, y: Ref, in_ch: int, out_ch: int, size: int, stride: int) -> None:
    """Adds the (possibly downsampled) identity to ``y``, applies ReLU and marks the body's output."""
    shortcut = x
    if stride != 1 or in_ch != out_ch:
        shortcut = c.block("downsample", _downsample(in_ch, out_ch, size, stride), x)
    y = c.layer("Add", [y, shortcut], "add", num_inputs=2)
    c.output(c.layer("ReLU", y, "relu"), "y")


def basic_block(name: str, in_ch: int, out_ch: int, size: int, stride: int) -> Graph:
    """Two 3×3 convolutions with BatchNorm and a skip connection (ResNet-18/34)."""
    c, x = body(name, [in_ch, size, size])
    y = conv_bn(c, x, "", out_ch, 3, stride=stride, suffix="1")
    y = conv_bn(c, y, "", out_ch, 3, act=None, suffix="2")
    _residual_end(c, x, y, in_ch, out_ch, size, stride)
    return c.done()


def bottleneck(name: str, in_ch: int, width: int, size: int, stride: int) -> Graph:
    """1×1 reduce → 3×3 (strided) → 1×1 expand ×4, BatchNorm after each, and a skip connection (ResNet-50+)."""
    c, x = body(name, [in_ch, size, size])
    y = conv_bn(c, x, "", width, 1, suffix="1")
    y = conv_bn(c, y, "", width, 3, stride=stride, suffix="2")
    y = conv_bn(c, y, "", width * 4, 1, act=None, suffix="3")
    _residual_end(c, x, y, in_ch, width * 4, size, stride)
    return c.done()


def _stage(name: str, kind: str, in_ch: int, width: int, size: int, stride: int, blocks: int) -> tuple[Graph, int]:
    """One stage; returns its body and its output channels."""
    make = basic_block if kind == "basic" else bottleneck
    out_ch = width if kind == "basic" else width * 4
    c, x = body(name, [in_ch, size, size])
    out_size = (size - 1) // stride + 1
    if stride == 1 and in_ch == out_ch:
        x = c.block("blocks", make(f"{kind}-block", out_ch, width, size, 1), x, repeat=blocks,
                    label=f"{kind} block × {blocks}")
    else:
        x = c.block("block0", make(f"{kind}-block-down", in_ch, width, size, stride), x)
        if blocks > 1:
            x = c.block("blocks", make(f"{kind}-block", out_ch, width, out_size, 1), x, repeat=blocks - 1,
                        label=f"{kind} block × {blocks - 1}")
    c.output(x, "y")
    return c.done(), out_ch


def _resnet(name: str, kind: str, layers: tuple[int, int, int, int]) -> Graph:
    c = Composer(name)
    x = c.input("image", [3, 224, 224])
    x = c.layer("Conv2d", x, "conv1", out_channels=64, kernel_size=7, stride=2, padding=3, bias=False)
    x = c.layer("BatchNorm2d", x, "bn1")
    x = c.layer("ReLU", x, "relu")
    x = c.layer("MaxPool2d", x, "maxpool", kernel_size=3, stride=2, padding=1)
    channels, size = 64, 56
    for index, (width, blocks) in enumerate(zip((64, 128, 256, 512), layers, strict=True), start=1):
        stride = 1 if index == 1 else 2
        stage, out_ch = _stage(f"layer{index}", kind, channels, width, size, stride, blocks)
        x = c.block(f"layer{index}", stage, x, label=f"layer{index}")
        channels, size = out_ch, (size - 1) // stride + 1
    x = c.layer("AdaptiveAvgPool2d", x, "avgpool", output_size=1)
    x = c.layer("Flatten", x, "flatten")
    logits = c.layer("Linear", x, "fc", out_features=1000)
    c.output(logits, "logits")
    classification_loss(c, logits)
    return c.done()


def resnet18() -> Graph:
    return _resnet("resnet18", "basic", (2, 2, 2, 2))


def resnet50() -> Graph:
    return _resnet("resnet50", "bottleneck", (3, 4, 6, 3))


ENTRIES: list[ZooEntry] = [
    ZooEntry(
        "resnet18", "ResNet-18", "vision",
        "He et al. 2015: a 7×7 stem, then four stages of two basic residual blocks (two 3×3 convolutions "
        "and a skip connection), global average pooling and a 1000-way classifier. Input 3×224×224.",
        resnet18, 11_689_512, "torchvision.models.resnet18",
    ),
    ZooEntry(
        "resnet50", "ResNet-50", "vision",
        "He et al. 2015, v1.5 as in torchvision (stride on the 3×3 convolution): four stages of 3, 4, 6 and "
        "3 bottleneck blocks (1×1 reduce, 3×3, 1×1 expand). Input 3×224×224, 1000 classes.",
        resnet50, 25_557_032, "torchvision.models.resnet50",
    ),
]
