"""Planted-bug cases: small training runs, each with one known fault planted (or none: a healthy run), that
measure how often the Coach finds what is there and only that (``benchmarks/coach_bench.py``, and a smaller
set in the test suite).

Every kind the Coach knows is planted in three variants per set (different seeds, models or datasets). There
are three disjoint sets of variants: ``tune`` (variants 0–2, healthy 0–9), the runs thresholds were tuned on;
``dev`` (variants 3–5, healthy 10–19), the runs the fixes were checked and improved on; and ``report``
(variants 6–8, healthy 20–29), run once the rules and fixes were settled, whose figures are reported. A case
may list kinds it ``tolerates``: faults that really are present as a consequence of the planted one (a learning
rate so high the loss turns NaN is also too high); finding those is neither a hit nor a false alarm.

Datasets are small so that a run takes seconds: the built-in ``digits``, ``wine``, ``breast-cancer`` and
``iris``, and generated tables (Gaussian blobs written as CSV) where a fault lives in the data itself
(imbalance, duplicated rows, features in the thousands).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.training.coach.findings import Finding

SETS = {"tune": (range(0, 3), range(0, 10)), "dev": (range(3, 6), range(10, 20)),
        "report": (range(6, 9), range(20, 30))}

# dataset name → (input shape, classes)
_BUILTIN_SHAPES: dict[str, tuple[list[int], int]] = {
    "digits": ([1, 8, 8], 10), "wine": ([13], 3), "breast-cancer": ([30], 2), "iris": ([4], 3)}


@dataclass(frozen=True)
class Blobs:
    """A generated classification table: ``classes`` Gaussian blobs in ``features`` dimensions."""

    rows: int = 600
    features: int = 8
    classes: int = 3
    spread: float = 1.0  # blob standard deviation (centres are ~N(0, 2²))
    scale: float = 1.0  # every feature multiplied by this …
    offset: float = 0.0  # … then shifted by this (raw units a user forgot to normalise)
    minority: float | None = None  # share of the rarest class (the others share the rest equally)
    duplicated: float = 0.0  # share of rows written twice (so some validation rows are also training rows)

    def write(self, path: Path, seed: int) -> Path:
        rng = np.random.default_rng(seed)
        centres = rng.normal(0.0, 2.0, size=(self.classes, self.features))
        if self.minority is None:
            shares = np.full(self.classes, 1.0 / self.classes)
        else:
            shares = np.full(self.classes, (1.0 - self.minority) / (self.classes - 1))
            shares[-1] = self.minority
        labels = rng.choice(self.classes, size=self.rows, p=shares)
        x = centres[labels] + rng.normal(0.0, self.spread, size=(self.rows, self.features))
        x = x * self.scale + self.offset
        if self.duplicated:
            again = rng.choice(self.rows, size=int(self.rows * self.duplicated), replace=False)
            x, labels = np.concatenate([x, x[again]]), np.concatenate([labels, labels[again]])
            order = rng.permutation(len(labels))
            x, labels = x[order], labels[order]
        header = ",".join([f"f{i}" for i in range(self.features)] + ["label"])
        lines = [header] + [",".join(f"{v:.6g}" for v in row) + f",c{label}"
                            for row, label in zip(x, labels, strict=True)]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path


@dataclass(frozen=True)
class Case:
    name: str
    planted: str | None  # the kind planted; None: a healthy run
    graph: Callable[[], Graph]
    config: dict[str, Any]  # TrainConfig fields (the dataset is set from ``data``)
    data: str | Blobs = "digits"
    seed: int = 0
    tolerates: tuple[str, ...] = ()
    trains: bool = True  # False: training refuses this graph; only the static checks can see it
    note: str = ""
    shape: tuple[list[int], int] = field(default=([1, 8, 8], 10))

    def dataset(self, folder: Path) -> str:
        if isinstance(self.data, str):
            return self.data
        return str(self.data.write(folder / f"{self.name}.csv", self.seed))

    def train_config(self, folder: Path) -> dict[str, Any]:
        base = {"epochs": 3, "batch_size": 32, "lr": 1e-3, "optimizer": "adam", "seed": self.seed, "threads": 1,
                "log_every": 2, "val_fraction": 0.2}
        return {**base, **self.config, "dataset": self.dataset(folder)}


# -- graphs ----------------------------------------------------------------------------------------------------
def mlp(shape: list[int], classes: int, hidden: tuple[int, ...] = (64,), act: str = "ReLU", *, softmax: bool = False,
        batchnorm: bool = False, dropout: float = 0.0, loss: str = "CrossEntropyLoss", name: str = "mlp") -> Graph:
    c = Composer(name)
    x = c.input("x", shape)
    if len(shape) > 1:
        x = c.layer("Flatten", x, "flat")
    for i, width in enumerate(hidden, 1):
        x = c.layer("Linear", x, f"fc{i}", out_features=width)
        if batchnorm:
            x = c.layer("BatchNorm1d", x, f"bn{i}")
        x = c.layer(act, x, f"act{i}")
        if dropout:
            x = c.layer("Dropout", x, f"drop{i}", p=dropout)
    x = c.layer("Linear", x, "head", out_features=classes)
    if softmax:
        x = c.layer("Softmax", x, "softmax", dim=1)
    c.output(x, "scores")
    label = c.input("label", [], dtype="int64", role="target")
    c.layer(loss, {"input": x, "target": label}, "loss")
    return c.done()


def cnn(classes: int = 10, channels: int = 8, *, batchnorm: bool = False, act: str = "ReLU") -> Graph:
    """A small CNN for the 8×8 digits."""
    c = Composer("cnn")
    x = c.input("x", [1, 8, 8])
    x = c.layer("Conv2d", x, "conv1", out_channels=channels, kernel_size=3, padding=1)
    if batchnorm:
        x = c.layer("BatchNorm2d", x, "bn1")
    x = c.layer(act, x, "act1")
    x = c.layer("MaxPool2d", x, "pool1", kernel_size=2)
    x = c.layer("Conv2d", x, "conv2", out_channels=channels * 2, kernel_size=3, padding=1)
    x = c.layer(act, x, "act2")
    x = c.layer("Flatten", x, "flat")
    x = c.layer("Linear", x, "head", out_features=classes)
    c.output(x, "scores")
    label = c.input("label", [], dtype="int64", role="target")
    c.layer("CrossEntropyLoss", {"input": x, "target": label}, "loss")
    return c.done()


def _on(data: str | Blobs, build: Callable[[list[int], int], Graph]) -> Callable[[], Graph]:
    shape, classes = (_BUILTIN_SHAPES[data] if isinstance(data, str) else ([data.features], data.classes))
    return lambda: build(shape, classes)


# -- the cases ---------------------------------------------------------------------------------------------------
_TABLES = ("wine", "breast-cancer", "digits")


def _pick(options: tuple[Any, ...], variant: int) -> Any:
    return options[variant % len(options)]


def planted_case(kind: str, variant: int) -> Case:
    """The ``variant``-th run with ``kind`` planted."""
    seed = 1000 + 17 * variant
    data: str | Blobs
    if kind == "lr_too_high":
        data = _pick(("digits", "wine", "breast-cancer"), variant)
        return Case(f"{kind}-{variant}", kind, _on(data, mlp), {"optimizer": "sgd", "lr": _pick((3.0, 8.0), variant),
                    "momentum": 0.9}, data, seed, tolerates=("loss_nan", "exploding_gradients", "dead_relu",
                                                             "vanishing_gradients", "underfitting", "plateau"))
    if kind == "lr_too_low":
        data = _pick(("digits", "wine", "breast-cancer"), variant)
        return Case(f"{kind}-{variant}", kind, _on(data, mlp), {"optimizer": "sgd", "lr": 1e-5, "momentum": 0.0},
                    data, seed, tolerates=("underfitting", "plateau", "vanishing_gradients"))
    if kind == "loss_nan":
        data = _pick(("digits", "wine", "breast-cancer"), variant)
        return Case(f"{kind}-{variant}", kind, _on(data, mlp), {"optimizer": "sgd", "lr": 1e4, "momentum": 0.9},
                    data, seed, tolerates=("lr_too_high", "exploding_gradients", "dead_relu", "vanishing_gradients",
                                           "underfitting", "plateau"))
    if kind == "vanishing_gradients":
        data = _pick(("digits", "wine", "breast-cancer"), variant)
        deep = _pick(((32,) * 8, (48,) * 10), variant)
        return Case(f"{kind}-{variant}", kind,
                    _on(data, lambda s, c: mlp(s, c, deep, "Sigmoid")), {"optimizer": "sgd", "lr": 0.01,
                                                                         "momentum": 0.0},
                    data, seed, tolerates=("underfitting", "plateau", "lr_too_low", "saturated_activations"))
    if kind == "exploding_gradients":
        # A deep stack of Linear layers with nothing between them to keep the scale, and momentum: the
        # gradients grow step after step until they overflow.
        data = _pick(("digits", "wine", "breast-cancer"), variant)
        return Case(f"{kind}-{variant}", kind, _on(data, lambda s, c: mlp(s, c, (64,) * 8, "Identity")),
                    {"optimizer": "sgd", "lr": 0.3, "momentum": 0.9}, data, seed,
                    tolerates=("lr_too_high", "loss_nan", "underfitting", "plateau"))
    if kind == "dead_relu":
        # Adam with a large step pushes ReLU units below zero for every input, where no gradient revives them.
        data, hidden = "digits", _pick(((64, 64), (128,), (32, 32, 32)), variant)
        return Case(f"{kind}-{variant}", kind, _on(data, lambda s, c: mlp(s, c, hidden)),
                    {"optimizer": "adam", "lr": 0.3}, data, seed,
                    tolerates=("lr_too_high", "underfitting", "plateau", "vanishing_gradients"))
    if kind == "saturated_activations":
        data = Blobs(features=_pick((8, 13, 20), variant), scale=30.0)
        return Case(f"{kind}-{variant}", kind, _on(data, lambda s, c: mlp(s, c, (64,), "Tanh")),
                    {"normalize": False}, data, seed,
                    tolerates=("unnormalized_inputs", "vanishing_gradients", "underfitting", "plateau"))
    if kind == "overfitting":
        data = _pick(("digits", "breast-cancer", "wine"), variant)
        return Case(f"{kind}-{variant}", kind, _on(data, lambda s, c: mlp(s, c, (512, 512))),
                    {"epochs": 40, "limit": 120, "batch_size": 16}, data, seed, tolerates=("plateau",))
    if kind == "underfitting":
        data = _pick(("digits", "wine", "breast-cancer"), variant)
        return Case(f"{kind}-{variant}", kind, _on(data, lambda s, c: mlp(s, c, (1,))), {"epochs": 8}, data, seed,
                    tolerates=("plateau", "dead_relu", "lr_too_low", "vanishing_gradients"))
    if kind == "unnormalized_inputs":
        data = Blobs(features=_pick((8, 13, 20), variant), scale=200.0, offset=1000.0)
        return Case(f"{kind}-{variant}", kind, _on(data, mlp), {"normalize": False}, data, seed,
                    tolerates=("lr_too_high", "dead_relu", "underfitting", "plateau", "saturated_activations",
                               "exploding_gradients", "loss_nan"))
    if kind == "class_imbalance":
        data = Blobs(features=_pick((8, 13, 20), variant), minority=0.03, rows=900, spread=2.5)
        return Case(f"{kind}-{variant}", kind, _on(data, mlp), {}, data, seed)
    if kind == "softmax_before_cross_entropy":
        data = _pick(("digits", "wine", "breast-cancer"), variant)
        return Case(f"{kind}-{variant}", kind, _on(data, lambda s, c: mlp(s, c, softmax=True)), {}, data, seed,
                    tolerates=("underfitting", "plateau", "vanishing_gradients"))
    if kind == "data_leakage":
        data = Blobs(features=_pick((8, 13, 20), variant), duplicated=0.3)
        return Case(f"{kind}-{variant}", kind, _on(data, mlp), {}, data, seed)
    if kind == "batchnorm_small_batch":
        data = _pick(("digits", "wine", "breast-cancer"), variant)
        return Case(f"{kind}-{variant}", kind, _on(data, lambda s, c: mlp(s, c, batchnorm=True)),
                    {"batch_size": _pick((2, 4, 3), variant), "epochs": 1}, data, seed,
                    tolerates=("plateau",))
    if kind == "wrong_loss_for_task":
        data = _pick(("digits", "wine", "breast-cancer"), variant)
        return Case(f"{kind}-{variant}", kind, _on(data, lambda s, c: mlp(s, c, loss="MSELoss")), {}, data, seed,
                    trains=False, note="training refuses MSE on class labels: the static checks see it")
    if kind == "plateau":
        data = _pick(("digits", "wine", "breast-cancer"), variant)
        return Case(f"{kind}-{variant}", kind, _on(data, mlp),
                    {"epochs": 8, "schedule": "step", "step_size": 1, "gamma": 1e-4, "lr": 1e-3}, data, seed,
                    tolerates=("lr_too_low", "underfitting"))
    raise ValueError(f"no planted case for {kind!r}")


def healthy_case(variant: int) -> Case:
    """The ``variant``-th healthy run: a sensible model, settings and data."""
    seed = 2000 + 31 * variant
    choice = variant % 5
    if choice == 0:
        return Case(f"healthy-{variant}", None, lambda: mlp([1, 8, 8], 10, (64,), dropout=0.1), {}, "digits", seed)
    if choice == 1:
        return Case(f"healthy-{variant}", None, lambda: cnn(batchnorm=variant % 2 == 0), {}, "digits", seed)
    if choice == 2:
        data = _pick(("wine", "breast-cancer"), variant)
        return Case(f"healthy-{variant}", None, _on(data, lambda s, c: mlp(s, c, (32,))), {"epochs": 10}, data,
                    seed)
    if choice == 3:
        data = Blobs(features=10, classes=4, spread=1.5)
        return Case(f"healthy-{variant}", None, _on(data, lambda s, c: mlp(s, c, (64, 32), batchnorm=True)),
                    {"epochs": 5}, data, seed)
    return Case(f"healthy-{variant}", None, lambda: mlp([1, 8, 8], 10, (128, 64), "GELU"),
                {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9}, "digits", seed)


def cases(which: str = "report", kinds: tuple[str, ...] | None = None, healthy: int | None = None) -> list[Case]:
    """The planted and healthy cases of one set (``tune`` or ``report``)."""
    from neuralforge_desktop.core.training.coach.findings import KINDS

    planted_variants, healthy_variants = SETS[which]
    out = [planted_case(kind, v) for kind in (kinds or KINDS) for v in planted_variants]
    out += [healthy_case(v) for v in list(healthy_variants)[:healthy]]
    return out


def train_case(case: Case, folder: Path, store: Any) -> tuple[str, Any]:
    """Train one case in this process into ``store``; returns the run id and the trainer's result."""
    from neuralforge_desktop.core.training.config import TrainConfig
    from neuralforge_desktop.core.training.engine import Trainer
    from neuralforge_desktop.core.training.runner import prepare_run

    graph = case.graph()
    config = TrainConfig(**case.train_config(folder))
    run_id, run_dir = prepare_run(graph, config, store, "coach-bench", name=case.name)
    result = Trainer(graph, config, run_id, run_dir, lambda event: None, store).run()
    return run_id, result


