"""The desktop bundles' entry point, run from source: the same argument lists reach the CLI or act as the
interpreter forms the app uses to start its worker and its CUDA probe (tests/test_bundle.py runs it frozen)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from neuralforge_desktop import __version__

ENTRY = Path(__file__).resolve().parents[1] / "installers" / "bundle_entry.py"


def entry(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ENTRY), *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ENTRY.parents[1])})


def test_cli_arguments_reach_the_cli() -> None:
    assert entry("--version").stdout.strip() == f"neuralforge {__version__}"
    unknown = entry("no-such-command")
    assert unknown.returncode == 2 and "invalid choice" in unknown.stderr


def test_module_form_runs_the_module_as_main_with_its_arguments() -> None:
    done = entry("-u", "-m", "neuralforge_desktop.core.training.worker", "--help")
    assert done.returncode == 0
    assert done.stdout.startswith("usage: neuralforge-worker")


def test_code_form_sees_its_arguments_and_passes_the_exit_status_on() -> None:
    done = entry("-c", "import sys; print(sys.argv[1:]); sys.exit(3)", "a", "b")
    assert (done.returncode, done.stdout.strip()) == (3, "['a', 'b']")


def test_a_failing_worker_reports_its_error_and_status() -> None:
    done = entry("-u", "-m", "neuralforge_desktop.core.training.worker", "/nonexistent/run")
    assert done.returncode != 0
    assert "run.json" in done.stderr


def test_the_worker_command_the_app_builds_is_accepted() -> None:
    # The exact argv the trainer starts its worker with, minus the interpreter: a bundle's entry point must run it.
    from neuralforge_desktop.core.training.child_python import python_command, run_main_code

    argv = python_command(run_main_code("neuralforge_desktop.core.training.worker"), "--help")[1:]
    done = entry(*argv)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: neuralforge-worker")
