"""Team ▸ Share as Bundle… lists the runs of the open design, ticked; exporting writes a bundle that imports into
another store with the chosen runs only. Team ▸ Import Bundle… shows what a bundle holds, then imports it."""

from __future__ import annotations

import threading

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QSettings
from PySide6.QtWidgets import QApplication

from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.team.bundle_import import import_bundle
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.settings import Settings
from tests.team.bundle_design import make_design


@pytest.fixture
def junior(tmp_path, monkeypatch) -> dict:
    """A junior's design.nfg and a store with two of its runs."""
    return make_design(tmp_path / "junior", monkeypatch)


@pytest.fixture
def window(qtbot, junior, tmp_path, monkeypatch):
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    made = MainWindow(settings, recovery_dir=tmp_path / "recovery", document=Document.open(junior["graph_path"]),
                      store_path=junior["store"])
    monkeypatch.setattr(made.files, "ask_save_changes", lambda: "discard")
    made.resize(1280, 800)
    made.show()
    qtbot.waitExposed(made)
    yield made
    if shiboken6.isValid(made):
        made.close()
        made.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def test_sharing_from_the_dialog_writes_a_bundle_that_imports(window, junior, tmp_path, qtbot, monkeypatch):
    from neuralforge_desktop.core.team import bundle

    written_in: list[int] = []
    real_export = bundle.export_bundle
    monkeypatch.setattr(bundle, "export_bundle",
                        lambda *a, **k: written_in.append(threading.get_ident()) or real_export(*a, **k))
    window.commands.by_name["team.share_bundle"].trigger()
    dialog = window.share_bundle_dialog
    assert dialog.runs.count() == 2 and sorted(dialog.chosen_runs()) == sorted(junior["runs"])
    dialog.set_checked([junior["runs"][1]])
    dialog.output.setText(str(tmp_path / "shared.nfbundle"))
    dialog.export_button.click()
    assert dialog.busy and not dialog.export_button.isEnabled()  # written off the UI thread, the window responds
    qtbot.waitUntil(lambda: not dialog.busy, timeout=30_000)
    assert written_in and threading.get_ident() not in written_in
    assert (tmp_path / "shared.nfbundle").is_file(), dialog.message.text()
    assert dialog.written == tmp_path / "shared.nfbundle" and dialog.export_button.isEnabled()
    assert "1 run(s)" in dialog.message.text()
    with Store(tmp_path / "colleague.db") as store:
        result = import_bundle(store, tmp_path / "shared.nfbundle", graph_dir=tmp_path / "colleague")
        assert list(result.created) == [junior["runs"][1]]
        assert store.get_run(result.created[junior["runs"][1]]).name == "lr-0.003"
    assert (tmp_path / "colleague" / "design.nfg").read_bytes() == junior["graph_path"].read_bytes()


def test_the_import_dialog_shows_the_bundle_then_imports_it(window, junior, tmp_path, monkeypatch, qtbot):
    from neuralforge_desktop.core.team.bundle import export_bundle

    senior = tmp_path / "senior"
    with Store(junior["store"]) as store:
        export_bundle(store, senior / "design.nfbundle", graph_path=junior["graph_path"])
    monkeypatch.setenv("NEURALFORGE_USER", "senior")
    window.store_path = tmp_path / "senior.db"
    window.commands.by_name["team.import_bundle"].trigger()
    dialog = window.import_bundle_dialog
    dialog.bundle.setText(str(senior / "design.nfbundle"))
    dialog.inspect()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=30_000)
    assert dialog.import_button.isEnabled()
    text = dialog.summary.toPlainText()
    assert "Made by junior" in text and "every checksum matches" in text and "lr-0.01" in text
    assert dialog.graph_dir.text() == str(senior)
    dialog.import_button.click()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=30_000)
    assert dialog.result_ is not None and len(dialog.result_.created) == 2
    assert "2 new run(s)" in dialog.summary.toPlainText()
    dialog.open_button.click()
    assert window.files.document.path == senior / "design.nfg"


def test_a_damaged_bundle_is_refused_by_name_and_import_stays_off(window, tmp_path, qtbot):
    damaged = tmp_path / "damaged.nfbundle"
    damaged.write_bytes(b"PK\x03\x04 not really a bundle")
    window.commands.by_name["team.import_bundle"].trigger()
    dialog = window.import_bundle_dialog
    dialog.bundle.setText(str(damaged))
    dialog.inspect()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=30_000)
    assert dialog.summary.toPlainText().startswith("Cannot import:") and "damaged.nfbundle" in \
        dialog.summary.toPlainText()
    assert not dialog.import_button.isEnabled()
