"""Example NeuralForge plugin: two layers the core catalog does not have.

* ``Mish``: the smooth activation x·tanh(softplus(x)) (``torch.nn.Mish``).
* ``SqueezeExcite``: Squeeze-and-Excitation channel attention for (N, C, H, W) feature maps.

NeuralForge finds them through the entry point in ``pyproject.toml``::

    [project.entry-points."neuralforge.layers"]
    example = "neuralforge_example_layers:layers"
"""

from __future__ import annotations

from collections.abc import Mapping

from neuralforge_desktop.plugin_api import (
    Autograd,
    Example,
    Kernel,
    KernelKind,
    LayerDef,
    Params,
    ParamSpec,
    PortSpec,
    Saved,
    TensorSpec,
    TorchCall,
    concrete,
    elementwise,
    linear_kernel,
    numel,
    runs_elementwise_math,
    saves_input,
    zero_cost,
)

Specs = Mapping[str, TensorSpec]
Shapes = Mapping[str, tuple[int, ...]]

# Elementwise work of Mish per element: exp, add and log (softplus), tanh, multiply.
MISH_FLOPS_PER_ELEMENT = 5


def _same_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    return {"y": x["x"]}


MISH = LayerDef(
    type="Mish",
    category="Activation",
    title="Mish",
    description="smooth, non-monotonic activation: the input scaled by tanh of its softplus",
    math=r"$y = x \tanh(\ln(1 + e^{x}))$",
    help="Like Swish/SiLU, Mish keeps a small negative response and is smooth everywhere. "
    f"Costs about {MISH_FLOPS_PER_ELEMENT} floating-point operations per element and no multiply-adds.",
    inputs=(PortSpec("x"),),
    shape=_same_shape,
    macs=zero_cost,
    flops_extra=lambda p, x, y: MISH_FLOPS_PER_ELEMENT * numel(y, "y"),
    torch=TorchCall(module="nn.Mish", init=lambda p, x: {}),
    latency=runs_elementwise_math,  # one elementwise kernel with exp, log and tanh per element
    examples=(
        Example({"x": ((2, 7), "float32")}),
        Example({"x": ((2, 3, 5, 5), "float32")}),
    ),
    saves=saves_input,  # backward needs x (as torch's mish kernel keeps it)
    layout=elementwise,
)


SQUEEZE_EXCITE_SOURCE = '''\
class SqueezeExcite(nn.Module):
    """Squeeze-and-Excitation: rescale each channel by a gate computed from the whole feature map."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean(dim=(2, 3))
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(s))))
        return x * s[:, :, None, None]
'''


def se_hidden(channels: int, reduction: int) -> int:
    """Width of the bottleneck: C // reduction, at least 1 (as the helper module computes it)."""
    return max(1, channels // reduction)


def _se_channels(x: Specs) -> int:
    return concrete("x", x["x"], 1, "channel count")


def _se_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    _se_channels(x)
    return {"y": x["x"]}


def _se_params(p: Params, x: Specs) -> int:
    c = _se_channels(x)
    h = se_hidden(c, p.reduction)
    return (c * h + h) + (h * c + c)  # fc1 weight + bias, fc2 weight + bias


def _se_macs(p: Params, x: Shapes, y: Shapes) -> int:
    n, c = x["x"][0], x["x"][1]
    return n * 2 * c * se_hidden(c, p.reduction)  # the two Linear layers


def _se_flops(p: Params, x: Shapes, y: Shapes) -> int:
    n, c = x["x"][0], x["x"][1]
    h = se_hidden(c, p.reduction)
    # pooling sums and the final rescale touch every element once each; per sample the mean divides C
    # values, ReLU sees h and the sigmoid C
    return 2 * numel(x, "x") + n * (2 * c + h)


def _se_kernels(p: Params, x: Shapes, y: Shapes) -> tuple[Kernel, ...]:
    """What the helper's forward runs, call by call: the mean, two small Linear layers with ReLU and sigmoid
    between and after, the indexing view and the rescale."""
    n, c = x["x"][0], x["x"][1]
    h = se_hidden(c, p.reduction)
    elements = numel(x, "x")
    return (Kernel(KernelKind.REDUCE, (elements + n * c,)), linear_kernel(n, c, h),
            Kernel(KernelKind.ELEMENTWISE, (2 * n * h,)), linear_kernel(n, h, c),
            Kernel(KernelKind.ELEMENTWISE_MATH, (2 * n * c,)), Kernel(KernelKind.VIEW),
            Kernel(KernelKind.ELEMENTWISE, (2 * elements + n * c,)))


def _se_saves(p: Params, x: Shapes, y: Shapes, grad: Autograd) -> list[Saved]:
    """What autograd keeps of the helper module's forward: x (for the gate's gradient), the channel means (fc1's
    input, when the weights train), the ReLU output and the sigmoid gate."""
    n, c = x["x"][0], x["x"][1]
    kept = [Saved.input("x"), Saved.inner(n * se_hidden(c, p.reduction)), Saved.inner(n * c)]
    return kept + ([Saved.inner(n * c)] if grad.trains_params else [])


SQUEEZE_EXCITE = LayerDef(
    type="SqueezeExcite",
    category="Attention",
    title="Squeeze-and-Excitation",
    description="channel attention: average each channel, pass the averages through a small bottleneck MLP "
    "and scale each channel by the resulting gate in (0, 1)",
    math=r"$s = \sigma(W_2 \operatorname{ReLU}(W_1 \operatorname{mean}_{h,w}(x) + b_1) + b_2)$" "\n" r"$y = x \odot s$",
    help="From Hu et al., 'Squeeze-and-Excitation Networks'. The bottleneck width is C // reduction (at "
    "least 1). Parameters: 2·C·h + h + C with h the bottleneck width. Multiply-adds: 2·N·C·h. Other "
    "floating-point work: 2·N·C·H·W (pooling sum and rescale) + N·(2·C + h).",
    params=(ParamSpec("reduction", "int", 4, "channel reduction ratio of the bottleneck", minimum=1),),
    inputs=(PortSpec("x", ranks=(4,), layout="(N, C, H, W)"),),
    shape=_se_shape,
    param_count=_se_params,
    macs=_se_macs,
    flops_extra=_se_flops,
    torch=TorchCall(
        module="SqueezeExcite",
        init=lambda p, x: {"channels": x["x"].shape[1], "reduction": p.reduction},
        positional=1,
        defaults={"reduction": 4},
        helpers=(SQUEEZE_EXCITE_SOURCE,),
    ),
    examples=(
        Example({"x": ((2, 16, 5, 5), "float32")}),
        Example({"x": ((2, 8, 3, 4), "float32")}, {"reduction": 2}),
        Example({"x": ((1, 3, 4, 4), "float32")}, {"reduction": 8}),
    ),
    latency=_se_kernels,
    saves=_se_saves,
    layout=elementwise,  # x * gate: laid out like x
)


def layers() -> list[LayerDef]:
    """The entry point: every layer this plugin defines."""
    return [MISH, SQUEEZE_EXCITE]
