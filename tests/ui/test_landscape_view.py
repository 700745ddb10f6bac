"""The Loss Landscape window: it draws a result it is given, and computes one with the real worker."""

import math

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.coach.landscape import LandscapeResult
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.engine import Trainer
from neuralforge_desktop.core.training.runner import prepare_run
from neuralforge_desktop.ui.training.landscape_view import LandscapeView

from training_graphs import digits_mlp


@pytest.fixture(scope="module")
def app():
    return QApplication.instance() or QApplication([])


def bowl(grid: int = 9) -> LandscapeResult:
    """A made-up surface: loss 0.1 + x² + 4y², lowest at the centre."""
    coords = [-1 + 2 * i / (grid - 1) for i in range(grid)]
    losses = [[0.1 + x * x + 4 * y * y for x in coords] for y in coords]
    return LandscapeResult(kind="surface", run_id="abc123", run_name="tiny", checkpoint="epoch-0002",
                           losses=losses, center_loss=0.1, xs=coords, ys=list(coords), examples=200,
                           center_accuracy=0.9, seconds=1.5)


def fake_run_dir(tmp_path, tags=("epoch-0001", "epoch-0002")):
    folder = tmp_path / "run" / "checkpoints"
    folder.mkdir(parents=True)
    for tag in tags:
        (folder / f"{tag}.safetensors").write_bytes(b"")
    return tmp_path / "run"


def test_a_surface_is_drawn_as_a_colour_map_with_labelled_contours_and_a_colour_bar(app, tmp_path):
    view = LandscapeView(tmp_path / "store.db", "abc123", "tiny", fake_run_dir(tmp_path))
    assert [view.center_box.itemText(i) for i in range(view.center_box.count())] == ["latest", "epoch-0001",
                                                                                     "epoch-0002"]
    view.show_result(bowl())
    plot = view.plot
    assert plot.title.text() == "Loss landscape of tiny around epoch-0002"
    assert "loss 0.1" in plot.caption.text() and "accuracy 90.0%" in plot.caption.text()
    image = plot.image.image  # log10(loss), indexed [x, y], interpolated between grid points
    assert image.shape == (65, 65)
    assert np.unravel_index(np.argmin(image), image.shape) == (32, 32)
    assert image[32, 32] == pytest.approx(math.log10(0.1))
    assert image[32, 0] > image[0, 32]  # loss climbs faster along y (4y²) than along x
    assert plot.colorbar is not None
    assert plot.level_labels == sorted(plot.level_labels) and len(plot.level_labels) >= 5
    assert plot.level_labels[0] > 0.1 and plot.level_labels[-1] < 5.1
    assert view.progress.value() == view.progress.maximum() == 82
    assert "81 points on 200 examples" in view.status.text()
    view.resize(700, 760)
    assert not view.grab().isNull()
    plot.set_theme("light")  # redrawn in the other theme's colours, the same numbers
    assert plot.image is not None and plot.image.image.shape == (65, 65) and plot.colorbar is not None

    line = LandscapeResult(kind="line", run_id="abc123", run_name="tiny", checkpoint="epoch-0001",
                           checkpoint_b="epoch-0002", alphas=[-0.5, 0.0, 0.5, 1.0, 1.5],
                           losses=[3.0, 1.0, 0.6, 0.3, 0.5], center_loss=1.0, end_loss=0.3, distance=2.0)
    view.show_result(line)  # replaces the surface: no image, no colour bar left behind
    assert plot.image is None and plot.colorbar is None and plot.level_labels == []
    assert plot.title.text() == "Loss from epoch-0001 to epoch-0002 of tiny"
    assert "‖B − A‖ = 2" in plot.caption.text()


def test_a_run_without_checkpoints_cannot_be_computed(app, tmp_path):
    view = LandscapeView(tmp_path / "store.db", "abc123", "tiny", fake_run_dir(tmp_path, tags=()))
    assert not view.compute_button.isEnabled()
    assert "has no checkpoints yet" in view.status.text()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("landscape-ui")
    graph = digits_mlp(dropout=0.0)
    config = TrainConfig(dataset="digits", epochs=1, batch_size=32, limit=200, seed=0, threads=1)
    with Store(folder / "store.db") as store:
        run_id, run_dir = prepare_run(graph, config, store, "tests", name="tiny-mlp")
        assert Trainer(graph, config, run_id, run_dir, lambda event: None, store).run().status == "finished"
    return folder / "store.db", run_id


def test_the_runs_dock_opens_the_view_and_the_worker_computes_a_surface(app, trained):
    from neuralforge_desktop.ui.training.runs_panel import RunsPanel

    store_path, run_id = trained
    panel = RunsPanel(store_path)
    (action,) = [a for a in panel.run_menu(run_id).actions() if a.text() == "Loss Landscape…"]
    action.trigger()
    view = panel.open_landscape(run_id)
    assert isinstance(view, LandscapeView) and view.isVisible()  # the action opened it; one per run
    assert view.windowTitle() == "Loss Landscape — tiny-mlp"
    view.grid_spin.setValue(3)
    view.examples_spin.setValue(100)
    outcomes = []
    view.finished_computing.connect(outcomes.append)
    view.compute()
    assert view.computing and not view.compute_button.isEnabled() and view.cancel_button.isEnabled()
    assert view.wait_until_done(120_000), view.status.text()
    assert outcomes == [True]
    result = view.result
    assert result.kind == "surface" and result.run_name == "tiny-mlp" and result.checkpoint == "epoch-0001"
    assert len(result.losses) == 3 and result.losses[1][1] == result.center_loss
    assert view.progress.value() == view.progress.maximum() == 10
    assert view.compute_button.isEnabled() and not view.cancel_button.isEnabled()

    # Cancel, once the worker has started counting: it stops, and the shown result stays.
    view.grid_spin.setValue(101)
    view.compute()
    process = view._process
    while view.progress.value() < 1 and view.computing:
        process.waitForReadyRead(30_000)
    view.cancel()
    process.waitForFinished(60_000)
    assert outcomes == [True, False]
    assert view.status.text() == "Cancelled: nothing was computed to the end."
    assert view.result is result
    panel.close()
