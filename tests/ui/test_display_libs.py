"""Opening a window on X11 with libraries missing: the app names exactly the missing libraries and the
apt-get command that brings them, and exits with status 2 before Qt aborts with a misleading message."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from neuralforge_desktop.ui import display_libs

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb check is for Linux")

# What ldd printed for libqxcb.so on a fresh Debian 12 with PySide6 6.12 (abridged).
FRESH_DEBIAN_LDD = """\
\tlinux-vdso.so.1 (0x00007ffd1c5f2000)
\tlibQt6XcbQpa.so.6 => /venv/lib/python3.11/site-packages/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f6c1c000000)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f6c1bff0000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f6c1bfc0000)
\tlibxcb-icccm.so.4 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f6c1bc00000)
"""


def test_the_libraries_ldd_cannot_find_are_named_once_in_order():
    assert display_libs.not_found_in_ldd(FRESH_DEBIAN_LDD) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert display_libs.not_found_in_ldd(FRESH_DEBIAN_LDD.replace("not found", "/lib/x.so (0x1)")) == []


def test_the_message_names_exactly_the_missing_libraries_and_their_packages():
    line = display_libs.missing_message(["libxcb-icccm.so.4", "libxcb-keysyms.so.1"])
    assert "\n" not in line
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in line
    assert line.endswith("`sudo apt-get install libxcb-icccm4 libxcb-keysyms1`")
    assert "cursor" not in line  # Qt's own message blames libxcb-cursor0 here
    unknown = display_libs.missing_message(["libxcb-keysyms.so.1", "libnew-thing.so.2"])
    assert "apt-get install libxcb-keysyms1`" in unknown and "libnew-thing.so.2" in unknown


def test_the_loader_fallback_reports_what_cannot_be_opened():
    libc = "libc.so.6" if sys.platform.startswith("linux") else None
    names = [n for n in (libc, "libneuralforge-no-such-library.so.7") if n]
    assert display_libs.unloadable(names) == ["libneuralforge-no-such-library.so.7"]


@pytest.mark.parametrize(("env", "expected"), [
    ({"DISPLAY": ":0"}, True),
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, True),
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, False),
    ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, False),
    ({"WAYLAND_DISPLAY": "wayland-0", "QT_QPA_PLATFORM": "xcb"}, False),
    ({}, False),
])
def test_the_check_runs_only_where_qt_will_use_xcb(env, expected):
    assert display_libs.uses_xcb(env, "linux") is expected
    assert display_libs.uses_xcb(env, "darwin") is False


@linux_only
def test_on_this_machine_nothing_is_missing(monkeypatch):
    plugin = display_libs.xcb_plugin()
    assert plugin is not None and plugin.name == "libqxcb.so"
    assert display_libs.missing_libraries(plugin) == []
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert display_libs.check_xcb_libraries() is None


@linux_only
@pytest.mark.skipif(shutil.which("ldd") is None, reason="needs ldd")
def test_opening_the_app_with_libraries_missing_says_which_and_exits_2(tmp_path):
    # An ldd that reports two of the plugin's libraries as missing, as on a fresh Debian.
    fake = tmp_path / "bin" / "ldd"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\n{shutil.which('ldd')} \"$@\" | sed -E "
                    "'s/(libxcb-(icccm|keysyms)\\.so\\.[0-9]+) => .*/\\1 => not found/'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {k: v for k, v in os.environ.items() if k not in {"QT_QPA_PLATFORM", "WAYLAND_DISPLAY"}}
    env.update(DISPLAY=":98", PATH=f"{fake.parent}{os.pathsep}{env.get('PATH', '')}",
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    done = subprocess.run([sys.executable, "-m", "neuralforge_desktop", "app"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert "missing: libxcb-icccm.so.4, libxcb-keysyms.so.1;" in lines[0]
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1" in lines[0]
