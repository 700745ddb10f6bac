"""Activation functions: elementwise nonlinearities (and Softmax/LogSoftmax along one dimension).

All keep the input's shape, have no weights and no multiply-accumulates. Cost convention for this family:
``flops_extra`` = elements × a per-element constant that counts every elementary operation once —
comparison, add, multiply, divide, and each transcendental function (exp, log, tanh, erf) as 1. The
constant and its breakdown sit next to each entry. Latency: one elementwise kernel, of the cheap kind for the
piecewise-linear ones (ReLU and relatives) and of the exp/tanh/erf kind for the others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from neuralforge_desktop.core.catalog.kernels import LatencyRule, runs_elementwise, runs_elementwise_math
from neuralforge_desktop.core.catalog.memory_spec import LayoutRule, SavedRule, elementwise, saves_input, saves_output
from neuralforge_desktop.core.catalog.shape_utils import normalize_axis, numel
from neuralforge_desktop.core.catalog.spec import (
    Example,
    KerasCall,
    LayerDef,
    Params,
    ParamSpec,
    PortSpec,
    SummaryRule,
    TorchCall,
    Trait,
)
from neuralforge_desktop.core.catalog.summaries import number
from neuralforge_desktop.core.ir.types import TensorSpec

Specs = Mapping[str, TensorSpec]
Shapes = Mapping[str, tuple[int, ...]]
InitRule = Callable[[Params, Specs], dict[str, object]]
CostRule = Callable[[Params, Shapes, Shapes], int]

_ANY_RANK = PortSpec("x", layout="(N, …)")
_DEFAULT_EXAMPLES = (
    Example({"x": ((2, 8), "float32")}),
    Example({"x": ((2, 3, 5, 5), "float32")}),
)


def _same_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    return {"y": x["x"]}


def _no_args(p: Params, x: Specs) -> dict[str, object]:
    return {}


def _per_element(flops: int) -> CostRule:
    def cost(p: Params, x: Shapes, y: Shapes) -> int:
        return numel(x, "x") * flops

    return cost


def _activation(
    type_name: str,
    description: str,
    math: str,
    flops: int | CostRule,
    *,
    saves: SavedRule,
    layout: LayoutRule | None = elementwise,

    help: str = "",
    params: tuple[ParamSpec, ...] = (),
    init: InitRule = _no_args,
    defaults: Mapping[str, object] | None = None,
    shape: Callable[[Params, Specs], dict[str, TensorSpec]] = _same_shape,
    keras: str | KerasCall = "",  # the call template (a KerasCall where it needs more)
    simple: bool = False,
    examples: tuple[Example, ...] = (),
    traits: frozenset[str] = frozenset(),
    summary: SummaryRule | None = None,
    latency: LatencyRule = runs_elementwise_math,
) -> LayerDef:
    return LayerDef(
        type=type_name,
        category="Activation",
        description=description,
        math=math,
        help=help,
        params=params,
        inputs=(_ANY_RANK,),
        shape=shape,
        flops_extra=flops if callable(flops) else _per_element(flops),
        torch=TorchCall(module=f"nn.{type_name}", init=init, defaults=dict(defaults or {})),
        simple=simple,
        keras=KerasCall(call=keras) if isinstance(keras, str) and keras else keras or None,
        examples=_DEFAULT_EXAMPLES + examples,
        traits=traits,
        summary=summary,
        latency=latency,
        saves=saves,
        layout=layout,
    )


def _pass(*names: str) -> InitRule:
    """An init that hands the named params to torch unchanged."""

    def init(p: Params, x: Specs) -> dict[str, object]:
        return {name: p[name] for name in names}

    return init


def _dim_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    spec = x["x"]
    normalize_axis(p.dim, spec.rank, "x", spec, "dim")
    return {"y": spec}


def _dim_param() -> ParamSpec:
    return ParamSpec("dim", "int", -1, "dimension the values are normalised along (-1 = last, the classes)")


RELU = _activation(
    "ReLU", "keeps positive values, turns negative values into zero", r"$y = \max(0, x)$",
    1,  # compare
    saves=saves_output,
    help="Rectified linear unit, the default choice in most networks: cheap and keeps gradients alive for "
    "positive inputs.",
    keras="{y} = ops.relu({x})", simple=True, traits=frozenset({Trait.IDEMPOTENT}),
    latency=runs_elementwise,
)

RELU6 = _activation(
    "ReLU6", "like ReLU but also caps values at 6", r"$y = \min(\max(0, x), 6)$",
    2,  # two comparisons
    saves=saves_input,
    help="ReLU clipped at 6, used in mobile networks (MobileNet) because it quantises well.",
    keras="{y} = ops.relu6({x})", traits=frozenset({Trait.IDEMPOTENT}),
    latency=runs_elementwise,
)

LEAKY_RELU = _activation(
    "LeakyReLU", "keeps positive values, shrinks negative values instead of zeroing them",
    r"$y = x$ if $x > 0$, else $\mathrm{negative\_slope} \cdot x$",
    2,  # compare, multiply
    saves=saves_input,
    help="Like ReLU, but negative inputs keep a small slope so their gradient is never exactly zero.",
    params=(ParamSpec("negative_slope", "float", 0.01, "slope for negative inputs", minimum=0.0),),
    init=_pass("negative_slope"),
    defaults={"negative_slope": 0.01},
    keras="{y} = ops.leaky_relu({x}, negative_slope={negative_slope})",
    latency=runs_elementwise,
    examples=(Example({"x": ((2, 6), "float32")}, {"negative_slope": 0.2}),),
    summary=lambda p: f"slope {number(p.get('negative_slope'))}",
)

def _gelu_flops(p: Params, x: Shapes, y: Shapes) -> int:
    # exact: x/√2, erf, +1, ·x, ·0.5 = 5; tanh form: x³ (2), ·0.044715, +x, ·√(2/π), tanh, +1, ·x, ·0.5 = 9
    return numel(x, "x") * (9 if p.approximate == "tanh" else 5)


GELU = _activation(
    "GELU", "a smooth ReLU: lets values through in proportion to how likely they are to be positive",
    r"$y = x\, \Phi(x)$" "\n" r"$\Phi$: the standard normal CDF",
    _gelu_flops,
    saves=saves_input,
    help="Gaussian error linear unit, the usual activation in transformers (BERT, GPT). 'tanh' uses the "
    "faster tanh approximation.",
    params=(ParamSpec("approximate", "choice", "none", "'none' for the exact erf form, 'tanh' for the "
                      "approximation", choices=("none", "tanh")),),
    init=_pass("approximate"),
    defaults={"approximate": "none"},
    keras=KerasCall(call=lambda p, x: f"{{y}} = ops.gelu({{x}}, approximate={p.approximate == 'tanh'})",
                    doc="keras.ops.gelu"),
    examples=(Example({"x": ((2, 4, 16), "float32")}, {"approximate": "tanh"}),),
)

SILU = _activation(
    "SiLU", "multiplies each value by its own sigmoid: a smooth ReLU that dips slightly below zero",
    r"$y = x\, \sigma(x) = \frac{x}{1 + e^{-x}}$",
    4,  # exp, +1, divide, multiply
    saves=saves_input,
    help="Sigmoid linear unit, also called Swish; used in EfficientNet and many modern networks.",
    keras="{y} = ops.silu({x})",
)

SIGMOID = _activation(
    "Sigmoid", "squashes any value into the range 0 to 1 (a probability)", r"$\sigma(x) = \frac{1}{1 + e^{-x}}$",
    3,  # exp, +1, divide
    saves=saves_output,
    help="Logistic sigmoid. Turns a score into a probability for yes/no outputs; as a hidden activation its "
    "gradients vanish for large inputs.",
    keras="{y} = ops.sigmoid({x})", simple=True, traits=frozenset({Trait.SIGMOID, Trait.IDEMPOTENT}),
)

TANH = _activation(
    "Tanh", "squashes any value into the range −1 to 1", r"$\tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}}$",
    1,  # tanh
    saves=saves_output,
    help="Hyperbolic tangent: a zero-centred sigmoid, used in recurrent networks.",
    keras="{y} = ops.tanh({x})", simple=True, traits=frozenset({Trait.IDEMPOTENT}),
)

SOFTMAX = _activation(
    "Softmax", "turns a row of scores into probabilities that are positive and add up to 1",
    r"$\operatorname{softmax}(x)_i = \frac{e^{x_i}}{\sum_j e^{x_j}}$",
    5,  # subtract the row max (compare, subtract), exp, sum, divide
    saves=saves_output,
    layout=None,  # torch's softmax works on (and returns) a contiguous tensor
    help="Converts class scores (logits) into probabilities along dim. Do not put it before "
    "CrossEntropyLoss, which applies log-softmax itself.",
    params=(_dim_param(),),
    init=_pass("dim"),  # no default: torch's implicit dimension is deprecated, so dim is always written
    shape=_dim_shape,
    keras="{y} = ops.softmax({x}, axis={dim})",
    simple=True,
    examples=(Example({"x": ((2, 3, 4), "float32")}, {"dim": 1}), Example({"x": ((2, 5), "float32")}, {"dim": 0})),
    traits=frozenset({Trait.SOFTMAX, Trait.IDEMPOTENT}),
)

LOG_SOFTMAX = _activation(
    "LogSoftmax", "the logarithm of softmax: log-probabilities, computed in a numerically safe way",
    r"$\operatorname{log\_softmax}(x)_i = x_i - \log \sum_j e^{x_j}$",
    5,  # subtract the row max (compare, subtract), exp, sum, subtract the log-sum (the log is per row)
    saves=saves_output,
    layout=None,  # torch's log-softmax works on (and returns) a contiguous tensor
    help="Log-probabilities along dim; pair it with NLLLoss (together they equal CrossEntropyLoss).",
    params=(_dim_param(),),
    init=_pass("dim"),  # no default: torch's implicit dimension is deprecated, so dim is always written
    shape=_dim_shape,
    keras="{y} = ops.log_softmax({x}, axis={dim})",
    examples=(Example({"x": ((2, 3, 4), "float32")}, {"dim": 1}),),
    traits=frozenset({Trait.LOG_SOFTMAX}),
)

ELU = _activation(
    "ELU", "keeps positive values, bends negative values smoothly towards −alpha",
    r"$y = x$ if $x > 0$, else $\alpha (e^{x} - 1)$" "\n" r"($\alpha$ = alpha)",
    4,  # compare, exp, subtract, multiply
    saves=saves_input,
    help="Exponential linear unit: like ReLU for positives, smooth and saturating for negatives.",
    params=(ParamSpec("alpha", "float", 1.0, "value that large negative inputs approach (as −alpha)",
                      minimum=0.0),),
    init=_pass("alpha"),
    defaults={"alpha": 1.0},
    keras="{y} = ops.elu({x}, alpha={alpha})",
    examples=(Example({"x": ((2, 6), "float32")}, {"alpha": 0.5}),),
)

SELU = _activation(
    "SELU", "a scaled ELU whose fixed constants keep activations normalised through deep networks",
    r"$y = \lambda x$ if $x > 0$, else $\lambda \alpha (e^{x} - 1)$" "\n"
    r"$\alpha \approx 1.6733$, $\lambda \approx 1.0507$",
    5,  # ELU (4) and the scale multiply
    saves=saves_input,
    help="Scaled ELU for self-normalising networks; pair it with AlphaDropout and LeCun-normal weights.",
    keras="{y} = ops.selu({x})",
)

HARDSWISH = _activation(
    "Hardswish", "a cheap piecewise-linear version of SiLU/Swish", r"$y = x \frac{\min(\max(0, x + 3), 6)}{6}$",
    5,  # +3, two comparisons, multiply, divide
    saves=saves_input,
    help="Hard swish from MobileNetV3: close to SiLU but needs no exponential.",
    keras="{y} = ops.hard_swish({x})",
    latency=runs_elementwise,
)

HARDSIGMOID = _activation(
    "Hardsigmoid", "a cheap piecewise-linear version of sigmoid, from 0 to 1", r"$y = \frac{\min(\max(0, x + 3), "
    r"6)}{6}$",
    4,  # +3, two comparisons, divide
    saves=saves_input,
    help="Hard sigmoid from MobileNetV3 (used inside squeeze-and-excitation blocks).",
    keras="{y} = ops.hard_sigmoid({x})",
    latency=runs_elementwise,
)

LAYERS = [RELU, RELU6, LEAKY_RELU, GELU, SILU, SIGMOID, TANH, SOFTMAX, LOG_SOFTMAX, ELU, SELU, HARDSWISH,
          HARDSIGMOID]
