"""The random-graph conformance suite: graphs grown at random over the whole catalog (chains and DAGs, every
layer type, vectors, sequences, images, token ids, losses, repeated blocks) agree with torch.

For every layer proposed while a graph grows, the core accepts it exactly when torch builds and runs it (at
two batch sizes), apart from the refusals the core makes on purpose (``DELIBERATE_REFUSALS`` in
``random_graphs``, each with its reason); inferred output shapes and dtypes equal torch's. For every finished
graph the product's model builds and runs, parameter and buffer counts equal torch's, MACs equal
``FlopCounterMode``'s count (for the kernels it counts), and the bytes the memory estimate says a training step
keeps for backward equal what ``saved_tensors_hooks`` sees autograd keep (LSTM workspaces, whose size oneDNN
picks, within 30 %).

The quick profile runs in the default suite; the long one (``-m fuzz``) runs 600 graphs and also asserts every
layer type was accepted at least once.
"""

from __future__ import annotations

import pytest

from random_graphs import layer_types, loss_types, random_graph
from torch_agreement import check_graph

QUICK = 60
LONG = 600
# torch warns about odd but valid settings the generator draws on purpose (dropout on a one-layer RNN, …)
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _run(seeds: range) -> tuple[list[str], set[str], int]:
    problems: list[str] = []
    types: set[str] = set()
    deliberate = 0
    for seed in seeds:
        built = random_graph(seed)
        problems += built.problems + check_graph(built)
        types |= built.types
        deliberate += len(built.deliberate)
    return problems, types, deliberate


def test_random_graphs_agree_with_torch() -> None:
    problems, types, _ = _run(range(QUICK))
    assert not problems, "\n".join(problems[:20])
    assert len(types) >= 0.8 * len(layer_types()), sorted(types)  # the favoured types cover the catalog


@pytest.mark.fuzz
def test_random_graphs_agree_with_torch_long() -> None:
    problems, types, deliberate = _run(range(1000, 1000 + LONG))
    assert not problems, f"{len(problems)} mismatches:\n" + "\n".join(problems[:40])
    missing = ({layer.type for layer in layer_types() + loss_types()} | {"Block"}) - types
    assert not missing, f"never accepted: {sorted(missing)}"
    print(f"{LONG} graphs, {len(types)} layer types, 0 mismatches, {deliberate} deliberate refusals")
