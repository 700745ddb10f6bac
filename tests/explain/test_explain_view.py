"""The Explain view on a real trained MNIST run: examples listed as thumbnails, picking one shows its overlay
with the prediction, computed off the UI thread."""

from __future__ import annotations

import gc
import threading
from typing import Any

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt

from neuralforge_desktop.ui.explain import ExplainView


def test_picking_an_example_shows_its_overlay(qtbot: Any, mnist_run) -> None:
    view = ExplainView(mnist_run["store"])
    qtbot.addWidget(view)
    shown: list = []
    view.explained.connect(shown.append)
    qtbot.waitUntil(lambda: view.examples.count() > 0 and bool(shown), timeout=60_000)  # example 0, by itself
    assert view.run_box.currentData() == mnist_run["run"]
    assert [view.method_box.itemData(i) for i in range(view.method_box.count())] == \
        ["ig", "saliency", "occlusion", "gradcam"]
    assert not view.examples.item(0).icon().isNull()  # a thumbnail of the digit

    view.method_box.setCurrentIndex(3)  # gradcam
    view.examples.setCurrentRow(7)
    qtbot.waitUntil(lambda: shown[-1].sample == 7 and shown[-1].method == "gradcam", timeout=60_000)
    assert not view.picture.pixmap().isNull() and view.picture.pixmap().width() > 200
    label = int(view.subject.labels[7])
    assert f"true class <b>{label}</b>" in view.prediction.text() and "predicted" in view.prediction.text()
    assert view.worked_in and threading.get_ident() not in view.worked_in  # loaded and explained off the UI thread


def test_a_tabular_run_lists_rows_and_shows_shap_bars(qtbot: Any, iris_run) -> None:
    view = ExplainView(iris_run["store"])
    qtbot.addWidget(view)
    shown: list = []
    view.explained.connect(shown.append)
    qtbot.waitUntil(lambda: bool(shown), timeout=60_000)
    assert [view.method_box.itemData(i) for i in range(view.method_box.count())] == ["shap", "permutation"]
    assert view.examples.item(0).text().startswith("#0  [") and view.examples.item(0).icon().isNull()
    assert shown[-1].method == "shap" and shown[-1].images[0].endswith("shap-sample0.png")
    assert not view.picture.pixmap().isNull()


def test_a_store_without_runs_says_so(qtbot: Any, tmp_path) -> None:
    view = ExplainView(tmp_path / "empty.db")
    qtbot.addWidget(view)
    assert "no finished runs" in view.status.text() and view.examples.count() == 0


def test_the_pictures_folder_goes_with_the_view(qtbot: Any, tmp_path) -> None:
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    view = ExplainView(tmp_path / "empty.db")
    folder = view.output
    assert folder.is_dir()
    view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    view.close()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    del view
    gc.collect()
    assert not folder.exists()  # not left behind in the temp folder, one per view opened


def test_view_menu_opens_the_explain_view(qtbot: Any, tmp_path, monkeypatch) -> None:
    from PySide6.QtCore import QSettings

    from neuralforge_desktop.ui.main_window import MainWindow
    from neuralforge_desktop.ui.settings import Settings

    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, recovery_dir=tmp_path / "recovery", store_path=tmp_path / "store.db")
    qtbot.addWidget(window)
    monkeypatch.setattr(window.files, "ask_save_changes", lambda: "discard")
    window.commands.by_name["view.explain"].trigger()
    assert window.explain_view.isVisible() and window.explain_view.store_path == tmp_path / "store.db"
    window.explain_view.close()
