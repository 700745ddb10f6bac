"""Shared test setup. Qt runs offscreen (set before any Qt import)."""

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``fuzz`` (the long fuzz run, minutes) run only when asked for: ``pytest -m fuzz``."""
    if "fuzz" in (config.getoption("markexpr") or ""):
        return
    kept = [item for item in items if item.get_closest_marker("fuzz") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item.get_closest_marker("fuzz")])
        items[:] = kept


@pytest.fixture(autouse=True)
def _own_calibration(monkeypatch, tmp_path_factory):
    """Tests never read or write the user's CPU calibration or measured latencies, and never calibrate on their
    own (it times ops for seconds): both live in a fresh folder, empty unless a test saves something there."""
    from neuralforge_desktop.core.analysis import calibration
    from neuralforge_desktop.core.measure import auto, results

    folder = tmp_path_factory.mktemp("calibration")
    monkeypatch.setattr(calibration, "default_calibration_path", lambda: folder / calibration.FILE_NAME)
    monkeypatch.setattr(results, "default_results_dir", lambda: folder / "measured")
    monkeypatch.setattr(auto, "ENABLED", False)
