"""Before Qt opens a window on X11: are the system libraries its xcb platform plugin loads all there?

When one is missing, Qt aborts with a message that names only ``libxcb-cursor0`` whatever is actually
missing (on a fresh Debian it was ``libxcb-icccm4`` and ``libxcb-keysyms1``). This module asks the dynamic
loader about the plugin's dependencies instead, so the app can say which libraries are missing and which
packages bring them, before any QApplication exists. Nothing here imports Qt.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

# The libraries Qt 6's xcb plugin and its Qt libraries link to, with the Debian/Ubuntu packages holding them.
PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
}

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$")


def uses_xcb(environ: dict[str, str] | os._Environ[str] = os.environ, platform: str = sys.platform) -> bool:
    """Whether Qt will open its window through X11 (xcb): Linux, an X display, no other platform chosen."""
    if not platform.startswith("linux") or not environ.get("DISPLAY"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "")
    if chosen:
        return chosen.split(";")[0].split(":")[0] == "xcb"
    return not environ.get("WAYLAND_DISPLAY")  # on a Wayland session Qt tries Wayland first


def xcb_plugin() -> Path | None:
    """PySide6's xcb platform plugin, found without importing Qt (None when PySide6 is not installed)."""
    spec = importlib.util.find_spec("PySide6")
    for location in (spec.submodule_search_locations or []) if spec else []:
        plugin = Path(location) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if plugin.is_file():
            return plugin
    return None


def not_found_in_ldd(output: str) -> list[str]:
    """The libraries ``ldd`` reports as ``not found``, in its order, each once."""
    found: list[str] = []
    for line in output.splitlines():
        match = _NOT_FOUND.match(line)
        if match and match.group(1) not in found:
            found.append(match.group(1))
    return found


def unloadable(sonames: Sequence[str]) -> list[str]:
    """Of ``sonames``, those the dynamic loader cannot open (the fallback where there is no ``ldd``)."""
    missing = []
    for soname in sonames:
        try:
            ctypes.CDLL(soname)
        except OSError:
            missing.append(soname)
    return missing


def missing_libraries(plugin: Path) -> list[str]:
    """The shared libraries ``plugin`` needs that this system lacks (directly or through its Qt libraries)."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return unloadable(list(PACKAGES))
    try:
        done = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return unloadable(list(PACKAGES))
    return not_found_in_ldd(done.stdout + done.stderr)


def missing_message(missing: Sequence[str]) -> str:
    """One line naming the missing libraries and the command that installs them."""
    packages = list(dict.fromkeys(PACKAGES[s] for s in missing if s in PACKAGES))
    unknown = [s for s in missing if s not in PACKAGES]
    line = (f"neuralforge: cannot open a window: the X11 (xcb) libraries Qt needs are missing: {', '.join(missing)}")
    if packages:
        line += f"; install them with `sudo apt-get install {' '.join(packages)}`"
    if unknown:
        line += f" (and the package that provides {', '.join(unknown)})" if packages else \
            "; install the packages that provide them"
    return line


def check_xcb_libraries() -> str | None:
    """The one-line complaint when Qt's xcb plugin would fail to load here, else None (also when Qt will not
    use xcb, or PySide6 is not where this check can look)."""
    if not uses_xcb():
        return None
    plugin = xcb_plugin()
    if plugin is None:
        return None
    missing = missing_libraries(plugin)
    return missing_message(missing) if missing else None
