"""The reference-count guard: thousands of void Qt calls and signal emits must not abort the interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from neuralforge_desktop.ui import _refcount

pytest.importorskip("PySide6")

CALLS = 20_000  # more than None's (~5,000) and True's (~600) starting counts, so a leak of one a call kills

_CALLS_SCRIPT = textwrap.dedent(f"""
    import sys
    if sys.argv[1] == "guarded":
        import neuralforge_desktop.ui  # installs the guard on import, as the app does
    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        fired = Signal()

    emitter = Emitter()
    before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range({CALLS}):
        emitter.setObjectName("x")  # void: returns None
        emitter.fired.emit()  # returns True
    after = sys.getrefcount(None), sys.getrefcount(True)
    print("survived", before[0] - after[0], before[1] - after[1])
""")


def _run(mode: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-c", _CALLS_SCRIPT, mode], capture_output=True, text=True,
                          timeout=120, env=env)


def test_void_qt_calls_do_not_abort_with_the_guard_and_do_without_it_where_pyside_leaks() -> None:
    guarded = _run("guarded")
    assert guarded.returncode == 0, guarded.stderr
    assert guarded.stdout.startswith("survived")
    bare = _run("bare")
    leaks = _refcount.reason_not_to_guard() is None
    if leaks:  # the guard is what keeps the app alive: without it the same calls abort the interpreter
        assert bare.returncode != 0 and "dealloc" in bare.stderr, (bare.returncode, bare.stdout, bare.stderr)
    else:  # fixed upstream (or an immortal-singleton Python): no guard needed and none installed
        assert bare.returncode == 0, bare.stdout + bare.stderr
        assert all(abs(int(drop)) < CALLS // 10 for drop in bare.stdout.split()[1:]), bare.stdout


def test_the_guard_is_installed_only_where_the_binding_leaks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_refcount, "pyside_leaks_singletons", lambda: False)
    assert _refcount.reason_not_to_guard() is not None
    assert _refcount.make_singletons_immortal() is False


def test_the_guard_stays_off_on_a_trace_refs_build(monkeypatch: pytest.MonkeyPatch) -> None:
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        pytest.skip("the guard is off here whatever the build")
    monkeypatch.setattr(_refcount, "pyside_leaks_singletons", lambda: True)
    assert _refcount.reason_not_to_guard() is None
    monkeypatch.setattr(sys, "getobjects", lambda *args: [], raising=False)
    reason = _refcount.reason_not_to_guard()
    assert reason is not None and "Py_TRACE_REFS" in reason


def test_the_probe_sees_this_bindings_leak() -> None:
    """On this CPython 3.11 + PySide6 6.12 the leak is real; the probe must say so (else the app would abort)."""
    if sys.version_info >= (3, 12):
        pytest.skip("None and True are immortal on CPython 3.12+")
    bare = _run("bare")
    assert _refcount.pyside_leaks_singletons() == (bare.returncode != 0)
