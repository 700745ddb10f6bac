"""What PyTorch's common functions keep for the backward pass, for the ``saves`` rules of the layers built from
them (linear layers, matrix products, dropout, scaled dot-product attention).

Each helper follows what torch 2.x runs on the CPU, checked against ``torch.autograd.graph.saved_tensors_hooks``
by the catalog and random-graph conformance tests: ``F.linear`` folds a sequence into a matrix (a view of a
contiguous input, a copy of any other), dropout keeps a float mask the size of its input, attention keeps the
probabilities (softmax, dropout mask, dropped probabilities) on the reference path and only the output and the
log-sum-exp on the fused path torch takes when no dropout is asked. GPU kernels (cuDNN, flash and
memory-efficient attention, the fused dropout with its 1-byte mask) keep less; the estimate describes the
reference kernels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from neuralforge_desktop.core.catalog.memory_spec import Layout, Saved


def linear_keeps(port: str, shape: Sequence[int], layout: Layout, needs_grad: bool, trains: bool, bias: bool,
                 out_features: int) -> list[Saved]:
    """What ``F.linear(x, W, b)`` keeps of its input ``x`` (on ``port``; ``shape`` and ``layout`` describe the
    tensor actually passed). The weight is a parameter and is never counted here.

    A matrix, or a contiguous input with a bias, goes to ``addmm`` (on a view): it keeps the input when the
    weight is trained. Anything else goes through ``matmul``, which reshapes the input to a matrix — a view
    when the strides allow, a copy otherwise — and keeps that when the weight is trained; with a frozen weight
    and an input that does not fold it runs a batched product on the weight expanded to the batch, and keeps
    that copy.
    """
    rank = len(shape)
    elements = math.prod(shape)
    if rank <= 2 or (bias and layout.is_contiguous(shape)):
        return [Saved.input(port)] if trains else []
    folds = layout.viewed(shape, (elements // max(shape[-1], 1), shape[-1])) is not None
    if trains:
        return [Saved.input(port) if folds else Saved.inner(elements)]
    if needs_grad and not folds:
        batch = math.prod(shape[:-2])
        return [Saved.inner(batch * shape[-1] * out_features)]
    return []


def linear_temporaries(shape: Sequence[int], layout: Layout, bias: bool, out_elements: int) -> list[Saved]:
    """The temporaries ``F.linear`` makes at inference outside ``addmm``: a copy of an input that does not fold
    into a matrix, and with a bias the product before the bias is added (a new tensor)."""
    rank = len(shape)
    if rank <= 2 or (bias and layout.is_contiguous(shape)):
        return []
    elements = math.prod(shape)
    copy = 0 if layout.viewed(shape, (elements // max(shape[-1], 1), shape[-1])) is not None else elements
    largest = max(copy, out_elements) if bias else copy
    return [Saved.inner(largest)] if largest else []


def dropout_keeps(p: float, mask_elements: int) -> list[Saved]:
    """What dropout keeps in training: its float mask (nothing for p = 0, a single zero for p = 1)."""
    if p == 0:
        return []
    return [Saved.inner(1 if p == 1 else mask_elements)]


@dataclass(frozen=True)
class Operand:
    """One operand of a matrix product: its shape, whether it carries a gradient, its layout and how it is
    kept when it is kept as it is (``Saved.input(port)`` or an inner tensor)."""

    shape: tuple[int, ...]
    needs_grad: bool
    layout: Layout
    kept: Saved

    def reshapes_to(self, new_shape: Sequence[int]) -> bool:
        """Whether ``reshape(new_shape)`` is a view (not a copy)."""
        return self.layout.viewed(self.shape, new_shape) is not None

    def folds(self) -> bool:
        return self.reshapes_to((math.prod(self.shape[:-1]), self.shape[-1]))

    def expands_to(self, batch: Sequence[int], rows: int, cols: int) -> bool:
        """Whether ``expand(batch + (rows, cols)).reshape(prod(batch), rows, cols)`` is a view: broadcast
        dimensions get stride 0, and the reshape must merge the batch without copying."""
        shape = self.shape if len(self.shape) >= 2 else (1, *self.shape)
        strides = self.layout.of(self.shape)
        strides = strides if len(self.shape) >= 2 else (self.shape[0] * strides[0], *strides)
        own = len(shape) - 2
        expanded_strides = []
        for i, size in enumerate(batch):
            j = i - (len(batch) - own)
            expanded_strides.append(strides[j] if j >= 0 and shape[j] == size else 0)
        expanded = Layout((*expanded_strides, *strides[-2:]))
        return expanded.viewed((*batch, rows, cols), (math.prod(batch), rows, cols)) is not None


def matmul_keeps(a: Operand, b: Operand) -> list[Saved]:
    """What ``torch.matmul(a, b)`` keeps, following its dispatch (dot, mv, mm, folding a batch into a matrix,
    or a batched product on operands expanded to the common batch). An operand is kept for the *other*
    operand's gradient; a reshape that cannot be a view keeps a copy."""
    da, db = len(a.shape), len(b.shape)
    kept: list[Saved] = []

    def keep(op: Operand, for_other: Operand, view: bool = True) -> None:
        if for_other.needs_grad:
            kept.append(op.kept if view else Saved.inner(math.prod(op.shape)))

    if da <= 2 and db <= 2:  # dot, mv, mm (a vector is unsqueezed: a view)
        keep(a, b)
        keep(b, a)
        return kept
    if da >= 3 and db <= 2 and (b.needs_grad or a.folds()):  # a folded to (…·n, k), then mm / mv
        keep(a, b, view=a.folds())
        keep(b, a)
        return kept
    if db >= 3 and da <= 2 and a.needs_grad:  # bᵀ folded to (…·m, k)
        transposed = Operand(b.shape[:-2] + (b.shape[-1], b.shape[-2]), b.needs_grad,
                             b.layout.permuted(b.shape, [*range(db - 2), db - 1, db - 2]), b.kept)
        keep(b, a, view=transposed.folds())
        keep(a, b)
        return kept
    # batched product: operands expanded to the common batch and reshaped to 3-D
    batch_a, batch_b = a.shape[:-2] if da >= 2 else (), b.shape[:-2] if db >= 2 else ()
    batch = _broadcast(batch_a, batch_b)
    n = a.shape[-2] if da >= 2 else 1
    k = a.shape[-1]
    m = b.shape[-1] if db >= 2 else 1
    expanded = math.prod(batch)
    for op, other, rows, cols in ((a, b, n, k), (b, a, k, m)):
        if other.needs_grad:
            kept.append(op.kept if op.expands_to(batch, rows, cols) else Saved.inner(expanded * rows * cols))
    return kept


def matmul_copies(a: Operand, b: Operand) -> list[Saved]:
    """The copies ``torch.matmul(a, b)`` makes at inference (no gradients): operands expanded to the common
    batch, or reshaped where the strides allow no view. Nothing for products of matrices and vectors."""
    da, db = len(a.shape), len(b.shape)
    if da <= 2 and db <= 2:
        return []
    if da >= 3 and db <= 2 and a.folds():
        return []
    batch_a, batch_b = a.shape[:-2] if da >= 2 else (), b.shape[:-2] if db >= 2 else ()
    batch = _broadcast(batch_a, batch_b)
    expanded = math.prod(batch)
    n, k, m = (a.shape[-2] if da >= 2 else 1), a.shape[-1], (b.shape[-1] if db >= 2 else 1)
    return [Saved.inner(expanded * rows * cols) for op, rows, cols in ((a, n, k), (b, k, m))
            if not op.expands_to(batch, rows, cols)]


def _broadcast(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...]:
    out = []
    for i in range(max(len(a), len(b))):
        da = a[len(a) - 1 - i] if i < len(a) else 1
        db = b[len(b) - 1 - i] if i < len(b) else 1
        out.append(max(da, db) if 1 in (da, db) else da)
    return tuple(reversed(out))