def strongest(findings: list[Finding]) -> dict[str, str]:
    found: dict[str, str] = {}
    for f in findings:
        if f.kind not in found or _RANK[f.severity] > _RANK[found[f.kind]]:
            found[f.kind] = f.severity
    return found


def judge(case: Case, folder: Path, store: Any) -> tuple[list[Finding], Any, Any]:
    """Train the case (when training can take it) and return the Coach's findings, its graph and config."""
    from neuralforge_desktop.core.training.coach.runs import run_report
    from neuralforge_desktop.core.training.coach.static import static_check
    from neuralforge_desktop.core.training.config import TrainConfig

    graph = case.graph()
    config = TrainConfig(**case.train_config(folder))
    if not case.trains:
        return static_check(graph, config).findings, graph, config
    run_id, _ = train_case(case, folder, store)
    return run_report(store, store.get_run(run_id)).findings, graph, config


def retrain_fixed(case: Case, finding: Finding, graph: Any, config: Any, folder: Path,
                  store: Any) -> dict[str, str]:
    """Apply the finding's fix, train the fixed graph and settings the same way, and judge the new run."""
    from neuralforge_desktop.core.training.coach.fixes import apply_fix

    assert finding.fix is not None
    fixed = apply_fix(finding.fix, graph, config)
    settings = {**fixed.config.to_json()}
    fixed_case = Case(f"{case.name}-fixed", case.planted, lambda: fixed.graph, settings, settings["dataset"],
                              case.seed, case.tolerates, trains=True)
    findings, _, _ = judge(fixed_case, folder, store)
    return strongest(findings)


