"""Embeddings: token lookup tables and learned positional embeddings.

Costs: a lookup does no arithmetic (0 MACs); adding the positional table costs one addition per output
element (``flops_extra``).
"""

from __future__ import annotations

from collections.abc import Mapping

from neuralforge_desktop.core.catalog.keras_sources import KERAS_POSITIONAL_SOURCE
from neuralforge_desktop.core.catalog.kernels import Kernel, KernelKind, runs_gather
from neuralforge_desktop.core.catalog.memory_spec import Autograd, Saved, elementwise, saves_nothing
from neuralforge_desktop.core.catalog.shape_utils import concrete, numel
from neuralforge_desktop.core.catalog.spec import (
    Example,
    KerasCall,
    LayerDef,
    Params,
    ParamSpec,
    PortSpec,
    TorchCall,
    Trait,
)
from neuralforge_desktop.core.diagnostics import ShapeError
from neuralforge_desktop.core.ir.types import DType, TensorSpec, describe_shape

Specs = Mapping[str, TensorSpec]
Shapes = Mapping[str, tuple[int, ...]]


def _check_padding_idx(p: Params) -> None:
    n = p.num_embeddings
    if p.padding_idx is not None and not -n <= p.padding_idx < n:
        raise ShapeError(None, f"padding_idx within [-{n}, {n - 1}] (num_embeddings = {n})", str(p.padding_idx),
                         field="padding_idx")


def _embedding_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    _check_padding_idx(p)
    spec = x["x"]
    return {"y": TensorSpec(spec.shape + (p.embedding_dim,), DType.float32)}


def _embedding_init(p: Params, x: Specs) -> dict[str, object]:
    kwargs: dict[str, object] = {"num_embeddings": p.num_embeddings, "embedding_dim": p.embedding_dim}
    if p.padding_idx is not None:
        kwargs["padding_idx"] = p.padding_idx
    return kwargs


def _embedding_after_init(p: Params) -> str:
    """Draw the table from N(0, init_std²) when init_std is set; the padding row stays zero, as torch keeps it."""
    if p.init_std is None:
        return ""
    lines = ["nn.init.normal_({self}.weight, std={init_std})"]
    if p.padding_idx is not None:
        lines.append("nn.init.zeros_({self}.weight[{padding_idx}])")
    return "\n".join(lines)


_INIT_STD_HELP = ("standard deviation of the normal distribution the vectors start from; empty = torch's 1 "
                  "(BERT and GPT-2 use 0.02)")


def _table_size(p: Params, x: Specs) -> int:
    return p.num_embeddings * p.embedding_dim


def _embedding_saves(p: Params, x: Shapes, y: Shapes, grad: Autograd) -> list[Saved]:
    return [Saved.input()] if grad.trains_params else []  # the ids, to add each gradient row to its table row


EMBEDDING = LayerDef(
    type="Embedding",
    category="Embedding",
    description="looks up a learned vector for each integer token id",
    math=r"$y[\ldots, :] = W[x[\ldots], :]$",
    help="A table of num_embeddings learned vectors of size embedding_dim. Each integer in the input (a word "
    "or token id in [0, num_embeddings)) is replaced by its row of the table, so the output has one more "
    "dimension than the input. The row at padding_idx stays zero and receives no gradient.",
    params=(
        ParamSpec("num_embeddings", "int", 1000, "vocabulary size: number of distinct ids (rows of the table)",
                  minimum=1),
        ParamSpec("embedding_dim", "int", 64, "size of each vector", minimum=1),
        ParamSpec("padding_idx", "int", None, "id whose vector stays zero and is not trained (e.g. padding)",
                  optional=True, advanced=True),
        ParamSpec("init_std", "float", None, _INIT_STD_HELP, minimum=0.0, optional=True, advanced=True),
    ),
    inputs=(PortSpec("x", dtype="int", layout="(N, …) token ids", help="integer ids in [0, num_embeddings)"),),
    shape=_embedding_shape,
    param_count=_table_size,
    macs=lambda p, x, y: 0,
    torch=TorchCall(module="nn.Embedding", init=_embedding_init, positional=2, defaults={"padding_idx": None},
                    after_init=_embedding_after_init),
    # padding_idx only keeps a row's gradient at zero in torch: the lookup itself is the same
    keras=KerasCall(
        layer="layers.Embedding",
        init=lambda p, x: {"input_dim": p.num_embeddings, "output_dim": p.embedding_dim},
        positional=2,
        load="{self}.set_weights([{weight}])",
    ),
    simple=True,
    examples=(
        Example({"x": ((2, 7), "int64")}),
        Example({"x": ((3,), "int64")}, {"num_embeddings": 10, "embedding_dim": 4}, int_high=10),
        Example({"x": ((2, 5), "int32")}, {"num_embeddings": 12, "embedding_dim": 8, "padding_idx": 0},
                int_high=12),
        Example({"x": ((2, 3, 4), "int64")}, {"num_embeddings": 6, "embedding_dim": 5, "padding_idx": -1},
                int_high=6),
        Example({"x": ((2, 5), "int64")}, {"num_embeddings": 12, "embedding_dim": 8, "padding_idx": 0,
                                             "init_std": 0.02}, int_high=12),
    ),
    traits=frozenset({Trait.LOOKUP}),
    param_sizes={"weight": _table_size},
    summary=lambda p: f"{p.get('num_embeddings')} → {p.get('embedding_dim')}",
    latency=runs_gather,
    saves=_embedding_saves,
)


