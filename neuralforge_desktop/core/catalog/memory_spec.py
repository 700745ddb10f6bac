"""What a layer declares about memory: the tensors it keeps for the backward pass, where its outputs lie, and
the temporary tensors it needs while it runs.

These are parts of a :class:`~neuralforge_desktop.core.catalog.spec.LayerDef` (``saves``, ``layout``,
``scratch``); the memory analysis (:mod:`neuralforge_desktop.core.analysis.memory`) reads them and never asks
for a type name.

* ``saves(params, input shapes, output shapes, autograd) → [Saved, …]``: what PyTorch's autograd keeps of one
  call of the layer during training (its ``saved_tensors``): an input or an output it keeps (counted once
  however many layers keep the same tensor), or a tensor made inside the layer (attention probabilities, a
  dropout mask, normalisation statistics, the hidden layer of a feed-forward block). :class:`Autograd` says
  which inputs carry gradients, whether the layer's parameters are trained and how the inputs lie in memory
  (their strides), since torch decides on all three (a product saves an operand only for the other operand's
  gradient; a matrix product folds an input into a matrix in place when its strides allow, and copies it
  otherwise). When no input carries a gradient and no parameter is trained, autograd records nothing and the
  rule is not asked.
* ``layout(params, input shapes, input layout) → Placement``: whether the output is a *view* sharing the
  first input's memory (a reshape, a slice) or new memory, and how it is laid out. Layouts matter because
  torch copies a tensor it must reshape when its strides allow no view, and that copy is what it keeps.
* ``scratch(params, input shapes, output shapes, autograd) → [Saved.inner(…), …]``: the temporary tensors
  alive inside the layer at inference while it runs, besides its inputs and outputs (max pooling's indices,
  normalisation statistics, the partial sum of three inputs, a linear layer's product before its bias), freed
  before it returns; the :class:`Autograd` carries the inputs' layouts (no input carries a gradient at
  inference). A fused kernel's private workspace is not counted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Shapes = Mapping[str, tuple[int, ...]]

_ITEMSIZE = {"bool": 1, "uint8": 1, "int8": 1, "int32": 4, "int64": 8, "float16": 2, "bfloat16": 2,
             "float32": 4, "float64": 8}


def itemsize(dtype: str) -> int:
    """Bytes per element of a dtype name (``"float32"`` → 4)."""
    return _ITEMSIZE[dtype]


def contiguous_strides(shape: Sequence[int]) -> tuple[int, ...]:
    strides = []
    step = 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


@dataclass(frozen=True, slots=True)
class Layout:
    """How a tensor's elements lie in memory: its strides (elements to step over per dimension), as torch
    keeps them; ``None`` for a contiguous tensor. A transposed view of a (T, N, E) tensor seen as (N, T, E)
    has strides (E, T·E, 1); a slice keeps its base's strides (gaps between its rows).

    The operations follow torch's views exactly (``permute``, slicing, ``select``, ``squeeze``,
    ``unsqueeze``, and ``view``/``reshape``, which is a view only when the strides allow it)."""

    strides: tuple[int, ...] | None = None

    def of(self, shape: Sequence[int]) -> tuple[int, ...]:
        """The strides for ``shape`` (contiguous ones when none are recorded for that rank)."""
        if self.strides is not None and len(self.strides) == len(shape):
            return self.strides
        return contiguous_strides(shape)

    @staticmethod
    def _made(shape: Sequence[int], strides: Sequence[int]) -> Layout:
        strides = tuple(strides)
        return CONTIGUOUS if _is_contiguous(shape, strides) else Layout(strides)

    def is_contiguous(self, shape: Sequence[int]) -> bool:
        """torch's ``is_contiguous``: each dimension of size other than 1 steps over the ones after it."""
        return _is_contiguous(shape, self.of(shape))

    def permuted(self, shape: Sequence[int], dims: Sequence[int]) -> Layout:
        """``x.permute(dims)``: output dimension i is input dimension ``dims[i]``."""
        strides = self.of(shape)
        return Layout._made([shape[d] for d in dims], [strides[d] for d in dims])

    def narrowed(self, shape: Sequence[int], new_shape: Sequence[int], dim: int, step: int = 1) -> Layout:
        """A range of ``dim`` (a slice, a chunk), every ``step``-th element."""
        strides = list(self.of(shape))
        strides[dim] *= step
        return Layout._made(new_shape, strides)

    def without(self, shape: Sequence[int], dim: int) -> Layout:
        """``dim`` dropped (``select``, ``squeeze``)."""
        strides = self.of(shape)
        kept = [d for d in range(len(shape)) if d != dim]
        return Layout._made([shape[d] for d in kept], [strides[d] for d in kept])

    def inserted(self, shape: Sequence[int], dim: int) -> Layout:
        """A size-1 dimension inserted at ``dim`` (``unsqueeze``)."""
        strides = list(self.of(shape))
        stride = 1 if dim >= len(shape) else shape[dim] * strides[dim]
        return Layout._made([*shape[:dim], 1, *shape[dim:]], [*strides[:dim], stride, *strides[dim:]])

    def viewed(self, shape: Sequence[int], new_shape: Sequence[int]) -> Layout | None:
        """``x.view(new_shape)``'s layout, or ``None`` when the strides do not allow a view (``reshape`` then
        copies): torch's ``computeStride``."""
        strides = _view_strides(shape, self.of(shape), new_shape)
        return None if strides is None else Layout._made(new_shape, strides)

    def dense(self, shape: Sequence[int]) -> Layout:
        """A new tensor laid out in the input's stride order, without gaps: what elementwise kernels make."""
        strides = self.of(shape)
        order = sorted(range(len(shape)), key=lambda d: (strides[d], -d))  # innermost first
        made = [0] * len(shape)
        step = 1
        for d in order:
            made[d] = step
            step *= max(shape[d], 1)
        return Layout._made(shape, made)


