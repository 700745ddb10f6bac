"""The graph with its settings and its dataset, before any training: a softmax the loss applies again, a loss
that does not suit the targets, BatchNorm with batches too small for its statistics."""

from __future__ import annotations

from typing import Any

from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.catalog.spec import Trait
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.training.coach.context import CoachContext
from neuralforge_desktop.core.training.coach.findings import Finding
from neuralforge_desktop.core.training.coach.rules.common import (
    NotApplicable,
    evidence,
    graph_fix,
    rule,
    set_config,
    task,
)
from neuralforge_desktop.core.training.coach.thresholds import Thresholds

# The activations a cross-entropy-style loss (its catalog entry's loss_checks) applies itself.
PROBABILITY_TRAITS = (Trait.SOFTMAX, Trait.LOG_SOFTMAX)
DEFAULT_CE_TASKS = ("classification", "language-modeling")  # where training uses cross-entropy by default


def _losses(graph: Graph) -> list[Any]:
    cat = catalog()
    return [n for n in graph if (layer := cat.find(n.type)) is not None and layer.is_loss]


def _producer(graph: Graph, node_id: str, port: str) -> Any:
    """The node whose result reaches ``node_id.port``, looking through pass-through nodes (Identity,
    Dropout): a Softmax → Dropout → loss is still a softmax into the loss."""
    cat = catalog()
    edge = graph.edge_into(node_id, port)
    seen = set()
    while edge is not None and edge.src not in seen:
        seen.add(edge.src)
        node = graph.node(edge.src)
        layer = cat.find(node.type)
        if layer is None or not layer.has(Trait.PASS_THROUGH):
            return node
        edge = next(iter(graph.incoming(node.id).values()), None)
    return None


def _has_trait(node: Any, traits: tuple[str, ...]) -> bool:
    layer = catalog().find(node.type)
    return layer is not None and any(layer.has(t) for t in traits)


@rule("softmax_before_cross_entropy", needs=("graph",), summary="a Softmax (or LogSoftmax) feeds a cross-entropy "
      "loss, which applies it itself")
def softmax_before_cross_entropy(ctx: CoachContext, t: Thresholds) -> list[Finding]:
    graph: Graph = ctx.graph
    cat = catalog()
    pairs: list[tuple[Any, str]] = []  # (softmax node, what reads it)
    losses = _losses(graph)
    for loss in losses:
        layer = cat.get(loss.type)
        checked = tuple(c.activation for c in layer.loss_checks if c.activation in PROBABILITY_TRAITS)
        source = _producer(graph, loss.id, "input")
        if checked and source is not None and _has_trait(source, checked):
            pairs.append((source, f"{loss.type} '{loss.id}'"))
    if not losses:
        kind = task(ctx)
        if kind is None and ctx.loss_name is None:
            raise NotApplicable("no loss node, and the dataset's task (which picks the default loss) is unknown")
        default_ce = kind in DEFAULT_CE_TASKS or "cross" in (ctx.loss_name or "").lower()
        outputs = graph.output_nodes
        source = _producer(graph, outputs[0].id, "x") if outputs and default_ce else None
        if source is not None and _has_trait(source, PROBABILITY_TRAITS):
            pairs.append((source, "the default CrossEntropyLoss, which reads the first Output"))
    findings = []
    for node, reader in pairs:
        findings.append(Finding(
            "softmax_before_cross_entropy", "warning", f"{node.type} '{node.id}' feeds a cross-entropy loss",
            f"{node.type} '{node.id}' turns the scores into probabilities, and {reader} applies a (log-)softmax "
            "itself: applied twice, the outputs are squashed into a narrow range, the gradients get tiny and "
            "training crawls. Remove the node and connect the raw scores (logits); apply softmax only when "
            "you read predictions.",
            evidence({"node_type": node.type}, node.id),
            graph_fix("remove_node", f"Remove {node.type} '{node.id}'", node=node.id), None))
    return findings


