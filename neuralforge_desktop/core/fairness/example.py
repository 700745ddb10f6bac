"""The bundled fairness example: a synthetic credit-approval table with a planted disparity, generated from a
seed (so nothing needs downloading), and a small tabular network trained on it as a real NeuralForge run.

How the table is made (one row per applicant):

* ``group`` (sensitive: ``A`` ≈ 65 %, ``B`` ≈ 35 %) and ``age_band`` (sensitive: ``18-24`` ≈ 1 %, a group too
  small for stable figures on purpose, ``25-54``, ``55+``);
* five numeric features drawn the same way for every group: ``income`` (thousands, log-normal),
  ``debt_ratio``, ``years_employed``, ``late_payments`` and ``neighbourhood_score``;
* ``approved`` (the label, 1 = approved) drawn from a logistic model of creditworthiness (income up, debt and
  late payments down, years employed up).

The planted disparity (``bias``, log-odds, default 2.0): past decisions approved group ``B`` less often at the
same creditworthiness (their logit is lowered by ``bias``), and ``neighbourhood_score`` is shifted down by
1.5 × ``bias`` for group ``B``, so it is a proxy for the group. A model trained without the ``group`` column still
learns the disparity through the proxy, which is what fairness evaluation must catch. ``bias=0`` gives the
unbiased variant: the same features and decisions for every group, no proxy.

Training a model on it yourself::

    neuralforge fairness --example DIR          # writes DIR/credit-train.csv, credit-eval.csv, credit-mlp.nfg,
                                                # trains a run and evaluates it
    neuralforge train DIR/credit-mlp.nfg --dataset DIR/credit-train.csv -o target=approved \\
        -o 'features=["income","debt_ratio","years_employed","late_payments","neighbourhood_score"]' --epochs 8
    neuralforge fairness RUN --data DIR/credit-eval.csv --sensitive group --label approved
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neuralforge_desktop.core.ir.atomic import write_text_atomic

FEATURES = ("income", "debt_ratio", "years_employed", "late_payments", "neighbourhood_score")
SENSITIVE = ("group", "age_band")
LABEL = "approved"
DEFAULT_BIAS = 2.0
TRAIN_SEED, EVAL_SEED = 1, 2
TRAIN_ROWS, EVAL_ROWS = 4000, 2000


def generate_credit(rows: int, seed: int, *, bias: float = DEFAULT_BIAS) -> Any:
    """The synthetic credit table (a pandas DataFrame) of ``rows`` applicants; ``bias`` is the planted
    disparity against group B in log-odds (0: unbiased)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    in_b = rng.random(rows) < 0.35
    age = rng.choice(np.array(["18-24", "25-54", "55+"]), size=rows, p=[0.01, 0.69, 0.30])
    income = rng.lognormal(np.log(45.0), 0.4, rows)
    debt_ratio = rng.beta(2.0, 5.0, rows)
    years = rng.gamma(2.0, 3.0, rows)
    late = rng.poisson(0.8, rows)
    neighbourhood = rng.normal(0.0, 0.7, rows) - 1.5 * bias * in_b
    merit = (1.4 * (np.log(income) - np.log(45.0)) / 0.4 - 2.0 * (debt_ratio - 0.286) / 0.16
             + 0.25 * (years - 6.0) / 4.2 - 0.8 * (late - 0.8) + 0.4)
    logit = merit - bias * in_b
    approved = (rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    return pd.DataFrame({
        "income": income.round(2), "debt_ratio": debt_ratio.round(4), "years_employed": years.round(2),
        "late_payments": late.astype(np.int64), "neighbourhood_score": neighbourhood.round(4),
        "group": np.where(in_b, "B", "A"), "age_band": age, LABEL: approved,
    })


def credit_graph() -> Any:
    """A small classifier for the table's five features: 32 hidden units, ReLU, two classes."""
    from neuralforge_desktop.core.ir.compose import Composer
    from neuralforge_desktop.core.zoo.entry import classification_loss

    c = Composer("credit-mlp")
    x = c.input("features", [len(FEATURES)])
    x = c.layer("Linear", x, "fc1", out_features=32)
    x = c.layer("ReLU", x, "relu1")
    logits = c.layer("Linear", x, "fc2", out_features=2)
    c.output(logits, "logits")
    classification_loss(c, logits)
    return c.done()


@dataclass(frozen=True)
class ExampleFiles:
    folder: Path
    train_csv: Path
    eval_csv: Path
    graph: Path

    def dataset_options(self) -> dict[str, Any]:
        """The loader options that train on the five features (never the sensitive columns)."""
        return {"target": LABEL, "features": list(FEATURES)}


def write_example(folder: str | Path, *, bias: float = DEFAULT_BIAS, train_rows: int = TRAIN_ROWS,
                  eval_rows: int = EVAL_ROWS) -> ExampleFiles:
    """Write the training and evaluation tables (different seeds) and the graph into ``folder``."""
    from neuralforge_desktop.core.ir.serialize import dumps

    out = Path(folder).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    files = ExampleFiles(out, out / "credit-train.csv", out / "credit-eval.csv", out / "credit-mlp.nfg")
    write_text_atomic(files.train_csv, generate_credit(train_rows, TRAIN_SEED, bias=bias).to_csv(index=False))
    write_text_atomic(files.eval_csv, generate_credit(eval_rows, EVAL_SEED, bias=bias).to_csv(index=False))
    write_text_atomic(files.graph, dumps(credit_graph()))
    write_text_atomic(out / "README.json", json.dumps({
        "what": "synthetic credit approvals with a planted disparity against group B", "bias_log_odds": bias,
        "label": LABEL, "features": list(FEATURES), "sensitive": list(SENSITIVE)}, indent=2))
    return files


def train_example(store: Any, files: ExampleFiles, *, epochs: int = 8, seed: int = 0) -> str:
    """Train the example graph on the example's training table as a run in ``store`` (in this process, a few
    seconds on a CPU); returns the run id."""
    from neuralforge_desktop.core.errors import UserError
    from neuralforge_desktop.core.ir.serialize import load_graph
    from neuralforge_desktop.core.training.config import TrainConfig
    from neuralforge_desktop.core.training.engine import Trainer
    from neuralforge_desktop.core.training.runner import prepare_run

    graph = load_graph(files.graph)
    config = TrainConfig(dataset=str(files.train_csv), epochs=epochs, batch_size=64, lr=0.01, seed=seed,
                         threads=1, dataset_options=files.dataset_options())
    run_id, run_dir = prepare_run(graph, config, store, "fairness-example", name="credit-mlp")
    result = Trainer(graph, config, run_id, run_dir, lambda event: None, store).run()
    if result.status != "finished":
        raise UserError(f"training the fairness example stopped: run {run_id} is {result.status}")
    return run_id