def _is_contiguous(shape: Sequence[int], strides: Sequence[int]) -> bool:
    expected = 1
    for size, stride in zip(reversed(shape), reversed(strides), strict=True):
        if size == 0:
            return True
        if size != 1:
            if stride != expected:
                return False
            expected *= size
    return True


def _view_strides(shape: Sequence[int], strides: Sequence[int], new_shape: Sequence[int]) -> list[int] | None:
    """torch's ``computeStride``: strides for viewing (shape, strides) as ``new_shape``, or None."""
    if math.prod(shape) == 0:
        return list(contiguous_strides(new_shape))
    new_strides = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    chunk_base_stride = strides[-1] if strides else 1
    tensor_numel = 1
    view_numel = 1
    for tensor_d in range(len(shape) - 1, -1, -1):
        tensor_numel *= shape[tensor_d]
        if tensor_d == 0 or (shape[tensor_d - 1] != 1 and strides[tensor_d - 1] != tensor_numel * chunk_base_stride):
            while view_d >= 0 and (view_numel < tensor_numel or new_shape[view_d] == 1):
                new_strides[view_d] = view_numel * chunk_base_stride
                view_numel *= new_shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if tensor_d > 0:
                chunk_base_stride = strides[tensor_d - 1]
                tensor_numel = 1
                view_numel = 1
    if view_d != -1:
        return None
    return new_strides


CONTIGUOUS = Layout()


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a layer's outputs lie: ``view`` shares the first input's memory (no new buffer); otherwise new
    memory. ``layout`` is the outputs' layout, ``ports`` overrides it for named outputs."""

    view: bool
    layout: Layout = CONTIGUOUS
    ports: tuple[tuple[str, Layout], ...] = ()

    def layout_of(self, port: str) -> Layout:
        return dict(self.ports).get(port, self.layout)


NEW = Placement(view=False)


@dataclass(frozen=True, slots=True)
class Saved:
    """One tensor a layer keeps for its backward pass.

    ``kind`` is ``"input"`` or ``"output"`` (the tensor on that port, shared with whatever else keeps it) or
    ``"inner"`` (a tensor made inside the layer: ``elements`` elements of ``dtype``, the layer's float type
    when empty). An inner tensor is the layer's own: no other layer keeps it; within one layer, inner tensors
    with the same non-empty ``name`` are one tensor (a composite layer keeping one intermediate twice)."""

    kind: str
    port: str = ""
    elements: int = 0
    dtype: str = ""
    exact: bool = True  # False: a size the kernel library chooses (an RNN workspace), known only roughly
    name: str = ""

    @staticmethod
    def input(port: str = "x") -> Saved:
        return Saved("input", port)

    @staticmethod
    def output(port: str = "y") -> Saved:
        return Saved("output", port)

    @staticmethod
    def inner(elements: int, dtype: str = "", exact: bool = True, name: str = "") -> Saved:
        return Saved("inner", elements=int(elements), dtype=dtype, exact=exact, name=name)


