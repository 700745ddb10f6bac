"""A language model's run has no accuracy: the Train panel and the Runs panel plot its perplexity instead (on
a log axis), from the events and the store a real tiny run leaves; a classification run still gets accuracy,
and overlaying runs of both kinds shows both plots."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")

from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.training.events import EpochEvent, StartedEvent
from neuralforge_desktop.ui.bridge import DocumentBridge
from neuralforge_desktop.ui.training import RunsPanel, TrainPanel
from neuralforge_desktop.ui.training.curves import LIVE

from training_graphs import small_gpt, train_language_model

SHOTS = Path(tempfile.gettempdir())  # screenshots for a person to look at


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Any], Path, str]:
    """The events and store of a real two-epoch run of a tiny GPT on a small corpus (about 3 s)."""
    folder = tmp_path_factory.mktemp("lm")
    result, events, store, run_id, _ = train_language_model(small_gpt(), folder, epochs=2)
    assert result.status == "finished", events[-1]
    store.close()
    return events, folder / "store.db", run_id


def test_train_panel_plots_a_language_models_perplexity(qtbot: Any, lm_run: tuple[list[Any], Path, str]) -> None:
    events, store_path, _ = lm_run
    panel = TrainPanel(DocumentBridge(Document(small_gpt())), store_path)
    qtbot.addWidget(panel)
    panel.resize(900, 700)
    panel.show()
    curves = panel.curves
    assert curves.shown_plots() == ["loss", "acc"]  # before a run: as always
    started = next(e for e in events if isinstance(e, StartedEvent))
    panel._on_event(started)
    assert curves.shown_plots() == ["loss", "ppl"]  # known from the start, before the first epoch ends
    for event in events[events.index(started) + 1:]:
        panel._on_event(event)
    curves.flush()
    qtbot.wait(50)  # the plots re-range when they next paint
    epochs = [e.metrics for e in events if isinstance(e, EpochEvent) and e.metrics]
    for name in ("train/perplexity", "val/perplexity"):
        steps, values = curves.series_data(LIVE, name)
        assert len(steps) == 2 and values == pytest.approx([m[name] for m in epochs])
    assert curves.point_count(LIVE, "val/acc") == 0
    ppl = curves.plot_widget("ppl").getPlotItem()
    assert ppl.getAxis("left").logMode and ppl.getAxis("left").labelText == "Perplexity"
    low, high = ppl.getViewBox().viewRange()[1]  # log10 of the values: both epochs are in view
    assert low <= np.log10(min(values)) and np.log10(max(values)) <= high
    assert ppl.legend.isVisible()
    axis = ppl.getAxis("left")
    labels = [text for spacing, ticks in axis.tickValues(low, high, 400)
              for text in axis.tickStrings(ticks, axis.autoSIPrefixScale, spacing) if text]
    assert labels and all(float(text) > 1 for text in labels)  # plain numbers such as 5, 10, 20, not 2·10¹
    panel.grab().save(str(SHOTS / "nf_train_panel_language_model.png"))

    panel.curves.clear()  # a classification run next: accuracy again
    panel._on_event(StartedEvent(run_id="r", dataset={"task": "classification"}))
    panel._on_event(EpochEvent(epoch=1, step=10, metrics={"train/loss": 0.5, "val/acc": 0.8}))
    assert curves.shown_plots() == ["loss", "acc"]


def test_runs_panel_overlays_perplexity_and_accuracy(qtbot: Any, lm_run: tuple[list[Any], Path, str]) -> None:
    _, store_path, lm_id = lm_run
    panel = RunsPanel(store_path)
    qtbot.addWidget(panel)
    panel.resize(1000, 700)
    panel.show()
    panel.select_runs([lm_id])
    curves = panel.curves
    lm_label = next(label for label in curves.runs())
    assert curves.point_count(lm_label, "val/perplexity") == 2
    assert curves.shown_plots() == ["loss", "ppl"]

    store = panel.store
    other = store.create_run("sweep", "classifier", params={}, tags={}, environment={})
    store.log_series(other.id, "val/acc", [10, 20], [0.6, 0.8])
    store.log_series(other.id, "train/loss", [10, 20], [0.9, 0.5])
    store.set_status(other.id, "finished")
    panel.refresh()
    panel.select_runs([lm_id, other.id])
    assert curves.shown_plots() == ["loss", "acc", "ppl"]
    panel.grab().save(str(SHOTS / "nf_runs_panel_language_model.png"))