@dataclass
class Outcome:
    """What the Coach found on one case: kind → the highest severity it was reported with."""

    case: Case
    found: dict[str, str]
    seconds: float = 0.0
    fixed: dict[str, str] | None = None  # found on the run retrained with the planted finding's fix applied


_RANK = {"info": 0, "warning": 1, "error": 2}


def score(outcomes: list[Outcome]) -> dict[str, Any]:
    """Precision and recall per kind and overall (findings of any severity count), the share of healthy runs
    with a finding of severity warning or above, and the fixed runs still flagged (warning or above) for the
    kind their fix addressed. A case's tolerated kinds count neither way."""
    from neuralforge_desktop.core.training.coach.findings import KINDS

    per: dict[str, dict[str, int]] = {k: {"planted": 0, "tp": 0, "fp": 0, "fn": 0} for k in KINDS}
    for out in outcomes:
        planted = out.case.planted
        if planted is not None:
            per[planted]["planted"] += 1
            per[planted]["tp" if planted in out.found else "fn"] += 1
        for kind in out.found:
            if kind != planted and kind not in out.case.tolerates:
                per[kind]["fp"] += 1

    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 3) if b else None

    table = {k: {**v, "precision": ratio(v["tp"], v["tp"] + v["fp"]), "recall": ratio(v["tp"], v["planted"])}
             for k, v in per.items()}
    tp, fp, fn = (sum(v[key] for v in per.values()) for key in ("tp", "fp", "fn"))
    healthy = [o for o in outcomes if o.case.planted is None]
    alarmed = [o.case.name for o in healthy if any(_RANK[s] >= 1 for s in o.found.values())]
    fixes = [o for o in outcomes if o.fixed is not None and o.case.planted is not None]
    # Flagged after the fix: found again as a warning or an error (an info note, such as "imbalanced, and the
    # loss is weighted for it", flags nothing).
    still = [o.case.name for o in fixes if _RANK.get((o.fixed or {}).get(o.case.planted or "", ""), -1) >= 1]
    return {"per_kind": table, "precision": ratio(tp, tp + fp), "recall": ratio(tp, tp + fn),
            "healthy_runs": len(healthy), "healthy_with_warning": alarmed,
            "healthy_clean_share": ratio(len(healthy) - len(alarmed), len(healthy)),
            "fixes_tried": len(fixes), "fixes_still_flagged": still}
