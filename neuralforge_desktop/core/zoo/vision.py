"""Image classifiers: a small MNIST CNN, LeNet-5, VGG-11 and MobileNetV2."""

from __future__ import annotations

from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.zoo.entry import ZooEntry, body, classification_loss, conv_bn


def mnist_cnn() -> Graph:
    c = Composer("mnist-cnn")
    x = c.input("image", [1, 28, 28])
    x = c.layer("Conv2d", x, "conv1", out_channels=32, kernel_size=3, padding=1)
    x = c.layer("ReLU", x, "relu1")
    x = c.layer("MaxPool2d", x, "pool1", kernel_size=2)
    x = c.layer("Conv2d", x, "conv2", out_channels=64, kernel_size=3, padding=1)
    x = c.layer("ReLU", x, "relu2")
    x = c.layer("MaxPool2d", x, "pool2", kernel_size=2)
    x = c.layer("Flatten", x, "flatten")
    x = c.layer("Linear", x, "fc1", out_features=128)
    x = c.layer("ReLU", x, "relu3")
    x = c.layer("Dropout", x, "dropout", p=0.5)
    logits = c.layer("Linear", x, "fc2", out_features=10)
    c.output(logits, "logits")
    classification_loss(c, logits)
    return c.done()


def lenet5() -> Graph:
    c = Composer("lenet5")
    x = c.input("image", [1, 28, 28])
    x = c.layer("Conv2d", x, "conv1", out_channels=6, kernel_size=5, padding=2,
                notes="padding 2 turns MNIST's 28×28 into the 32×32 LeNet-5 was designed for")
    x = c.layer("Tanh", x, "act1")
    x = c.layer("AvgPool2d", x, "pool1", kernel_size=2)
    x = c.layer("Conv2d", x, "conv2", out_channels=16, kernel_size=5, padding=0)
    x = c.layer("Tanh", x, "act2")
    x = c.layer("AvgPool2d", x, "pool2", kernel_size=2)
    x = c.layer("Flatten", x, "flatten")
    x = c.layer("Linear", x, "fc1", out_features=120)
    x = c.layer("Tanh", x, "act3")
    x = c.layer("Linear", x, "fc2", out_features=84)
    x = c.layer("Tanh", x, "act4")
    logits = c.layer("Linear", x, "fc3", out_features=10)
    c.output(logits, "logits")
    classification_loss(c, logits)
    return c.done()


VGG11_STAGES: tuple[tuple[int, ...], ...] = ((64,), (128,), (256, 256), (512, 512), (512, 512))


def vgg11() -> Graph:
    c = Composer("vgg11")
    x = c.input("image", [3, 224, 224])
    for stage, widths in enumerate(VGG11_STAGES, start=1):
        for i, width in enumerate(widths, start=1):
            tag = f"{stage}" if len(widths) == 1 else f"{stage}_{i}"
            x = c.layer("Conv2d", x, f"conv{tag}", out_channels=width, kernel_size=3, padding=1)
            x = c.layer("ReLU", x, f"relu{tag}")
        x = c.layer("MaxPool2d", x, f"pool{stage}", kernel_size=2, stride=2)
    x = c.layer("AdaptiveAvgPool2d", x, "avgpool", output_size=7)
    x = c.layer("Flatten", x, "flatten")
    x = c.layer("Linear", x, "fc1", out_features=4096)
    x = c.layer("ReLU", x, "relu_fc1")
    x = c.layer("Dropout", x, "dropout1", p=0.5)
    x = c.layer("Linear", x, "fc2", out_features=4096)
    x = c.layer("ReLU", x, "relu_fc2")
    x = c.layer("Dropout", x, "dropout2", p=0.5)
    logits = c.layer("Linear", x, "fc3", out_features=1000)
    c.output(logits, "logits")
    classification_loss(c, logits)
    return c.done()


