"""What one layer type is: the single definition every other part of NeuralForge derives from.

A :class:`LayerDef` carries the parameter schema, port constraints, shape rule, parameter count, cost rule,
plain-language and math descriptions, the PyTorch and Keras calls, and the roles (:class:`Trait`) the analyses
ask about. The palette, inspector, canvas, shape inference, cost model, lint, code generators and model builder
all read it; nothing about a layer is written twice, and no analysis compares type names.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import Any

from neuralforge_desktop.core.catalog.export_spec import ExportLimit
from neuralforge_desktop.core.catalog.kernels import LatencyRule
from neuralforge_desktop.core.catalog.memory_spec import LayoutRule, SavedRule, ScratchRule, no_scratch
from neuralforge_desktop.core.catalog.summaries import number
from neuralforge_desktop.core.diagnostics import ParamError
from neuralforge_desktop.core.ir.identifiers import is_identifier
from neuralforge_desktop.core.ir.types import DType, TensorSpec, describe_shape

ParamKind = str  # "int" | "float" | "bool" | "choice" | "str" | "ints" | "dims" | "int_or_tuple"
_NO_DEFAULT = object()


class Params(dict[str, Any]):
    """Validated parameters of one node; attribute access for readable rules (``p.out_features``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted((k, _freeze(v)) for k, v in self.items())))


def _freeze(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


@dataclass(frozen=True)
class ParamSpec:
    """Schema of one parameter: what the inspector shows and what validation enforces."""

    name: str
    kind: ParamKind
    default: Any = None
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] = ()
    length: int | None = None  # tuple length for "int_or_tuple"; fixed length for "ints"
    optional: bool = False  # None is allowed
    advanced: bool = False  # hidden behind "more" in the inspector

    def validate(self, value: Any) -> Any:
        """Return the normalised value or raise :class:`ParamError` naming this field."""
        if value is None:
            if self.optional:
                return None
            raise ParamError(self.name, "a value is required")
        kind = self.kind
        if kind == "bool":
            if not isinstance(value, bool):
                raise ParamError(self.name, f"expected true or false, got {value!r}")
            return value
        if kind == "int":
            value = self._int(value)
            self._range(value)
            return value
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ParamError(self.name, f"expected a number, got {value!r}")
            try:
                value = float(value)
            except OverflowError:  # an integer too large for a float
                value = math.inf
            if not math.isfinite(value):  # torch refuses NaN and infinity where it checks, and "nan" is no literal
                raise ParamError(self.name, "must be a finite number")
            self._range(value)
            return value
        if kind == "choice":
            if value not in self.choices:
                options = ", ".join(repr(c) for c in self.choices)
                raise ParamError(self.name, f"expected one of {options}, got {value!r}")
            return value
        if kind == "str":
            if not isinstance(value, str):
                raise ParamError(self.name, f"expected text, got {value!r}")
            return value
        if kind == "int_or_tuple":
            if isinstance(value, list | tuple):
                if self.length is not None and len(value) != self.length:
                    raise ParamError(self.name, f"expected {self.length} values, got {len(value)}")
                items = tuple(self._int(v) for v in value)
            else:
                items = (self._int(value),) * (self.length or 1)
            for item in items:
                self._range(item)
            return items
        if kind == "ints":
            if not isinstance(value, list | tuple):
                raise ParamError(self.name, f"expected a list of integers, got {value!r}")
            if self.length is not None and len(value) != self.length:
                raise ParamError(self.name, f"expected {self.length} values, got {len(value)}")
            items = tuple(self._int(v) for v in value)
            for item in items:
                self._range(item)
            return items
        if kind == "dims":
            if not isinstance(value, list | tuple):
                raise ParamError(self.name, f"expected a list of dimensions, got {value!r}")
            dims: list[int | str] = []
            for v in value:
                if is_identifier(v):  # a symbol: it is printed into generated code
                    dims.append(v)
                else:
                    dims.append(self._int(v))
            return tuple(dims)
        raise ParamError(self.name, f"unknown parameter kind {kind!r}")

    def _int(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ParamError(self.name, f"expected an integer, got {value!r}")
        return value

    def _range(self, value: float) -> None:
        if self.minimum is not None and value < self.minimum:
            raise ParamError(self.name, f"must be ≥ {_num(self.minimum)}, got {_num(value)}")
        if self.maximum is not None and value > self.maximum:
            raise ParamError(self.name, f"must be ≤ {_num(self.maximum)}, got {_num(value)}")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "kind": self.kind, "default": _jsonable(self.default)}
        for key in ("help", "minimum", "maximum", "length"):
            value = getattr(self, key)
            if value not in (None, ""):
                data[key] = value
        if self.choices:
            data["choices"] = list(self.choices)
        if self.optional:
            data["optional"] = True
        return data


