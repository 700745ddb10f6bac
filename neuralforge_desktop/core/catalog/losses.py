"""Loss functions: compare the model's output (port ``input``) with the labels (port ``target``).

Output port ``loss``: a scalar ``()`` for reduction ``mean`` or ``sum``, otherwise one value per element
(per sample and position for the classification losses).

Cost convention for this family: losses have no weights, so ``macs`` is 0 and all arithmetic goes into
``flops_extra``, counting every elementary operation once (comparison, add, multiply, divide, exp, log),
including the accumulate of the reduction; the final division of ``mean`` is once per tensor and ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from neuralforge_desktop.core.catalog.memory_spec import Autograd, Saved, SavedRule
from neuralforge_desktop.core.catalog.shape_utils import numel
from neuralforge_desktop.core.catalog.spec import (
    Example,
    KerasCall,
    LayerDef,
    LossCheck,
    Params,
    ParamSpec,
    PortSpec,
    TorchCall,
    Trait,
)
from neuralforge_desktop.core.diagnostics import ShapeError
from neuralforge_desktop.core.ir.types import Dim, TensorSpec, describe_shape

Specs = Mapping[str, TensorSpec]
Shapes = Mapping[str, tuple[int, ...]]
CostRule = Callable[[Params, Shapes, Shapes], int]

LOG_SOFTMAX_FLOPS = 5  # per logit: compare and subtract the row max, exp, sum, subtract the log-sum
PICK_FLOPS = 2  # per position: negate the picked log-probability, accumulate
SOFT_TARGET_FLOPS = 2  # per logit, for probability targets or label smoothing: multiply by the weight, accumulate

_CLASS_LAYOUT = "(N, C) or (N, C, d1, …)"
_INDEX_LAYOUT = "(N) or (N, d1, …)"


# -- shared parts ----------------------------------------------------------------------------------------
def _reduction() -> ParamSpec:
    return ParamSpec("reduction", "choice", "mean", "'mean' averages into one number, 'sum' adds up, 'none' "
                     "keeps one loss per element", choices=("mean", "sum", "none"))


def _ignore_index() -> ParamSpec:
    return ParamSpec("ignore_index", "int", -100, "class index that contributes no loss (e.g. padding)",
                     advanced=True)


def _loss_spec(p: Params, inp: TensorSpec, per_element: tuple[Dim, ...]) -> dict[str, TensorSpec]:
    shape = per_element if p.reduction == "none" else ()
    return {"loss": TensorSpec(shape, inp.dtype)}


def _received(spec: TensorSpec) -> str:
    return f"{describe_shape(spec.shape)} {spec.dtype.value}"


def _check_batch(inp: TensorSpec, tgt: TensorSpec) -> None:
    if inp.rank and tgt.rank and tgt.shape[0] != inp.shape[0]:
        raise ShapeError("target", f"batch size {inp.shape[0]} to match input {describe_shape(inp.shape)}",
                         describe_shape(tgt.shape))


def _pass(*names: str) -> Callable[[Params, Specs], dict[str, object]]:
    """An init that hands the named params to torch unchanged."""

    def init(p: Params, x: Specs) -> dict[str, object]:
        return {name: p[name] for name in names}

    return init


def _per_element(flops: int) -> CostRule:
    def cost(p: Params, x: Shapes, y: Shapes) -> int:
        return numel(x, "input") * flops

    return cost


# -- classification --------------------------------------------------------------------------------------
def _class_positions(p: Params, x: Specs, allow_probabilities: bool) -> tuple[Dim, ...]:
    """Shape of one loss per sample and position, ``(N, d1, …)``, after checking the target against it."""
    inp, tgt = x["input"], x["target"]
    positions = (inp.shape[0],) + inp.shape[2:]
    indices = f"integer class indices {describe_shape(positions)}"
    _check_batch(inp, tgt)
    if tgt.dtype.is_int:
        if tgt.shape == positions:
            return positions
        hint = ""
        if tgt.shape == inp.shape:
            hint = " (one-hot labels must be float)" if allow_probabilities else " (one index per sample, not one-hot)"
        raise ShapeError("target", f"{indices} of rank {len(positions)} for input {describe_shape(inp.shape)}"
                         f"{hint}", _received(tgt))
    if tgt.dtype.is_float and allow_probabilities:
        if tgt.shape == inp.shape:
            return positions
        raise ShapeError("target", f"{indices}, or float class probabilities shaped like input "
                         f"{describe_shape(inp.shape)}", _received(tgt))
    also = " or float class probabilities" if allow_probabilities else ""
    raise ShapeError("target", f"integer class indices{also} for input {describe_shape(inp.shape)}",
                     _received(tgt))


def _cross_entropy_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    return _loss_spec(p, x["input"], _class_positions(p, x, allow_probabilities=True))


def _nll_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    return _loss_spec(p, x["input"], _class_positions(p, x, allow_probabilities=False))


def _cross_entropy_flops(p: Params, x: Shapes, y: Shapes) -> int:
    logits = numel(x, "input")
    positions = logits // max(x["input"][1], 1)
    soft = len(x["target"]) == len(x["input"]) or p.label_smoothing > 0
    return logits * (LOG_SOFTMAX_FLOPS + (SOFT_TARGET_FLOPS if soft else 0)) + positions * PICK_FLOPS


def _nll_flops(p: Params, x: Shapes, y: Shapes) -> int:
    return numel(x, "target") * PICK_FLOPS


def _cross_entropy_saves(p: Params, x: Shapes, y: Shapes, grad: Autograd) -> list[Saved]:
    """The log-softmax of the logits; with class indices also the targets and the total weight (a scalar),
    and with label smoothing the mask of ignored positions (and, for the mean, their count)."""
    logits = numel(x, "input")
    kept = [Saved.inner(logits)]
    if len(x["target"]) == len(x["input"]):  # class probabilities, smoothed into a new tensor if asked
        return kept + [Saved.inner(logits) if p.label_smoothing > 0 else Saved.input("target")]
    kept += [Saved.input("target"), Saved.inner(1, "float32")]
    if p.label_smoothing > 0:
        kept.append(Saved.inner(numel(x, "target"), "bool"))
        if p.reduction == "mean":
            kept.append(Saved.inner(1, "int64"))
    return kept


def _nll_saves(p: Params, x: Shapes, y: Shapes, grad: Autograd) -> list[Saved]:
    """The log-probabilities (a contiguous copy of non-contiguous ones past two dimensions), the targets and
    the total weight (a scalar)."""
    kept = Saved.input("input") if len(x["input"]) == 2 else grad.kept_contiguous("input", x["input"])
    return [kept, Saved.input("target"), Saved.inner(1, "float32")]


def _pair_saves(p: Params, x: Shapes, y: Shapes, grad: Autograd) -> list[Saved]:
    return [Saved.input("input"), Saved.input("target")]


def _difference_saves(p: Params, x: Shapes, y: Shapes, grad: Autograd) -> list[Saved]:
    return [Saved.inner(numel(x, "input"))]  # |input − target| keeps the difference


def _smooth_l1_saves(p: Params, x: Shapes, y: Shapes, grad: Autograd) -> list[Saved]:
    return _difference_saves(p, x, y, grad) if p.beta == 0 else _pair_saves(p, x, y, grad)  # beta 0: L1


def _class_ports(what: str) -> tuple[PortSpec, PortSpec]:
    return (
        PortSpec("input", ranks=(2, 3, 4, 5), layout=_CLASS_LAYOUT, help=what),
        PortSpec("target", dtype="any", layout=_INDEX_LAYOUT, help="class index of each sample (integers)"),
    )


CROSS_ENTROPY_LOSS = LayerDef(
    type="CrossEntropyLoss",
    category="Loss",
    title="Cross-Entropy Loss",
    description="how surprised the model is by the true class: small when it gave the right class a high score",
    math=r"$\mathrm{loss} = -\log \operatorname{softmax}(\mathrm{input})[\mathrm{target}]$" "\n"
    "averaged over samples",
    help="The standard classification loss. input holds raw class scores (logits) — do not apply Softmax "
    "first, it is built in. target holds integer class indices (N) or (N, d1, …) with values in [0, C), or "
    "float class probabilities shaped like input. label_smoothing moves a little probability onto every class.",
    params=(
        _reduction(),
        ParamSpec("label_smoothing", "float", 0.0, "share of the target probability spread over all classes",
                  minimum=0.0, maximum=1.0),
        _ignore_index(),
    ),
    inputs=_class_ports("raw class scores (logits), classes in dimension 1"),
    outputs=(PortSpec("loss"),),
    shape=_cross_entropy_shape,
    flops_extra=_cross_entropy_flops,
    torch=TorchCall(
        module="nn.CrossEntropyLoss",
        init=_pass("ignore_index", "reduction", "label_smoothing"),
        defaults={"ignore_index": -100, "reduction": "mean", "label_smoothing": 0.0},
        forward="{loss} = {self}({input}, {target})",
    ),
    simple=True,
    is_loss=True,
    keras=KerasCall(call="", doc="keras.losses.SparseCategoricalCrossentropy(from_logits=True)"),
    examples=(
        Example({"input": ((4, 5), "float32"), "target": ((4,), "int64")}, int_high=5),
        Example({"input": ((2, 5, 3, 3), "float32"), "target": ((2, 3, 3), "int64")}, {"reduction": "none"},
                int_high=5),
        Example({"input": ((4, 5), "float32"), "target": ((4, 5), "float32")},
                {"label_smoothing": 0.1, "reduction": "sum"}),
        Example({"input": ((3, 4, 6), "float32"), "target": ((3, 6), "int64")},
                {"ignore_index": 0, "label_smoothing": 0.2}, int_high=4),
        Example({"input": ((3, 7), "float32"), "target": ((3,), "int64")}, {"reduction": "none"}, int_high=7),
    ),
    loss_checks=(
        LossCheck(Trait.SOFTMAX, "softmax-before-cross-entropy",
                  "which applies log-softmax itself, so the probabilities get squashed twice and learning slows; "
                  "connect the raw logits to the loss (keep Softmax only on the inference output)"),
        LossCheck(Trait.LOG_SOFTMAX, "log-softmax-before-cross-entropy",
                  "which applies log-softmax itself; connect the raw logits to CrossEntropyLoss, or use NLLLoss "
                  "after LogSoftmax"),
    ),
    saves=_cross_entropy_saves,
)

NLL_LOSS = LayerDef(
    type="NLLLoss",
    category="Loss",
    title="Negative Log-Likelihood Loss",
    description="minus the log-probability the model gave the true class",
    math=r"$\mathrm{loss} = -\mathrm{input}[\mathrm{target}]$" "\n" "averaged over samples",
    help="Classification loss on log-probabilities: put LogSoftmax before it (LogSoftmax + NLLLoss = "
    "CrossEntropyLoss). target holds integer class indices (N) or (N, d1, …) with values in [0, C).",
    params=(_reduction(), _ignore_index()),
    inputs=_class_ports("log-probabilities (LogSoftmax output), classes in dimension 1"),
    outputs=(PortSpec("loss"),),
    shape=_nll_shape,
    flops_extra=_nll_flops,
    torch=TorchCall(
        module="nn.NLLLoss",
        init=_pass("ignore_index", "reduction"),
        defaults={"ignore_index": -100, "reduction": "mean"},
        forward="{loss} = {self}({input}, {target})",
    ),
    is_loss=True,
    examples=(
        Example({"input": ((4, 5), "float32"), "target": ((4,), "int64")}, int_high=5),
        Example({"input": ((2, 5, 3, 3), "float32"), "target": ((2, 3, 3), "int64")}, {"reduction": "none"},
                int_high=5),
        Example({"input": ((2, 3, 7), "float32"), "target": ((2, 7), "int64")},
                {"reduction": "sum", "ignore_index": 1}, int_high=3),
    ),
    loss_checks=(LossCheck(Trait.SOFTMAX, "softmax-before-nll",
                           "which expects log-probabilities; use LogSoftmax instead of Softmax (or "
                           "CrossEntropyLoss on the raw logits)"),),
    saves=_nll_saves,
)


# -- regression and binary -------------------------------------------------------------------------------
def _same_shape_loss(p: Params, x: Specs) -> dict[str, TensorSpec]:
    inp, tgt = x["input"], x["target"]
    if tgt.shape != inp.shape:
        _check_batch(inp, tgt)
        raise ShapeError("target", f"the same shape as input {describe_shape(inp.shape)}",
                         describe_shape(tgt.shape))
    return _loss_spec(p, inp, inp.shape)


def _paired(
    type_name: str,
    title: str,
    description: str,
    math: str,
    help: str,
    flops: int,
    keras: str,
    extra: tuple[ParamSpec, ...] = (),
    simple: bool = False,
    examples: tuple[Example, ...] = (),
    loss_checks: tuple[LossCheck, ...] = (),
    saves: SavedRule = _pair_saves,
) -> LayerDef:
    """A loss comparing ``input`` and ``target`` of the same shape element by element."""
    defaults = {"reduction": "mean", **{spec.name: spec.default for spec in extra}}
    return LayerDef(
        type=type_name,
        category="Loss",
        title=title,
        description=description,
        math=math,
        help=help + " input and target must have the same shape (a (N, 1) output against a (N) target is a "
        "common mistake: add or remove the 1).",
        params=(_reduction(),) + extra,
        inputs=(
            PortSpec("input", layout="(N, …)", help="the model's predictions"),
            PortSpec("target", layout="(N, …) like input", help="the true values"),
        ),
        outputs=(PortSpec("loss"),),
        shape=_same_shape_loss,
            flops_extra=_per_element(flops),
        torch=TorchCall(module=f"nn.{type_name}", init=_pass(*defaults), defaults=defaults,
                        forward="{loss} = {self}({input}, {target})"),
        simple=simple,
        is_loss=True,
        keras=KerasCall(call="", doc=keras),  # losses belong to training, not to generated models
        examples=(
            Example({"input": ((4, 3), "float32"), "target": ((4, 3), "float32")}),
            Example({"input": ((2, 3, 4, 4), "float32"), "target": ((2, 3, 4, 4), "float32")},
                    {"reduction": "none"}),
            Example({"input": ((5, 1), "float32"), "target": ((5, 1), "float32")}, {"reduction": "sum"}),
        ) + examples,
        loss_checks=loss_checks,
        saves=saves,
    )


MSE_LOSS = _paired(
    "MSELoss", "Mean Squared Error Loss", "the average squared difference between prediction and target",
    r"$\mathrm{loss} = \operatorname{mean}((\mathrm{input} - \mathrm{target})^2)$",
    "The standard regression loss; large errors count much more than small ones.",
    3,  # subtract, square, accumulate
    "keras.losses.MeanSquaredError",
    simple=True,
)

L1_LOSS = _paired(
    "L1Loss", "L1 (Mean Absolute Error) Loss", "the average absolute difference between prediction and target",
    r"$\mathrm{loss} = \operatorname{mean}(|\mathrm{input} - \mathrm{target}|)$",
    "Regression loss that is less sensitive to outliers than MSELoss.",
    3,  # subtract, absolute value, accumulate
    "keras.losses.MeanAbsoluteError",
    saves=_difference_saves,
)

SMOOTH_L1_LOSS = _paired(
    "SmoothL1Loss", "Smooth L1 Loss", "squared error for small differences, absolute error for large ones",
    r"$d = |\mathrm{input} - \mathrm{target}|$" "\n"
    r"$\mathrm{loss} = \operatorname{mean}(\ell)$, $\ell = \frac{0.5\, d^2}{\beta}$ if $d < \beta$, else $d - 0.5 "
    r"\beta$" "\n"
    r"($\beta$ = beta)",
    "Regression loss that is gentle near zero and robust to outliers (used for bounding boxes). beta is "
    "where it switches from squared to absolute error; beta = 0 is L1Loss.",
    6,  # subtract, absolute value, compare, square, scale, accumulate
    "keras.losses.Huber",
    extra=(ParamSpec("beta", "float", 1.0, "difference at which the loss turns from squared to linear",
                     minimum=0.0),),
    examples=(Example({"input": ((4, 6), "float32"), "target": ((4, 6), "float32")}, {"beta": 0.5}),
              Example({"input": ((4, 6), "float32"), "target": ((4, 6), "float32")},
                      {"beta": 0.0, "reduction": "none"})),
    saves=_smooth_l1_saves,
)

BCE_WITH_LOGITS_LOSS = _paired(
    "BCEWithLogitsLoss", "Binary Cross-Entropy (with logits) Loss",
    "how wrong the yes/no predictions are; takes raw scores and applies the sigmoid itself",
    r"$\mathrm{loss} = -\operatorname{mean}(t \log \sigma(x) + (1 - t) \log(1 - \sigma(x)))$" "\n"
    r"$x$: input (logits), $t$: target",
    "Loss for binary and multi-label classification. input holds raw scores (logits) — do not apply "
    "Sigmoid first; target holds 0/1 labels (or probabilities) as floats.",
    9,  # max(x, 0), x·t, subtract, |x|, exp, +1, log, add, accumulate (the numerically stable form)
    "keras.losses.BinaryCrossentropy(from_logits=True)",
    loss_checks=(LossCheck(Trait.SIGMOID, "sigmoid-before-bce-with-logits",
                           "which applies the sigmoid itself; connect the raw logits to the loss (or use BCELoss "
                           "after Sigmoid, which is less stable)"),),
)

LAYERS = [CROSS_ENTROPY_LOSS, NLL_LOSS, MSE_LOSS, L1_LOSS, SMOOTH_L1_LOSS, BCE_WITH_LOGITS_LOSS]
