"""What each stage kind takes: its inputs (values or references to earlier stages' outputs) and its options,
with their types and defaults. The pipeline file is checked against this table (:mod:`.spec`), so a misspelt
key is named before anything runs; the stages themselves live in :mod:`.stages` and :mod:`.deploy_stages`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The order stages run in; a file may leave any out, but never put a later kind before an earlier one.
STAGE_KINDS: tuple[str, ...] = ("train", "validate", "optimise", "export", "package", "register", "serve")
KIND_ALIASES = {"optimize": "optimise"}  # the command is spelt `neuralforge optimize`


@dataclass(frozen=True)
class OptionSpec:
    types: tuple[type, ...]
    default: Any = None
    required: bool = False
    help: str = ""

    def type_text(self) -> str:
        names = {bool: "true or false", int: "a whole number", float: "a number", str: "text", dict: "a mapping",
                 list: "a list"}
        return " or ".join(names.get(t, t.__name__) for t in self.types)


@dataclass(frozen=True)
class KindSpec:
    kind: str
    summary: str
    inputs: dict[str, OptionSpec]
    options: dict[str, OptionSpec] = field(default_factory=dict)
    open_options: bool = False  # options not listed are passed through to a command as --key value


_TEXT = (str,)
_INT = (int,)
_NUMBER = (int, float)
_BOOL = (bool,)

KINDS: dict[str, KindSpec] = {
    "train": KindSpec(
        "train", "train a graph on a dataset (a worker process, recorded as a run in the store)",
        inputs={"graph": OptionSpec(_TEXT, required=True, help="a .nfg file (relative to the pipeline file) or "
                                    "zoo:NAME"),
                "dataset": OptionSpec(_TEXT, required=True, help="a built-in dataset name or a path")},
        options={"epochs": OptionSpec(_INT, 3), "batch_size": OptionSpec(_INT, 64), "lr": OptionSpec(_NUMBER, 1e-3),
                 "optimizer": OptionSpec(_TEXT, "adam"), "schedule": OptionSpec(_TEXT, "none"),
                 "weight_decay": OptionSpec(_NUMBER, 0.0), "seed": OptionSpec(_INT, 0),
                 "limit": OptionSpec(_INT), "val_fraction": OptionSpec(_NUMBER, 0.1),
                 "device": OptionSpec(_TEXT, "auto"), "dataset_options": OptionSpec((dict,), {}),
                 "diagnostics": OptionSpec(_TEXT, "off"), "experiment": OptionSpec(_TEXT, "pipeline"),
                 "run_name": OptionSpec(_TEXT)}),
    "validate": KindSpec(
        "validate", "evaluate a run's best checkpoint on its validation split; outputs the metrics (val/acc …)",
        inputs={"run": OptionSpec(_TEXT, required=True, help="a run id, e.g. ${train.run_id}")},
        options={"device": OptionSpec(_TEXT, "cpu")}),
    "optimise": KindSpec(
        "optimise", "`neuralforge optimize RUN --method M --json` in a child process; outputs its JSON result",
        inputs={"run": OptionSpec(_TEXT, required=True)},
        options={"method": OptionSpec(_TEXT, required=True, help="e.g. quantize-static-int8, prune-channels"),
                 "timeout_s": OptionSpec(_NUMBER, 3600)},
        open_options=True),
    "export": KindSpec(
        "export", "export a run's weights to ONNX or TFLite, verified against torch (a worker process)",
        inputs={"run": OptionSpec(_TEXT, required=True)},
        options={"format": OptionSpec(_TEXT, "onnx"), "precision": OptionSpec(_TEXT, "fp32"),
                 "verify": OptionSpec(_BOOL, True), "file_name": OptionSpec(_TEXT)}),
    "package": KindSpec(
        "package", "a deployable folder (model, graph, metadata with checksums) and its zip, written atomically",
        inputs={"model": OptionSpec(_TEXT, required=True, help="the model file, e.g. ${export.path}"),
                "run": OptionSpec(_TEXT, help="the run it came from (its graph and metrics go in the package)")},
        options={"zip": OptionSpec(_BOOL, True), "name": OptionSpec(_TEXT)}),
    "register": KindSpec(
        "register", "`neuralforge registry register RUN --name NAME --json` in a child process",
        inputs={"run": OptionSpec(_TEXT, required=True)},
        options={"name": OptionSpec(_TEXT, required=True), "timeout_s": OptionSpec(_NUMBER, 600)},
        open_options=True),
    "serve": KindSpec(
        "serve", "start `neuralforge serve MODEL --port P` detached and wait until GET /healthz answers",
        inputs={"model": OptionSpec(_TEXT, required=True, help="NAME@VERSION, e.g. ${register.ref}")},
        options={"port": OptionSpec(_INT, 0, help="0: a free port"), "timeout_s": OptionSpec(_NUMBER, 180)},
        open_options=True),
}