def _or_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


@dataclass(frozen=True)
class PortSpec:
    """One input or output of a layer, with the constraints checked before the shape rule runs."""

    name: str
    ranks: tuple[int, ...] | None = None  # allowed ranks, batch included; None = any
    dtype: str = "float"  # "float" | "int" | "any"
    layout: str = ""  # e.g. "(N, C, H, W)", quoted in errors
    optional: bool = False
    variadic: bool = False  # expands to name0, name1, … ; count from ``count_param``
    count_param: str = ""
    fallback: str | None = None  # optional input: template falls back to this input (or "None")
    help: str = ""

    def check(self, spec: TensorSpec) -> str | None:
        """Return the expectation text when ``spec`` breaks this port's constraints."""
        if self.ranks is not None and len(spec.shape) not in self.ranks:
            ranks = _or_list([str(r) for r in self.ranks])
            layout = f" {self.layout}" if self.layout else ""
            return f"rank {ranks}{layout}"
        if self.dtype == "float" and not spec.dtype.is_float:
            return "a floating-point tensor"
        if self.dtype == "int" and not spec.dtype.is_int:
            return "an integer tensor (indices)"
        return None


@dataclass(frozen=True)
class Example:
    """A concrete case the conformance test runs: input shapes (batch included) and params to use.

    ``inputs`` maps port → (shape, dtype name). Integer inputs are filled with values in ``[0, int_high)``.
    """

    inputs: Mapping[str, tuple[tuple[int, ...], str]]
    params: Mapping[str, Any] = field(default_factory=dict)
    int_high: int = 2


ShapeRule = Callable[[Params, Mapping[str, TensorSpec]], dict[str, TensorSpec]]
Shapes = Mapping[str, tuple[int, ...]]
CountRule = Callable[[Params, Mapping[str, TensorSpec]], int]
CostRule = Callable[[Params, Shapes, Shapes], int]
SizeRule = Callable[[Params, Mapping[str, TensorSpec]], int]  # element count of one named parameter tensor
SummaryRule = Callable[[Mapping[str, Any]], str]  # params → the canvas one-liner


class Trait:
    """Roles a layer declares in :attr:`LayerDef.traits`. Analyses ask for a role, never for a type name, so a
    plugin layer that declares a role is costed, linted and hinted like the built-ins that declare it."""

    NO_KERNEL = "no-kernel"  # runs no kernel at inference (views, dropout, graph inputs/outputs): only its call costs
    PASS_THROUGH = "pass-through"  # at inference the output is the input unchanged; pattern rules look through it
    DROPOUT = "dropout"  # zeroes values at random while training, with probability param ``p``
    LOOKUP = "lookup"  # gathers rows of its weight table: reads only those rows, not the whole table
    CONVOLUTION = "convolution"  # runs as a convolution kernel (cuDNN's rate); its ``bias`` is one per channel
    DENSE = "dense"  # a weight per input feature (the last axis) and output feature: fan-in matters
    FLATTENS = "flattens"  # folds channels and positions into one feature axis
    CANCELS_BIAS = "cancels-bias"  # subtracts the per-channel mean, so a per-channel bias right before it is wasted
    WINDOWED = "windowed"  # slides a ``kernel_size`` window with a ``stride`` over its input
    STACKED = "stacked"  # ``dropout`` acts only between its ``num_layers`` stacked layers
    IDEMPOTENT = "idempotent"  # applying it twice in a row adds nothing useful
    SOFTMAX = "softmax"  # outputs probabilities along ``dim``
    LOG_SOFTMAX = "log-softmax"  # outputs log-probabilities along ``dim``
    SIGMOID = "sigmoid"  # outputs independent probabilities in (0, 1)


