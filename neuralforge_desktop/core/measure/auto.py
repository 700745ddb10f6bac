"""Keep this CPU's calibration current without asking: calibrate before the first CPU estimate, and measure again
in the background when the calibration was made on a busy machine.

:func:`ensure_calibrated` (the CLI, before a CPU estimate) calibrates in the foreground when there is no valid
calibration and the machine is idle — about ten seconds, once — and otherwise leaves a detached calibration
waiting in the background for an idle machine (:func:`~.process.start_background_calibration`), the estimate
meanwhile being the quick roofline, which says so. :func:`recheck_in_background` (the app) only ever starts the
background one, so the editor never waits.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

from neuralforge_desktop.core.analysis.calibration import Calibration, read_calibration, save_calibration
from neuralforge_desktop.core.measure.timing import Progress

ENABLED = True  # the test suite switches automatic calibration off (it would time ops and write user data)

Say = Callable[[str], None]


def torch_installed() -> bool:
    return importlib.util.find_spec("torch") is not None


def needs_calibration() -> tuple[bool, str]:
    """Whether a calibration should be made now (none, stale, or made under load) and why."""
    calibration, reason = read_calibration()
    if calibration is None:
        return True, reason
    if calibration.under_load:
        return True, "the saved calibration was measured while other programs kept the machine busy"
    return False, ""


def recheck_in_background() -> bool:
    """Start a background calibration when one is needed; True when one runs (or was already running)."""
    from neuralforge_desktop.core.measure.process import background_calibration_running, start_background_calibration

    needed, _ = needs_calibration()
    if not (ENABLED and needed and torch_installed()):
        return False
    return background_calibration_running() or start_background_calibration() is not None


def ensure_calibrated(say: Say | None = None, progress: Progress | None = None) -> Calibration | None:
    """The valid calibration, making one in the foreground when there is none and the machine is idle."""
    calibration, reason = read_calibration()
    if calibration is not None:
        if calibration.under_load:
            recheck_in_background()
        return calibration
    if not ENABLED:
        return None
    tell: Say = say or (lambda text: None)
    if not torch_installed():
        tell(f"note: the CPU latency estimate is a rough roofline ({reason}); calibrating needs torch")
        return None
    from neuralforge_desktop.core.measure.calibrate import MachineBusy, calibrate
    from neuralforge_desktop.core.measure.cpu_busy import is_busy, others_now

    if is_busy(others_now(0.5)):
        recheck_in_background()
        tell(f"note: the CPU latency estimate is a rough roofline until this CPU is calibrated ({reason}); other "
             "programs keep the machine busy, so it will be calibrated in the background once it is idle")
        return None
    tell(f"calibrating this CPU once for the latency estimate ({reason}; about ten seconds; "
         "`neuralforge calibrate` measures again) …")
    try:
        calibration = calibrate(progress, wait=0.0)
    except MachineBusy:
        recheck_in_background()
        tell("note: the machine got busy while calibrating; the estimate stays a rough roofline and this CPU will "
             "be calibrated in the background once it is idle")
        return None
    save_calibration(calibration)
    return calibration