POSITIONAL_EMBEDDING_SOURCE = '''class PositionalEmbedding(nn.Module):
    """Adds a learned vector for each position 0…T−1 to a (N, T, dim) sequence."""

    def __init__(self, max_len: int, dim: int, init_std: float = 1.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(max_len, dim))
        nn.init.normal_(self.weight, std=init_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.weight[: x.shape[1]]
'''


def _positional_kernels(p: Params, x: Shapes, y: Shapes) -> tuple[Kernel, ...]:
    batch, steps, dim = x["x"]
    # slicing the table is a view; the add reads x and the first T rows and writes y
    return Kernel(KernelKind.VIEW), Kernel(KernelKind.ELEMENTWISE, (2 * batch * steps * dim + steps * dim,))


def _positional_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    spec = x["x"]
    concrete("x", spec, -1, "embedding size")
    length = spec.shape[1]
    if isinstance(length, int) and length > p.max_len:
        raise ShapeError("x", f"a sequence length of at most max_len = {p.max_len}", describe_shape(spec.shape),
                         field="max_len")
    return {"y": spec}


POSITIONAL_EMBEDDING = LayerDef(
    type="PositionalEmbedding",
    category="Embedding",
    title="Positional Embedding (learned)",
    description="adds a learned vector for each position in the sequence, so the model knows word order",
    math=r"$y[n, t, :] = x[n, t, :] + P[t, :]$",
    help="Learns one vector per position (up to max_len positions) and adds it to the input sequence, as in "
    "BERT and GPT-2. The vector size comes from the input's last dimension; the shape is unchanged. A named "
    "sequence length such as T is assumed to be at most max_len.",
    params=(ParamSpec("max_len", "int", 512, "longest sequence the table covers", minimum=1),
            ParamSpec("init_std", "float", None, _INIT_STD_HELP, minimum=0.0, optional=True, advanced=True)),
    inputs=(PortSpec("x", ranks=(3,), layout="(N, T, E)"),),
    shape=_positional_shape,
    param_count=lambda p, x: p.max_len * concrete("x", x["x"], -1, "embedding size"),
    macs=lambda p, x, y: 0,
    flops_extra=lambda p, x, y: numel(y, "y"),
    torch=TorchCall(
        module="PositionalEmbedding",
        init=lambda p, x: {"max_len": p.max_len, "dim": x["x"].shape[-1],
                           **({} if p.init_std is None else {"init_std": p.init_std})},
        positional=2,
        helpers=(POSITIONAL_EMBEDDING_SOURCE,),
    ),
    keras=KerasCall(
        layer="PositionalEmbedding",
        init=lambda p, x: {"max_len": p.max_len, "dim": x["x"].shape[-1],
                           **({} if p.init_std is None else {"init_std": p.init_std})},
        positional=2,
        load="{self}.set_weights([{weight}])",
        helpers=(KERAS_POSITIONAL_SOURCE,),
    ),
    examples=(
        Example({"x": ((2, 7, 16), "float32")}),
        Example({"x": ((1, 4, 8), "float32")}, {"max_len": 4}),
        Example({"x": ((2, 3, 8), "float32")}, {"max_len": 16, "init_std": 0.02}),
    ),
    traits=frozenset({Trait.LOOKUP}),  # adds only the first T rows of its table
    param_sizes={"weight": lambda p, x: p.max_len * concrete("x", x["x"], -1, "embedding size")},
    latency=_positional_kernels,
    saves=saves_nothing,  # x + P[:T]: an addition keeps nothing
    layout=elementwise,
)

LAYERS = [EMBEDDING, POSITIONAL_EMBEDDING]