@dataclass(frozen=True)
class LossCheck:
    """What a loss says about the activation feeding its prediction: lint warns with ``code`` when the
    producer declares the trait ``activation``. ``advice`` completes "Softmax 'act' feeds CrossEntropyLoss
    'loss', …": why that is wrong (the loss applies it itself, or expects something else) and what to do."""

    activation: str
    code: str
    advice: str


def no_params(p: Params, x: Mapping[str, TensorSpec]) -> int:
    return 0


def zero_cost(p: Params, x: Shapes, y: Shapes) -> int:
    return 0


@dataclass(frozen=True)
class TorchCall:
    """How a layer becomes PyTorch: the module it constructs and the forward statement it runs.

    ``forward`` is a statement template shared by the code generator and the model builder, so the
    generated source and the trained model cannot drift. Placeholders: ``{self}`` is the node's module,
    an input or output port name is its variable (a variadic port expands to a list joined by ``, `` or
    by the separator after ``|``, e.g. ``{x| + }``), any other name is the repr of that parameter.
    ``{?port:text}`` is ``text`` (which may hold placeholders) when the optional input ``port`` is
    connected and nothing when it is not, e.g. ``{?mask:, key_padding_mask={mask} == 0}``: an argument
    that exists only when its input does.
    """

    module: str | None = None  # "nn.Conv2d" or the class name of a helper below
    init: Callable[[Params, Mapping[str, TensorSpec]], dict[str, Any]] | None = None
    positional: int = 0  # how many leading init arguments read better without keywords
    defaults: Mapping[str, Any] = field(default_factory=dict)  # torch's defaults, omitted in generated code
    forward: str | Callable[[Params], str] = "{y} = {self}({x})"
    helpers: tuple[str, ...] = ()  # class sources emitted into generated code and executed by the builder
    uses_functional: bool = False
    # Statements run right after the module is constructed, e.g. an initialisation torch's constructor does not
    # offer ("nn.init.normal_({self}.weight, std={init_std})"); ``{self}`` and parameters only; "" for none.
    after_init: str | Callable[[Params], str] = ""
    # Code the node itself carries (a custom-code node): ``(class name, class source)`` from its params. The
    # source is graph data, so the builder runs it only when the user has trusted it; ``module`` stays None.
    source: Callable[[Params], tuple[str, str]] | None = None

    def forward_template(self, params: Params) -> str:
        return self.forward(params) if callable(self.forward) else self.forward

    def after_init_template(self, params: Params) -> str:
        return self.after_init(params) if callable(self.after_init) else self.after_init


_KERAS_OP = re.compile(r"\bops\.[A-Za-z_][A-Za-z_0-9.]*")


