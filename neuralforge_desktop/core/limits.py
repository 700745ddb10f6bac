"""Size limits for graphs from files: a file from a stranger must end in a clear error, never a hang or
an exhausted memory.

One :class:`Limits` holds them all. Loading checks the file size, the node count, the nesting depth and every
block's ``repeat``; shape inference checks the elements of every tensor it infers and the parameters of
every layer, so validation fails and neither code nor a model is generated for a graph over them. Each
message names the limit (``limit: repeat``) so a user who really has such a model knows what to raise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from neuralforge_desktop.core.errors import UserError


@dataclass(frozen=True, slots=True)
class Limits:
    """The largest graph accepted. Defaults are far above every zoo model (GPT-2 small: 124 M parameters,
    a few hundred nodes, blocks nested two deep) and far below what hangs or exhausts a desktop."""

    file_bytes: int = 64 * 2**20  # a .nfg file
    nodes: int = 100_000  # all nodes of a graph, block bodies included
    depth: int = 32  # blocks nested in blocks
    repeat: int = 10_000  # one block's ``repeat``
    tensor_elements: int = 2**40  # one tensor at batch size 1 (a 4 TiB float32 tensor)
    layer_params: int = 2**40  # parameters of one layer (its weights are tensors too)


DEFAULT_LIMITS = Limits()
"""The limits used when none are given."""

# Integers in a file (params, symbols) beyond this are refused at load: no layer size or count gets near it,
# and products of a few of them still convert to float for latency and memory estimates.
MAX_FILE_INT = 2**63 - 1


class LimitError(UserError):
    """A graph over one of the :class:`Limits`; the message names the limit and its value."""


def over_limit(what: str, value: int, limit: int, name: str) -> str:
    """The text of a limit error: ``"repeat is 1,000,000, over the limit of 10,000 (limit: repeat)"``."""
    return f"{what} is {about(value)}, over the limit of {limit:,} (limit: {name})"


def about(value: int) -> str:
    """A count for a message: exact up to 15 digits, else its order of magnitude (a file may hold any size)."""
    return f"{value:,}" if value < 10**15 else f"about 10^{int(math.log10(value))}"
