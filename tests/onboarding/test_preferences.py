"""Edit ▸ Preferences: what the user types is checked, saved under its key and used where it matters (the Train
panel's device, mixed precision and host; finished runs written to the MLflow and TensorBoard folders); the team
store's password is never on screen."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.remote.hosts import Host, HostRegistry
from neuralforge_desktop.core.store.location import parse
from neuralforge_desktop.core.store.passwords import password_file, save_password, saved_password
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.onboarding.preferences import PreferencesDialog
from neuralforge_desktop.ui.onboarding.store_url import (
    StoreUrlError,
    check_store_url,
    mask_password,
    split_password,
    with_password,
)
from neuralforge_desktop.ui.onboarding.training_prefs import export_run
from neuralforge_desktop.ui.settings import Settings

URL = "postgresql://alice:s3cr%40t%3Ax@db.example.com:5432/neuralforge"
PASSWORD = "s3cr@t:x"


@pytest.fixture
def settings(tmp_path):
    return Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def window(qtbot, tmp_path, settings, monkeypatch):
    made = MainWindow(settings, recovery_dir=tmp_path / "recovery", store_path=tmp_path / "store.db")
    monkeypatch.setattr(made.files, "ask_save_changes", lambda: "discard")
    made.resize(1280, 800)
    made.show()
    qtbot.waitExposed(made)
    yield made
    if shiboken6.isValid(made):
        made.close()
        made.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def type_into(line: QLineEdit, text: str) -> None:
    line.setFocus()
    line.selectAll()
    QTest.keyClick(line, Qt.Key.Key_Delete)
    QTest.keyClicks(line, text)


def test_store_urls_are_checked_split_and_masked():
    assert check_store_url("  ") == "" and check_store_url(f" {URL} ") == URL
    for bad, named in (("mysql://a@h/db", "mysql"), ("sqlite:///x.db", "sqlite"), ("db.example.com/x", "none"),
                       ("postgresql://a@/db", "no host"), ("postgresql://a@h:5432", "no database"),
                       ("postgresql://a@h:port/db", "port")):
        with pytest.raises(StoreUrlError, match=named) as caught:
            check_store_url(bad)
        assert isinstance(caught.value, UserError)
    bare, password = split_password(URL)
    assert (bare, password) == ("postgresql://alice@db.example.com:5432/neuralforge", PASSWORD)
    assert with_password(bare, password) == URL and split_password(with_password(bare, "new"))[1] == "new"
    assert mask_password(URL) == "postgresql://alice:••••••@db.example.com:5432/neuralforge"
    assert PASSWORD not in mask_password(URL) and "s3cr" not in mask_password(URL)
    assert mask_password(bare) == bare
    with pytest.raises(StoreUrlError, match="user name"):
        with_password("postgresql://db.example.com/x", "pw")


def test_the_dialog_saves_what_the_user_typed_and_never_shows_the_password(qtbot, settings):
    HostRegistry().add(Host(name="gpu-box", address="gpu.example.com", user="you"))
    dialog = PreferencesDialog(settings)
    qtbot.addWidget(dialog)
    dialog.show()
    assert [dialog.host.itemData(i) for i in range(dialog.host.count())] == ["", "gpu-box"]
    assert dialog.device.currentText() == "auto" and dialog.amp.isChecked() and dialog.store_url.text() == ""

    dialog.device.setCurrentText("cuda:1")
    dialog.amp.setChecked(False)
    dialog.host.setCurrentIndex(dialog.host.findData("gpu-box"))
    type_into(dialog.mlflow.line, "/home/you/mlruns")
    type_into(dialog.tensorboard.line, "/home/you/tb")
    type_into(dialog.store_url, "mysql://alice@db.example.com/neuralforge")
    type_into(dialog.store_password, PASSWORD)
    dialog.reduce_motion.setChecked(True)
    QTest.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Ok), Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and dialog.error.isVisible() and "postgresql://" in dialog.error.text()
    assert settings.store.value("store/url") is None and settings.default_device == "auto"  # nothing saved

    type_into(dialog.store_url, "postgresql://alice@db.example.com:5432/neuralforge")
    QTest.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Ok), Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    bare = "postgresql://alice@db.example.com:5432/neuralforge"
    assert settings.store.value("store/url") == bare  # the settings file never holds the password …
    assert PASSWORD not in Path(settings.store.fileName()).read_text()
    assert saved_password(parse(bare)) == PASSWORD  # … the app's password file does, for libpq to read
    assert parse(bare).connect_args()["passfile"] == str(password_file())
    assert stat.S_IMODE(password_file().stat().st_mode) == 0o600
    assert (settings.default_device, settings.mixed_precision, settings.default_host) == ("cuda:1", False, "gpu-box")
    assert (settings.mlflow_folder, settings.tensorboard_folder, settings.reduce_motion) == (
        "/home/you/mlruns", "/home/you/tb", True)

    again = PreferencesDialog(settings)
    qtbot.addWidget(again)
    assert again.store_url.text() == "postgresql://alice@db.example.com:5432/neuralforge"
    assert again.store_password.echoMode() == QLineEdit.EchoMode.Password
    assert again.store_password.displayText() != PASSWORD and set(again.store_password.displayText()) != set(PASSWORD)
    shown = [w.text() for w in again.findChildren(QLineEdit) if w.echoMode() == QLineEdit.EchoMode.Normal]
    assert not [text for text in shown if "s3cr" in text]
    again.device.setCurrentText("gpu")
    with pytest.raises(UserError, match="default device"):
        again.values()
    again.device.setCurrentText("auto")
    again.store_password.clear()  # cleared by the user: the saved password goes too
    again.accept()
    assert saved_password(parse(bare)) is None and "passfile" not in parse(bare).connect_args()


def test_a_password_saved_by_an_older_version_moves_out_of_the_settings(settings):
    settings.store.setValue("store/url", URL)  # as older versions kept it
    bare = "postgresql://alice@db.example.com:5432/neuralforge"
    assert settings.store_url == bare
    settings.sync()
    assert settings.store.value("store/url") == bare and PASSWORD not in Path(settings.store.fileName()).read_text()
    assert saved_password(parse(bare)) == PASSWORD


def test_the_password_file_is_in_libpqs_format_and_keeps_other_entries(settings):
    other = parse("postgresql://bob@db.example.com:5433/other")
    save_password(other, "b:o\\b")  # a colon and a backslash, escaped as libpq reads them
    settings.store_url = URL
    lines = password_file().read_text().splitlines()
    assert lines == ["db.example.com:5433:other:bob:b\\:o\\\\b",
                     "db.example.com:5432:neuralforge:alice:" + PASSWORD.replace(":", "\\:")]
    assert saved_password(other) == "b:o\\b"
    settings.store_url = URL.replace("s3cr%40t%3Ax", "changed")  # replaced, not added
    assert len(password_file().read_text().splitlines()) == 2
    assert saved_password(parse("postgresql://alice@db.example.com/neuralforge")) == "changed"


def test_the_train_panel_starts_at_the_preferred_device_precision_and_host(window, settings, qtbot):
    HostRegistry().add(Host(name="gpu-box", address="gpu.example.com", user="you"))
    settings.default_device, settings.mixed_precision, settings.default_host = "cpu", False, "gpu-box"
    window.show_training()
    panel = window.train_panel
    assert panel.device.device() == "cpu" and panel.config().amp is False and panel.run_on.host_name() == "gpu-box"

    dialog = window.commands["edit.preferences"]
    assert dialog.text() == "Pre&ferences…" and dialog.shortcut().toString() == "Ctrl+,"
    dialog.trigger()
    prefs = window.preferences_dialog
    prefs.device.setCurrentText("auto")
    prefs.amp.setChecked(True)
    prefs.host.setCurrentIndex(0)
    prefs.accept()
    assert panel.device.device() == "auto" and panel.config().amp is None and panel.run_on.host_name() == ""
    assert panel.config().validate().amp is None  # on for CUDA, off on a CPU: what TrainConfig means by None


def test_a_finished_run_is_written_to_the_mlflow_and_tensorboard_folders(window, settings, qtbot, tmp_path):
    pytest.importorskip("mlflow")
    pytest.importorskip("tensorboard")
    from tests.reports.experiment import build_experiment

    ids = build_experiment(tmp_path / "store.db")
    settings.mlflow_folder, settings.tensorboard_folder = str(tmp_path / "mlruns"), str(tmp_path / "tb")
    window.show_training()
    window.train_panel.run_finished.emit(ids["wide"], "finished")  # what the panel says when its worker exits
    export = window.tracking_export
    qtbot.waitUntil(lambda: export.threads and not any(t.is_alive() for t in export.threads), timeout=30_000)
    assert list((tmp_path / "tb").rglob("events.out.tfevents.*"))

    from neuralforge_desktop.core.interop.mlflow_import import import_from_mlflow

    with Store(tmp_path / "back.db") as back, Store(tmp_path / "store.db") as store:
        summary = import_from_mlflow(back, tmp_path / "mlruns")
        assert len(summary.imported) == 1
        imported = back.get_run(summary.imported[0][1])
        original = store.get_run(ids["wide"])
        assert imported.name == original.name
        assert back.metric_history(imported.id, "train/loss").values.tolist() == \
            store.metric_history(original.id, "train/loss").values.tolist()
    # the export thread's lines reach the status bar through the UI thread's event queue, after the thread ended
    qtbot.waitUntil(lambda: any(name in window.statusBar().currentMessage() for name in ("MLflow", "TensorBoard")),
                    timeout=10_000)


def test_exporting_without_folders_writes_nothing_and_a_bad_folder_says_why(tmp_path):
    from tests.reports.experiment import build_experiment

    ids = build_experiment(tmp_path / "store.db")
    assert export_run(tmp_path / "store.db", ids["wide"], "", "") == []
    (tmp_path / "file").write_text("not a folder")
    said = export_run(tmp_path / "store.db", ids["wide"], "", str(tmp_path / "file"))
    assert len(said) == 1 and "not written to TensorBoard" in said[0]
