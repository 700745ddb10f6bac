"""Modules planted in the working directory never run: the training worker (and any child Python NeuralForge
starts) imports numpy, torch and NeuralForge itself from where they are installed, not from the folder the user
happens to be in."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from neuralforge_desktop.core.ir.serialize import save_graph
from neuralforge_desktop.core.training.child_python import child_environment, python_command

from training_graphs import digits_mlp

PLANTED = ("numpy.py", "torch.py", "safetensors.py", "neuralforge_desktop/__init__.py")


def plant(folder, marker):
    """Modules that would create ``marker`` (named after themselves) when imported."""
    for name in PLANTED:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"open({str(marker)!r} + '-' + {name!r}.replace('/', '-'), 'w').close()\n")


@pytest.mark.slow
@pytest.mark.parametrize("procs", ["1", "2"])  # one worker, and torchrun with two data-parallel ranks
def test_modules_planted_in_the_working_directory_do_not_run_in_training(tmp_path, procs):
    cwd, marker = tmp_path / "downloads", tmp_path / "ran"
    plant(cwd, marker)
    graph = tmp_path / "digits.nfg"
    save_graph(digits_mlp(), graph)
    # As the `neuralforge` console script starts: its own folder, not the working directory, on sys.path.
    proc = subprocess.run([sys.executable, "-P", "-m", "neuralforge_desktop", "train", str(graph), "--dataset",
                           "digits", "--epochs", "1", "--limit", "64", "--json", "--store", str(tmp_path / "s.db"),
                           "--procs", procs],
                          cwd=cwd, capture_output=True, text=True, timeout=300)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("ran")) == []
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.splitlines()[-1])["event"] == "finished"


def test_a_child_python_does_not_import_from_the_working_directory(tmp_path):
    marker = tmp_path / "ran"
    plant(tmp_path, marker)
    code = "import numpy, sys; print(numpy.__file__)"
    env = child_environment({**os.environ, "PYTHONPATH": os.pathsep + os.environ.get("PYTHONPATH", "")})
    proc = subprocess.run(python_command(code), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert not list(tmp_path.glob("ran*")) and str(tmp_path) not in proc.stdout


def test_an_empty_pythonpath_entry_which_means_the_working_directory_is_dropped():
    env = child_environment({"PYTHONPATH": os.pathsep.join(["", "/opt/lib", ""]), "HOME": "/home/u"})
    assert env == {"PYTHONPATH": "/opt/lib", "HOME": "/home/u", "PYTHONSAFEPATH": "1"}
    assert "PYTHONPATH" not in child_environment({"PYTHONPATH": os.pathsep})