@dataclass(frozen=True)
class KerasCall:
    """How a layer becomes Keras 3, with tensors kept in PyTorch's layout (images (N, C, H, W) through
    channels_first layers, sequences (N, T, E)), so every tensor has the shape the graph infers.

    ``layer`` is the class ``__init__`` constructs (``"layers.Conv2D"`` or a class given in ``helpers``; as a
    function of params and input specs when that depends on them), or None for an op written straight into
    ``call()``; ``init(params, inputs)`` gives its arguments, of which the first ``positional`` (a number, or a
    function of params and input specs) read better without keywords and those equal to ``defaults`` are left
    out.
    ``call`` is the statement template, with :class:`TorchCall`'s placeholders (``{self}``, ports, params,
    ``{?port:…}``); as a function it also sees the input specs.
    ``load`` is the statement that copies this node's weights out of the PyTorch model's ``state_dict``
    (numpy arrays): ``{self}`` is the Keras layer, ``{prefix}`` the key prefix of the node's torch module and
    any other ``{name}`` (dots allowed) that module's tensor ``name``, e.g.
    ``"{self}.set_weights([{weight}.T, {bias}])"``; "" for a layer without weights.
    ``unsupported(params, inputs)`` says why these particular settings have no faithful Keras form ("" when
    they have one). ``helpers`` are sources (classes, functions) pasted into the generated module; they may
    use ``keras``, ``layers``, ``ops`` and ``np``. ``doc`` names the Keras API for the docs and the palette's
    search when neither ``layer`` nor the call template says it.
    """

    layer: str | Callable[[Params, Mapping[str, TensorSpec]], str | None] | None = None
    init: Callable[[Params, Mapping[str, TensorSpec]], dict[str, Any]] | None = None
    positional: int | Callable[[Params, Mapping[str, TensorSpec]], int] = 0
    defaults: Mapping[str, Any] = field(default_factory=dict)
    call: str | Callable[[Params, Mapping[str, TensorSpec]], str] = "{y} = {self}({x})"
    load: str | Callable[[Params, Mapping[str, TensorSpec]], str] = ""
    unsupported: Callable[[Params, Mapping[str, TensorSpec]], str] | None = None
    helpers: tuple[str, ...] = ()
    doc: str = ""

    def layer_class(self, params: Params, inputs: Mapping[str, TensorSpec]) -> str | None:
        return self.layer(params, inputs) if callable(self.layer) else self.layer

    def positional_count(self, params: Params, inputs: Mapping[str, TensorSpec]) -> int:
        return self.positional(params, inputs) if callable(self.positional) else self.positional

    def call_template(self, params: Params, inputs: Mapping[str, TensorSpec]) -> str:
        return self.call(params, inputs) if callable(self.call) else self.call

    def load_template(self, params: Params, inputs: Mapping[str, TensorSpec]) -> str:
        return self.load(params, inputs) if callable(self.load) else self.load

    def refusal(self, params: Params, inputs: Mapping[str, TensorSpec]) -> str:
        """Why these params have no faithful Keras form; "" when they have one."""
        return self.unsupported(params, inputs) if self.unsupported is not None else ""

    @property
    def name(self) -> str:
        """The Keras API this corresponds to, for the docs: ``"keras.layers.Conv2D"``, ``"keras.ops.relu"``."""
        if self.doc:
            return self.doc
        if isinstance(self.layer, str):
            return f"keras.{self.layer}" if self.layer.startswith("layers.") else self.layer
        found = _KERAS_OP.search(self.call) if isinstance(self.call, str) else None
        return f"keras.{found.group(0)}" if found else ""