# MobileNetV2 inverted-residual settings: expansion t, output channels c, repeats n, first stride s.
MOBILENET_V2_SETTINGS: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def _inverted_residual(name: str, in_ch: int, out_ch: int, size: int, stride: int, expand: int) -> Graph:
    """1×1 expand (ReLU6) → 3×3 depthwise (ReLU6) → 1×1 linear projection; a skip Add when shapes allow."""
    c, x = body(name, [in_ch, size, size])
    hidden = in_ch * expand
    y = x
    if expand != 1:
        y = conv_bn(c, y, "expand_", hidden, 1, act="ReLU6")
    y = conv_bn(c, y, "dw_", hidden, 3, stride=stride, groups=hidden, act="ReLU6")
    y = conv_bn(c, y, "project_", out_ch, 1, act=None)
    if stride == 1 and in_ch == out_ch:
        y = c.layer("Add", [x, y], "add", num_inputs=2)
    c.output(y, "y")
    return c.done()


def _mobilenet_stage(name: str, in_ch: int, size: int, expand: int, out_ch: int, repeats: int,
                     stride: int) -> Graph:
    c, x = body(name, [in_ch, size, size])
    first = _inverted_residual("block0", in_ch, out_ch, size, stride, expand)
    x = c.block("block0", first, x)
    if repeats > 1:
        out_size = (size - 1) // stride + 1
        rest = _inverted_residual("blocks", out_ch, out_ch, out_size, 1, expand)
        x = c.block("blocks", rest, x, repeat=repeats - 1, label=f"inverted residual × {repeats - 1}")
    c.output(x, "y")
    return c.done()


def mobilenet_v2() -> Graph:
    c = Composer("mobilenet-v2")
    x = c.input("image", [3, 224, 224])
    stem, s = body("stem", [3, 224, 224])
    stem.output(conv_bn(stem, s, "", 32, 3, stride=2, act="ReLU6"), "y")
    x = c.block("stem", stem.done(), x)
    channels, size = 32, 112
    for index, (t, out_ch, n, s_) in enumerate(MOBILENET_V2_SETTINGS, start=1):
        stage = _mobilenet_stage(f"stage{index}", channels, size, t, out_ch, n, s_)
        x = c.block(f"stage{index}", stage, x, label=f"stage{index}: {n}× t={t}, c={out_ch}, s={s_}")
        channels, size = out_ch, (size - 1) // s_ + 1
    head, h = body("head", [channels, size, size])
    head.output(conv_bn(head, h, "", 1280, 1, act="ReLU6"), "y")
    x = c.block("head", head.done(), x)
    x = c.layer("AdaptiveAvgPool2d", x, "avgpool", output_size=1)
    x = c.layer("Flatten", x, "flatten")
    x = c.layer("Dropout", x, "dropout", p=0.2)
    logits = c.layer("Linear", x, "classifier", out_features=1000)
    c.output(logits, "logits")
    classification_loss(c, logits)
    return c.done()


ENTRIES: list[ZooEntry] = [
    ZooEntry(
        "mnist-cnn", "MNIST CNN", "vision",
        "Two 3×3 convolutions with max pooling, then a 128-unit hidden layer: a first digit classifier "
        "(≈99% on MNIST). Input 1×28×28, 10 classes, trained with cross-entropy.",
        mnist_cnn, 421_642, "torch.nn: Conv2d(1,32,3,p=1), Conv2d(32,64,3,p=1), Linear(3136,128), Linear(128,10)",
    ),
    ZooEntry(
        "lenet5", "LeNet-5", "vision",
        "LeCun et al. 1998: two 5×5 convolutions with tanh and average pooling, then 120-84-10 dense layers. "
        "The first convolution pads by 2 so 28×28 MNIST digits fit the original 32×32 design.",
        lenet5, 61_706, "LeNet-5 (LeCun et al., 1998) with a padded first convolution",
    ),
    ZooEntry(
        "vgg11", "VGG-11", "vision",
        "Simonyan & Zisserman 2014, configuration A: eight 3×3 convolutions in five stages with max pooling, "
        "then a 25088→4096→4096→1000 classifier with dropout. Input 3×224×224.",
        vgg11, 132_863_336, "torchvision.models.vgg11",
    ),
    ZooEntry(
        "mobilenet-v2", "MobileNetV2", "vision",
        "Sandler et al. 2018: inverted residual blocks (1×1 expand, 3×3 depthwise, 1×1 linear projection) "
        "with ReLU6, grouped into seven stages; dropout 0.2 before the 1000-way classifier. Input 3×224×224.",
        mobilenet_v2, 3_504_872, "torchvision.models.mobilenet_v2",
    ),
]
