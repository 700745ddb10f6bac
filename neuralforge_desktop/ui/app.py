"""Start the desktop app: ``run_app(argv)`` is what ``neuralforge``, ``neuralforge app`` and ``neuralforge start``
call.

Start-up stays light: nothing here (or in the window) imports torch, TensorFlow or coremltools, which are
only needed to train or export and would add seconds before the window appears.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import neuralforge_desktop

if TYPE_CHECKING:
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from neuralforge_desktop.ui.main_window import MainWindow

# resources/ sits next to the package in a source checkout and inside the desktop bundles alike.
ICONS = Path(neuralforge_desktop.__file__).resolve().parent.parent / "resources" / "icons"

NO_DISPLAY = ("neuralforge: no display found; run `neuralforge demo` for the headless tour, "
              "or set QT_QPA_PLATFORM=offscreen")


def has_display() -> bool:
    """Whether Qt can open a window here. Without this check, Qt aborts the process with a long message."""
    if not sys.platform.startswith("linux"):
        return True  # macOS and Windows always have a window server for a logged-in user
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM"))


def application_icon() -> QIcon:
    """The NeuralForge icon in every rendered size (empty when resources/ is not installed)."""
    from PySide6.QtGui import QIcon

    icon = QIcon()
    for png in sorted(ICONS.glob("neuralforge-*.png")):
        icon.addFile(str(png))
    return icon


def create_application(argv: Sequence[str] = ()) -> QApplication:
    """The QApplication (or the one that exists), named so QSettings finds the user's preferences."""
    from PySide6.QtWidgets import QApplication

    from neuralforge_desktop import __version__
    from neuralforge_desktop.ui.settings import APPLICATION, ORGANIZATION

    app = QApplication.instance()
    if app is None:
        # Qt wants the program name first and removes the options it understands (-style, -platform …).
        app = QApplication([sys.argv[0] if sys.argv and sys.argv[0] else "neuralforge", *argv])
    app.setOrganizationName(ORGANIZATION)
    app.setOrganizationDomain("neuralforge.dev")
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APPLICATION)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("neuralforge")
    app.setWindowIcon(application_icon())
    from neuralforge_desktop.ui.ui_gc import collect_on_ui_thread

    collect_on_ui_thread()  # worker threads must never collect a Qt object: see ui/ui_gc.py
    return app  # type: ignore[return-value]


def headless_application() -> QApplication:
    """The running QApplication, or one that draws without a screen (for writing pictures from the command
    line: no window appears, and no display is needed)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        # The platform given as an argument, not through the environment: it holds for this process only.
        app = QApplication([sys.argv[0] if sys.argv and sys.argv[0] else "neuralforge", "-platform", "offscreen"])
    return app  # type: ignore[return-value]


def open_main_window(app: QApplication, files: Sequence[str] = (), *, offer_recovery: bool = True) -> MainWindow:
    """Create and show the main window, open ``files[0]`` if given, then offer crash recovery."""
    from PySide6.QtCore import QTimer

    from neuralforge_desktop.ui.main_window import MainWindow

    window = MainWindow()
    window.show()
    if files:
        # Still before the first paint (that waits for the event loop), but a file that cannot be read
        # reports over a visible window instead of before one exists.
        window.files.load(files[0])
    from neuralforge_desktop.ui.profiles import start_profiles

    start_profiles(window)  # the chosen persona profile; the picker on the first start
    if offer_recovery:
        # After the first paint: the window appears at once and the offer comes up over it.
        QTimer.singleShot(0, window.offer_recovery)
        from neuralforge_desktop.ui.onboarding.first_run import offer_first_run

        QTimer.singleShot(0, lambda: offer_first_run(window))  # once ever: the first start's tutorial
    from neuralforge_desktop.ui.audit_warning import check_audit_log

    window.audit_warning = check_audit_log(window, window.store_path)  # off the UI thread; warns if broken
    app.setProperty("main_window", window)
    return window


def file_arguments(app: QApplication) -> list[str]:
    """The graph files named on the command line (what Qt left after taking its own options)."""
    return [a for a in app.arguments()[1:] if not a.startswith("-")]


def run_app(argv: list[str]) -> int:
    """Run the desktop app until its window closes; ``argv`` excludes the program name. Returns the exit
    status (2 when there is no display to open a window on, or the system lacks libraries Qt needs for it)."""
    if not has_display():
        print(NO_DISPLAY, file=sys.stderr)
        return 2
    from neuralforge_desktop.ui.display_libs import check_xcb_libraries

    # Before the QApplication: Qt would abort on a missing library, and name the wrong one.
    missing = check_xcb_libraries()
    if missing:
        print(missing, file=sys.stderr)
        return 2
    app = create_application(argv)
    open_main_window(app, file_arguments(app))
    return int(app.exec())
