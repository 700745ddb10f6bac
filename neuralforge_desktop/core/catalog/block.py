"""Blocks: a node whose body is a graph (a ResNet stage, a transformer layer), applied ``repeat`` times.

Shape inference, costs, the builder and the code generator treat blocks specially; this entry gives the
palette and inspector their schema.
"""

from __future__ import annotations

from typing import NoReturn

from neuralforge_desktop.core.catalog.memory_spec import saves_nothing
from neuralforge_desktop.core.catalog.spec import LayerDef, ParamSpec
from neuralforge_desktop.core.limits import DEFAULT_LIMITS


def _not_direct(p: object, x: object) -> NoReturn:  # the engines expand blocks; reaching this is a bug in an engine
    raise TypeError("a Block's shape comes from its body graph")


BLOCK = LayerDef(
    type="Block",
    category="Structure",
    description="a reusable group of layers, applied repeat times in sequence (each copy has its own weights)",
    math=r"$y = f_{\mathrm{repeat}}(\cdots f_2(f_1(x)))$",
    help="A subgraph shown as one node. Its Input nodes are its inputs and its Output nodes its outputs. "
    "With repeat > 1 the body runs that many times, each copy with its own weights.",
    params=(ParamSpec("repeat", "int", 1, "how many times the body is applied in sequence", minimum=1,
                      maximum=DEFAULT_LIMITS.repeat),),
    inputs=(),
    outputs=(),
    shape=_not_direct,
    saves=saves_nothing,  # the memory analysis walks the body
)

LAYERS = [BLOCK]