@rule("wrong_loss_for_task", needs=("graph", "data"), summary="the loss does not suit the dataset's targets (e.g. "
      "MSE on class labels)")
def wrong_loss_for_task(ctx: CoachContext, t: Thresholds) -> list[Finding]:
    assert ctx.data is not None
    graph: Graph = ctx.graph
    cat = catalog()
    findings = []
    for loss in _losses(graph):
        ports = {p.name: p for p in cat.get(loss.type).input_ports({})}
        wants_floats = "target" in ports and ports["target"].dtype == "float"
        data = ctx.data
        if data.task in DEFAULT_CE_TASKS and wants_floats:
            right, targets = "CrossEntropyLoss", (f"class labels ({data.classes} classes)"
                                                  if data.task == "classification" else "next-token ids")
        elif data.task == "regression" and not wants_floats:
            right, targets = "MSELoss", "regression targets (numbers)"
        else:
            continue
        findings.append(Finding(
            "wrong_loss_for_task", "error", f"{loss.type} does not suit dataset {data.name}",
            f"{loss.type} '{loss.id}' expects {'float targets' if wants_floats else 'class labels'}, but dataset "
            f"{data.name} gives {targets}; training refuses this combination. Use {right}.",
            evidence({"task": data.task, "loss": loss.type, "classes": data.classes}, loss.id),
            graph_fix("replace_loss", f"Replace {loss.type} with {right}", node=loss.id, type=right), None))
    return findings


@rule("batchnorm_small_batch", needs=("graph", "config"), summary="BatchNorm with batches under ~8 examples (1: "
      "an error), or a last batch of one example")
def batchnorm_small_batch(ctx: CoachContext, t: Thresholds) -> list[Finding]:
    norms = [path for path, node in ctx.graph.walk() if node.type.startswith("BatchNorm")]
    if not norms:
        return []
    batch = int(ctx.config.batch_size)
    procs = getattr(ctx.config, "procs", None) or 1
    per_process = batch // procs  # each data-parallel process normalises over its own share of the batch
    numbers = {"batch_size": batch, "per_process_batch": per_process, "batchnorm_layers": len(norms)}
    names = ", ".join(f"'{p}'" for p in norms[:3]) + (f" and {len(norms) - 3} more" if len(norms) > 3 else "")
    if per_process < t.batchnorm_min_batch:
        severity = "error" if per_process <= 1 else "warning"
        why = ("with one example per batch, each example is normalised by itself: BatchNorm1d refuses it and "
               "BatchNorm2d erases what tells examples apart" if per_process <= 1 else
               f"the mean and variance of {per_process} examples are too noisy to normalise with, and differ "
               "from the running statistics used at inference")
        return [Finding(
            "batchnorm_small_batch", severity, f"BatchNorm with batches of {per_process}",
            f"BatchNorm {names} computes its statistics over each batch; {why}. Use batches of at least "
            f"{t.batchnorm_min_batch * 2} (or GroupNorm/LayerNorm, which do not depend on the batch).",
            evidence(numbers, norms[0], nodes=norms),
            set_config(f"Use batches of {max(32, t.batchnorm_min_batch * 2)}",
                       batch_size=max(32, t.batchnorm_min_batch * 2)), None)]
    train_size = ctx.data.train_size if ctx.data is not None else None
    if train_size and procs == 1 and train_size % batch == 1:
        return [Finding(
            "batchnorm_small_batch", "warning", "The last batch of each epoch holds one example",
            f"{train_size:,} training examples in batches of {batch} leave one example for the last batch; "
            f"BatchNorm {names} cannot compute statistics over one example (BatchNorm1d stops training with an "
            "error there). Change the batch size by one.",
            evidence({**numbers, "train_size": train_size}, norms[0], nodes=norms),
            set_config(f"Use batches of {batch + 1}", batch_size=batch + 1), None)]
    return []
