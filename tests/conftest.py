"""Shared test setup. Qt runs offscreen (set before any Qt import)."""

import faulthandler
import os
import sys

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


_fault_log = None  # kept open for the whole session: faulthandler writes to it when the process crashes


def pytest_sessionstart(session):
    """Under the test command, each worker writes the stacks of every thread to its own file if it crashes
    (a segfault in a test worker otherwise leaves only "worker crashed"); the command prints them."""
    global _fault_log
    folder = os.environ.get("NEURALFORGE_FAULT_LOG")
    if folder:
        name = os.environ.get("PYTEST_XDIST_WORKER", "main")
        _fault_log = open(os.path.join(folder, f"{name}.log"), "w")  # noqa: SIM115
        faulthandler.enable(_fault_log, all_threads=True)


def _qt_application():
    """The QApplication if this worker made one (never imports Qt into a worker that has not)."""
    widgets = sys.modules.get("PySide6.QtWidgets")
    return widgets.QApplication.instance() if widgets is not None else None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    """Once a test has made the QApplication, garbage is collected on the UI thread only, as in the app
    (``ui/ui_gc.py``): a worker thread collecting a cycle with a Qt object in it crashes the process."""
    yield
    if _qt_application() is not None:
        from neuralforge_desktop.ui import ui_gc

        if not ui_gc.installed():
            ui_gc.collect_on_ui_thread(later=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield
    if "neuralforge_desktop.ui.ui_gc" in sys.modules:
        sys.modules["neuralforge_desktop.ui.ui_gc"].collect_due()  # what the app's timer would have done


OPT_IN = ("fuzz", "exhaustive")  # markers of long runs that only run when asked for


def pytest_collection_modifyitems(config, items):
    """Tests marked ``fuzz`` (the long fuzz run) or ``exhaustive`` (the export sweep at every precision) take
    minutes and run only when asked for: ``pytest -m fuzz``, ``pytest -m exhaustive``."""
    asked = config.getoption("markexpr") or ""
    skipped = [marker for marker in OPT_IN if marker not in asked]
    dropped = [item for item in items if any(item.get_closest_marker(m) for m in skipped)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        gone = {id(item) for item in dropped}
        items[:] = [item for item in items if id(item) not in gone]
    # The longest tests go first, so that two workers share them from the start instead of one of them running
    # a minutes-long test at the end while the other has finished (the order within each part is kept). The
    # test command distributes whole modules in this order (xdist's loadscope without reordering).
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def _own_hosts(monkeypatch, tmp_path_factory):
    """Tests never read or write the user's registered hosts or NeuralForge's known-hosts file."""
    from neuralforge_desktop.core.remote import hostkeys, hosts

    folder = tmp_path_factory.mktemp("hosts")
    monkeypatch.setattr(hosts, "default_hosts_path", lambda: folder / "hosts.json")
    monkeypatch.setattr(hostkeys, "default_known_hosts_path", lambda: folder / "known_hosts")


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


@pytest.fixture(autouse=True)
def _own_components_and_trust(monkeypatch, tmp_path_factory):
    """Tests never read or write the user's component library or the code they trusted. The trust list is read
    by worker processes too, so it moves with the data directory they all resolve (XDG_DATA_HOME)."""
    from neuralforge_desktop.core.components import library

    folder = tmp_path_factory.mktemp("user-data")
    monkeypatch.setenv("XDG_DATA_HOME", str(folder))
    monkeypatch.setattr(library, "library_dir", lambda: folder / "neuralforge" / "components")


@pytest.fixture(autouse=True)
def _own_custom_layers(monkeypatch, tmp_path_factory):
    """Tests never read or write the user's custom layers: they live in a fresh, empty folder."""
    from neuralforge_desktop.core.catalog import user_layers

    folder = tmp_path_factory.mktemp("custom-layers")
    monkeypatch.setattr(user_layers, "default_layers_dir", lambda: folder)


@pytest.fixture(autouse=True)
def _own_config(monkeypatch, tmp_path_factory):
    """Tests never read or write the user's config folder (the audit log's signing key lives there); worker
    processes resolve the same folder through XDG_CONFIG_HOME."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("user-config")))


@pytest.fixture(scope="session")
def pg_server():
    """A PostgreSQL server of this test session (one per xdist worker), started from the installed binaries;
    tests that need it skip, naming the package, where PostgreSQL is not installed."""
    import pgserver

    server = pgserver.start_server()
    if server is None:
        pytest.skip(pgserver.MISSING)
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh PostgreSQL database holding an empty store (made from a migrated template: a few ms)."""
    return pg_server.new_database()