@dataclass(frozen=True)
class LayerDef:
    """The one definition of a layer type.

    Besides the schema, shape and cost rules, an entry declares what the analyses need to know about it, as
    data rather than as type names written into the analyses:

    * ``traits`` — the :class:`Trait` roles it plays: the spec-sheet roofline gives ``NO_KERNEL`` layers no
      latency, reads only the gathered rows of a ``LOOKUP`` and runs a ``CONVOLUTION`` at the convolution rate; lint
      looks through ``PASS_THROUGH`` layers and warns about a ``CONVOLUTION``'s bias before a
      ``CANCELS_BIAS`` norm, a ``DROPOUT`` before the output, a ``DENSE`` layer right after one that
      ``FLATTENS``; hints check a ``DROPOUT``'s ``p``, a ``WINDOWED`` layer's stride, a ``STACKED`` layer's
      dropout and an ``IDEMPOTENT`` activation applied twice.
    * ``param_sizes`` — ``{"weight": rule, …}``: the element count of a named parameter tensor, from the
      params and input specs; used to size tied (shared) parameters and lint's savings.
    * ``loss_checks`` — on a loss, the activations that must not feed its prediction (:class:`LossCheck`).
    * ``summary`` — the canvas's one-line parameter summary (``"32 · 3×3"``); without one, the first two
      non-advanced params that differ from their defaults.
    * ``latency`` — the kernels it runs at inference (:mod:`.kernels`), from params and input/output shapes: what
      the latency model predicts from. Without one, a ``NO_KERNEL`` layer is a call that moves no data and any
      other layer one generic kernel costed from its MACs and the bytes it moves.
    * ``saves``, ``layout``, ``scratch`` — memory (see :mod:`.memory_spec`): the tensors autograd keeps of one
      call for the backward pass, whether the output is a view of the input or new memory and how it is laid
      out, and the temporary tensors alive inside the layer while it runs at inference. ``saves=None`` means undeclared:
      the memory analysis then assumes the layer keeps its inputs and says so.
    """

    type: str
    category: str
    description: str  # plain language, shown in Concept Mode ("matrix multiply + bias")
    math: str  # formula
    shape: ShapeRule
    params: tuple[ParamSpec, ...] = ()
    inputs: tuple[PortSpec, ...] = (PortSpec("x"),)
    outputs: tuple[PortSpec, ...] = (PortSpec("y"),)
    param_count: CountRule = no_params
    buffer_count: CountRule = no_params
    macs: CostRule | None = zero_cost  # None: the cost model cannot cost this op (reported, never zero)
    flops_extra: CostRule | None = zero_cost  # non multiply-add floating-point ops (elementwise work)
    torch: TorchCall | None = None
    keras: KerasCall | None = None  # the Keras 3 form; None: Keras code generation refuses the layer
    version: int = 1
    title: str = ""
    help: str = ""
    simple: bool = False  # shown in the simplified (student) palette
    is_loss: bool = False
    migrate: Callable[[int, dict[str, Any]], dict[str, Any]] | None = None  # old version's params → current
    plugin: str = ""  # distribution name when a plugin defined it
    examples: tuple[Example, ...] = ()  # cases for the catalog-wide conformance test
    traits: frozenset[str] = frozenset()  # Trait roles (see the class docstring)
    param_sizes: Mapping[str, SizeRule] = field(default_factory=dict)  # parameter name → element count rule
    loss_checks: tuple[LossCheck, ...] = ()  # a loss: activations that must not feed its prediction
    summary: SummaryRule | None = None  # the canvas one-liner; None: params that differ from the defaults
    latency: LatencyRule | None = None  # the kernels it runs at inference (see the class docstring)
    saves: SavedRule | None = None  # tensors kept for backward; None: undeclared (assumed: its inputs)
    layout: LayoutRule | None = None  # where the outputs lie; None: new contiguous memory
    scratch: ScratchRule = no_scratch  # temporary tensors alive inside the layer while it runs at inference
    export_limits: tuple[ExportLimit, ...] = ()  # export targets that cannot take it (see .export_spec); none: all can

    @property
    def display_name(self) -> str:
        return self.title or self.type

    @property
    def keras_name(self) -> str:
        """The Keras API this layer corresponds to ("" when it has no Keras form)."""
        return self.keras.name if self.keras is not None else ""

    def has(self, trait: str) -> bool:
        return trait in self.traits

    def param_size(self, name: str, params: Params, inputs: Mapping[str, TensorSpec]) -> int | None:
        """Element count of the parameter tensor ``name``; ``None`` when no rule sizes it or it cannot be
        sized from these specs (an unknown channel count)."""
        rule = self.param_sizes.get(name)
        if rule is None:
            return None
        try:
            return int(rule(params, inputs))
        except Exception:  # an unsized input or a faulty (plugin) rule: unknown, never fatal
            return None

    def summarize(self, params: Mapping[str, Any]) -> str:
        """The one-line parameter summary a node shows on the canvas ("" when there is nothing to say)."""
        if self.summary is not None:
            try:
                return self.summary(params)
            except (TypeError, IndexError, KeyError, AttributeError):  # half-validated params must not break painting
                return ""
        parts: list[str] = []
        for spec in self.params:
            if spec.advanced or spec.name in ("num_inputs", "num_outputs"):
                continue
            value = params.get(spec.name)
            default = spec.default
            if isinstance(default, list | tuple) and isinstance(value, list | tuple):
                differs = tuple(default) != tuple(value)
            else:
                differs = value != default
            if differs:
                parts.append(f"{spec.name}={number(value)}")
        return ", ".join(parts[:2])

    def param_spec(self, name: str) -> ParamSpec | None:
        for spec in self.params:
            if spec.name == name:
                return spec
        return None

    def default_params(self) -> dict[str, Any]:
        return {p.name: _jsonable(p.default) for p in self.params}

    def validate_params(self, raw: Mapping[str, Any]) -> tuple[Params, list[ParamError]]:
        """Fill defaults, coerce and range-check. Returns the best-effort params and every error found."""
        defaults, by_name = self._param_table
        if defaults is not None:
            # Fast path: most params are left at their defaults, so start from the defaults validated once per
            # layer type (normalised values are immutable, sharing them is safe) and validate only what the
            # node sets; overwriting a key keeps its place, so the params stay in schema order. Any problem
            # falls through to the full pass below, which reports every error in schema order.
            params = Params(defaults)
            for name, value in raw.items():
                spec = by_name.get(name)
                if spec is None:
                    break
                try:
                    params[name] = spec.validate(value)
                except ParamError:
                    break
            else:
                return params, []
        params = Params()
        errors: list[ParamError] = []
        for name in raw:
            if name not in by_name:
                errors.append(ParamError(name, f"{self.type} has no parameter {name!r}"))
        for spec in self.params:
            value = raw.get(spec.name, spec.default)
            try:
                params[spec.name] = spec.validate(value)
            except ParamError as exc:
                errors.append(exc)
                params[spec.name] = spec.validate(spec.default) if spec.default is not None else None
        return params, errors

    @cached_property
    def _param_table(self) -> tuple[dict[str, Any] | None, dict[str, ParamSpec]]:
        """The normalised defaults (None when some default does not pass its own validation) and the specs by
        name, worked out once per layer type for :meth:`validate_params`."""
        by_name = {spec.name: spec for spec in self.params}
        defaults: dict[str, Any] = {}
        for spec in self.params:
            try:
                defaults[spec.name] = spec.validate(spec.default)
            except ParamError:
                return None, by_name
        return defaults, by_name

    def input_ports(self, params: Mapping[str, Any]) -> list[PortSpec]:
        return _expand(self.inputs, params)

    def output_ports(self, params: Mapping[str, Any]) -> list[PortSpec]:
        return _expand(self.outputs, params)


def _expand(ports: Sequence[PortSpec], params: Mapping[str, Any]) -> list[PortSpec]:
    if not any(port.variadic for port in ports):
        return list(ports)
    result: list[PortSpec] = []
    for port in ports:
        if port.variadic:
            result.extend(_numbered(port, int(params.get(port.count_param) or 0)))
        else:
            result.append(port)
    return result


@lru_cache(maxsize=256)
def _numbered(port: PortSpec, count: int) -> tuple[PortSpec, ...]:
    """A variadic port's ``count`` concrete ports (``x0``, ``x1``, …); shape inference asks for them per node."""
    return tuple(replace(port, name=f"{port.name}{i}", variadic=False, count_param="") for i in range(count))


def rank_error(port: str, expected: str, spec: TensorSpec) -> Exception:
    from neuralforge_desktop.core.diagnostics import ShapeError

    return ShapeError(port, expected, describe_shape(spec.shape))


def float_dtype(*specs: TensorSpec) -> DType:
    for spec in specs:
        if spec.dtype.is_float:
            return spec.dtype
    return DType.float32
