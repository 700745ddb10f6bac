"""The Coach before training: the graph, the settings and the dataset, loaded the way training loads it, checked
without building an optimizer or taking a step. What it finds (a softmax before the loss, MSE on class labels,
BatchNorm with batches of 2, leaked or imbalanced data, raw pixels) is known before the user presses Train.

``data_facts`` is shared with the live Coach, which computes the same facts from the data a run loaded."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.training.coach.context import CoachContext, DataFacts
from neuralforge_desktop.core.training.coach.report import CoachReport
from neuralforge_desktop.core.training.coach.thresholds import Thresholds, load_thresholds
from neuralforge_desktop.core.training.config import TrainConfig

# Rows hashed at most per split by the leakage check: beyond this a seeded sample of the training rows is
# compared (enough to see a leak of any size that matters; the finding's count is then a lower bound).
LEAK_SAMPLE_ROWS = 200_000
LEAK_EXAMPLES = 5  # validation indices kept as evidence


def static_check(graph: Graph, config: TrainConfig, thresholds: Thresholds | None = None) -> CoachReport:
    """Load ``config``'s dataset as training would, check that the graph's Inputs fit it (a SetupError, a
    UserError naming the Input, when not), and evaluate every rule that can run before training."""
    from neuralforge_desktop.core.training.coach.rules import evaluate
    from neuralforge_desktop.core.training.datasets import load_dataset
    from neuralforge_desktop.core.training.setup import SetupError, bind_dataset

    config.validate()
    bundle = load_dataset(config.dataset, val_fraction=config.val_fraction, seed=config.seed,
                          normalize=config.normalize, limit=config.limit, options=dict(config.dataset_options))
    try:
        bind_dataset(graph.copy(), bundle)  # a copy: binding writes the data's sizes into the graph's symbols
    except SetupError:
        # A loss that does not fit the task (MSE on class labels) also fails binding, as a shape error on its
        # target: that is the wrong_loss_for_task finding, which the rules report with its fix.
        if not _loss_misfits(graph, bundle):
            raise
    context = CoachContext(graph=graph, config=config, loss_name=loss_name(graph, bundle.task),
                           data=data_facts(bundle), status="static",
                           steps_per_epoch=math.ceil(len(bundle.train) / config.batch_size))
    return evaluate(context, thresholds or load_thresholds())


def _loss_misfits(graph: Graph, bundle: Any) -> bool:
    from neuralforge_desktop.core.catalog.registry import catalog
    from neuralforge_desktop.core.training.setup import SetupError, check_loss_fits

    cat = catalog()
    for node in graph:
        layer = cat.find(node.type)
        if layer is not None and layer.is_loss:
            try:
                check_loss_fits(node, layer, bundle)
            except SetupError:
                return True
    return False


def loss_name(graph: Graph, task: str) -> str:
    """The loss training will use: the graph's loss node, else the task's default (as ``setup.build_setup``)."""
    from neuralforge_desktop.core.catalog.registry import catalog

    cat = catalog()
    for node in graph:
        layer = cat.find(node.type)
        if layer is not None and layer.is_loss:
            return node.type
    return "CrossEntropyLoss" if task in ("classification", "language-modeling") else "MSELoss"


def data_facts(bundle: Any, check_leakage: bool = True) -> DataFacts:
    """What the rules need to know about a loaded dataset (``datasets.DatasetBundle``)."""
    train, val = bundle.train, bundle.val
    kind = _kind(bundle, train.x)
    facts = DataFacts(name=bundle.name, task=bundle.task, classes=bundle.num_classes, train_size=len(train),
                      val_size=len(val), kind=kind)
    if bundle.task == "classification" and bundle.num_classes and len(train):
        counts = np.bincount(np.asarray(train.y, dtype=np.int64).ravel(), minlength=int(bundle.num_classes))
        facts.label_counts = [int(c) for c in counts]
    if kind != "text" and len(train) and np.issubdtype(train.x.dtype, np.floating):
        axis = _channel_axis(kind, train.x.ndim)
        other = tuple(i for i in range(train.x.ndim) if i != axis)
        x = train.x.astype(np.float64, copy=False)
        facts.channel_mean = [float(v) for v in np.atleast_1d(x.mean(axis=other))]
        facts.channel_std = [float(v) for v in np.atleast_1d(x.std(axis=other))]
        facts.input_min, facts.input_max = float(x.min()), float(x.max())
    if check_leakage and len(train) and len(val):
        facts.leaked, facts.leaked_examples = leaked_rows(train.x, val.x)
    return facts


def _kind(bundle: Any, x: np.ndarray) -> str:
    if bundle.input_dtype == "int64" or not np.issubdtype(x.dtype, np.floating):
        return "text"
    return {4: "image", 2: "features"}.get(x.ndim, "series")


def _channel_axis(kind: str, ndim: int) -> int:
    """The axis that holds channels (images N×C×H×W, "channels" series N×C×T) or columns (tables N×F)."""
    return 1 if kind in ("image", "features") or ndim == 2 else ndim - 1


def leaked_rows(train_x: np.ndarray, val_x: np.ndarray, seed: int = 0) -> tuple[int, list[int]]:
    """How many validation rows are byte-identical to some training row, and the first few such indices. Rows
    are compared by a 128-bit hash of their bytes, so memory stays small whatever the row size."""
    import hashlib

    def digests(a: np.ndarray) -> list[bytes]:
        flat = np.ascontiguousarray(a.reshape(len(a), -1))
        return [hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in flat]

    if len(train_x) > LEAK_SAMPLE_ROWS:
        pick = np.random.default_rng(seed).choice(len(train_x), LEAK_SAMPLE_ROWS, replace=False)
        train_x = train_x[np.sort(pick)]
    seen = set(digests(train_x))
    hits = [i for i, row in enumerate(digests(val_x[:LEAK_SAMPLE_ROWS])) if row in seen]
    return len(hits), hits[:LEAK_EXAMPLES]