@dataclass(frozen=True, slots=True)
class Autograd:
    """What a ``saves`` rule is told about one call in a training step."""

    grad_inputs: frozenset[str]  # input ports whose tensor carries a gradient
    trains_params: bool  # the layer's own parameters are trained (a frozen node's are not)
    layouts: Mapping[str, Layout] = field(default_factory=dict)  # input port → its tensor's layout
    tensors: Mapping[str, int] = field(default_factory=dict)  # input port → tensor identity (same id, same tensor)

    def needs(self, port: str) -> bool:
        """Whether the tensor on ``port`` carries a gradient."""
        return port in self.grad_inputs

    def layout(self, port: str) -> Layout:
        return self.layouts.get(port, CONTIGUOUS)

    def is_contiguous(self, port: str, shape: Sequence[int]) -> bool:
        return self.layout(port).is_contiguous(shape)

    def same_tensor(self, a: str, b: str) -> bool:
        """Whether ports ``a`` and ``b`` receive the very same tensor (one edge source, or a fallback)."""
        ta, tb = self.tensors.get(a), self.tensors.get(b)
        return ta is not None and ta == tb

    def kept_contiguous(self, port: str, shape: Sequence[int]) -> Saved:
        """An input torch keeps after ``.contiguous()``: the input itself when it is contiguous, else a copy."""
        return Saved.input(port) if self.is_contiguous(port, shape) else Saved.inner(math.prod(shape))


SavedRule = Callable[[Any, Shapes, Shapes, Autograd], Sequence[Saved]]
LayoutRule = Callable[[Any, Shapes, Layout], Placement]
ScratchRule = Callable[[Any, Shapes, Shapes, Autograd], Sequence[Saved]]


# -- common declarations ----------------------------------------------------------------------------------
def saves_nothing(p: Any, x: Shapes, y: Shapes, grad: Autograd) -> Sequence[Saved]:
    """Backward needs only the shapes (additions, concatenation, views, means)."""
    return ()


def saves_input(p: Any, x: Shapes, y: Shapes, grad: Autograd) -> Sequence[Saved]:
    """Backward needs the input (GELU, SiLU, LeakyReLU, average pooling …)."""
    return (Saved.input("x"),)


def saves_output(p: Any, x: Shapes, y: Shapes, grad: Autograd) -> Sequence[Saved]:
    """Backward needs the output (ReLU, sigmoid, tanh, softmax)."""
    return (Saved.output("y"),)


def _first(x: Shapes) -> tuple[int, ...]:
    return next(iter(x.values()))


def elementwise(p: Any, x: Shapes, layout: Layout) -> Placement:
    """A new tensor laid out like the (first) input, without its gaps: what torch's elementwise kernels make
    (contiguous when broadcasting makes it larger than the first input)."""
    first = _first(x)
    rank = max(len(shape) for shape in x.values())
    sizes = [1] * rank
    for shape in x.values():
        for i, size in enumerate(shape, start=rank - len(shape)):
            sizes[i] = max(sizes[i], size) if 1 in (sizes[i], size) else sizes[i]
    if tuple(sizes) != tuple(first):
        return NEW
    return Placement(view=False, layout=layout.dense(first))


def same_view(p: Any, x: Shapes, layout: Layout) -> Placement:
    """The input itself, or a view of it that keeps its layout (identity, squeeze, unsqueeze)."""
    return Placement(view=True, layout=layout)


def reshaped(shape: Sequence[int], new_shape: Sequence[int], layout: Layout) -> Placement:
    """``reshape``: a view when the strides allow one, else a contiguous copy."""
    viewed = layout.viewed(shape, new_shape)
    return NEW if viewed is None else Placement(view=True, layout=viewed)


def no_scratch(p: Any, x: Shapes, y: Shapes, grad: Autograd) -> Sequence[Saved]:
    return ()


def contiguous_copy(p: Any, x: Shapes, y: Shapes, grad: Autograd) -> Sequence[Saved]:
    """A layer that works on a contiguous input copies a non-contiguous one first (group and instance norm)."""
    shape = x["x"]
    return () if grad.is_contiguous("x", shape) else (Saved.inner(math.prod(shape)),)
