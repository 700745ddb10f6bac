"""A Jupyter notebook (nbformat v4) on one experiment whose cells reload everything from the store.

The notebook holds no copy of the data: run it and it opens the store by path with NeuralForge's own API,
builds pandas DataFrames of the runs and the curves, and re-draws the plots with matplotlib, so it shows the
experiment as it is when it runs (runs added since included). Names from the store enter the code only as
Python string literals (``repr``), never as code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.store.sqlite_store import Store

KERNEL = "python3"

_SETUP = """\
import math

import matplotlib.pyplot as plt
import pandas as pd

from neuralforge_desktop.core.store import Store

%matplotlib inline

STORE_PATH = {store!r}
EXPERIMENT_ID = {experiment!r}
store = Store(STORE_PATH)
experiment = store.get_experiment(EXPERIMENT_ID)
runs = sorted(store.list_runs(experiment), key=lambda run: run.created)
print(f"{{experiment.name}}: {{len(runs)}} runs in {{STORE_PATH}}")"""

_RUNS_TABLE = """\
rows = []
for run in runs:
    row = {"run": run.name, "id": run.id, "status": run.status}
    row.update({f"param {key}": value for key, value in run.params.items()})
    row.update({name: latest.value for name, latest in run.metrics.items()})
    rows.append(row)
runs_table = pd.DataFrame(rows)
runs_table"""

_CURVES = """\
points = []
for run in runs:
    for name in store.metric_names(run.id):
        series = store.metric_history(run.id, name)
        points.append(pd.DataFrame({"run": run.name, "metric": name, "step": series.steps, "value": series.values}))
curves = pd.concat(points, ignore_index=True) if points else pd.DataFrame(columns=["run", "metric", "step", "value"])
curves.groupby(["metric", "run"]).size().rename("points").to_frame()"""

_PLOTS = """\
metrics = sorted(curves["metric"].unique())
if metrics:
    columns = min(2, len(metrics))
    rows = math.ceil(len(metrics) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(6.5 * columns, 3.6 * rows), squeeze=False)
    for ax, metric in zip(axes.flat, metrics):
        for run_name, points in curves[curves["metric"] == metric].groupby("run", sort=False):
            ax.plot(points["step"], points["value"], label=str(run_name).replace("$", r"\\$"))
        ax.set_title(metric.replace("$", r"\\$"))
        ax.set_xlabel("step")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    for ax in list(axes.flat)[len(metrics):]:
        ax.set_visible(False)
    figure.tight_layout()
    plt.show()
else:
    print("no metrics logged")"""

_NOTES = """\
for note in store.list_notes(experiment=experiment, include_runs=True):
    about = f"run {note.run_id}" if note.run_id else "experiment"
    print(f"[{note.kind}] {about}  #{note.id}\\n{note.text}\\n")"""


def build_notebook(store: Store, experiment: str) -> Any:
    """The notebook (an ``nbformat.NotebookNode``) on ``experiment`` (name or id) in ``store``."""
    import nbformat
    from nbformat import v4

    exp = store.get_experiment(experiment)
    store_path = store.path if isinstance(store.path, str) else str(Path(store.path).resolve())  # a URL as it is
    title = exp.name.replace("\\", "\\\\").replace("`", "\\`").replace("<", "&lt;").replace(">", "&gt;")
    cells = [
        v4.new_markdown_cell(f"# Experiment `{title}`\n\nEvery cell reads the NeuralForge store afresh: run "
                             "all cells to see the experiment as it is now."),
        v4.new_code_cell(_SETUP.format(store=store_path, experiment=exp.id)),
        v4.new_markdown_cell("## Runs: params and final metrics"),
        v4.new_code_cell(_RUNS_TABLE),
        v4.new_markdown_cell("## Curves"),
        v4.new_code_cell(_CURVES),
        v4.new_code_cell(_PLOTS),
        v4.new_markdown_cell("## Notes"),
        v4.new_code_cell(_NOTES),
    ]
    notebook = v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    nbformat.validate(notebook)
    return notebook


def execute_notebook(notebook: Any, *, timeout: int = 300, cwd: str | os.PathLike[str] | None = None) -> Any:
    """Run every cell in a fresh kernel (nbclient); the notebook comes back with its outputs."""
    from nbclient import NotebookClient

    client = NotebookClient(notebook, timeout=timeout, kernel_name=KERNEL,
                            resources={"metadata": {"path": str(cwd or Path.cwd())}})
    client.execute()
    return notebook


def write_notebook_report(store: Store, experiment: str, output: str | os.PathLike[str], *,
                          execute: bool = False) -> Path:
    """Write the notebook on ``experiment`` to ``output`` (run first when ``execute``); returns its path."""
    import nbformat

    store.flush()
    notebook = build_notebook(store, experiment)
    target = Path(output)
    if execute:
        execute_notebook(notebook, cwd=target.resolve().parent)
    partial = target.with_name(target.name + ".partial")
    nbformat.write(notebook, str(partial))
    os.replace(partial, target)
    return target
