"""The notebook report: valid nbformat v4, and run by nbclient it reloads the store and draws the plots."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

import nbformat

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.reports.notebook_report import build_notebook, execute_notebook
from neuralforge_desktop.core.store.sqlite_store import Store
from tests.reports.experiment import EXPERIMENT, HOSTILE_NAME, build_experiment


def _outputs(notebook: object, output_type: str) -> list[dict]:
    return [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs  # type: ignore[attr-defined]
            if o.output_type == output_type]


def test_the_notebook_runs_and_draws_the_curves_of_every_run(tmp_path: Path) -> None:
    ids = build_experiment(tmp_path / "store.db")
    with Store(tmp_path / "store.db") as store:
        notebook = build_notebook(store, EXPERIMENT)
    nbformat.validate(notebook)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")  # data: not copied
    assert HOSTILE_NAME not in "".join(cell.source for cell in notebook.cells)

    with Store(tmp_path / "store.db") as store:  # a run added after the notebook was written shows when it runs
        late = store.create_run(EXPERIMENT, "late", environment={}, status="finished")
        store.log_series(late.id, "train/loss", [0, 1, 2], [1.0, 0.5, 0.25])

    execute_notebook(notebook, timeout=120, cwd=tmp_path)
    assert not _outputs(notebook, "error")
    images = [o for o in _outputs(notebook, "display_data") if "image/png" in o["data"]]
    assert len(images) == 1 and len(images[0]["data"]["image/png"]) > 5000
    table = next(o for o in _outputs(notebook, "execute_result") if "run" in o["data"].get("text/plain", ""))
    text = table["data"]["text/html"]
    assert all(run_id in text for run_id in [*ids.values(), late.id])
    printed = "".join(o["text"] for o in _outputs(notebook, "stream"))
    assert f"{EXPERIMENT}: 4 runs" in printed and "[hypothesis] experiment" in printed


def test_report_command_writes_a_notebook(tmp_path: Path) -> None:
    build_experiment(tmp_path / "store.db")
    out = tmp_path / "exp.ipynb"
    assert main(["report", EXPERIMENT, "--format", "ipynb", "-o", str(out), "--store", str(tmp_path / "store.db")]) == 0
    notebook = nbformat.read(str(out), as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    assert str((tmp_path / "store.db").resolve()) in notebook.cells[1].source
