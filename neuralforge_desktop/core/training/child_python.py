"""How NeuralForge starts Python child processes (the training worker, the app's CUDA probe) so that nothing in
the user's working directory is imported.

``python -m pkg`` and ``python -c CODE`` put the working directory first on ``sys.path``: a ``numpy.py`` or
``torch.py`` that came with a downloaded dataset or project folder would run the moment the worker imports numpy.
So children run with ``-P`` (Python 3.11's safe path: nothing is prepended) and ``PYTHONSAFEPATH=1`` for their
own children. ``-P`` rather than ``-I``: ``-I`` also drops ``PYTHONPATH`` and the user's site-packages, which is
where a development checkout or a ``pip install --user`` plugin lives; both are the user's own settings, not
something a folder can plant. An empty entry in ``PYTHONPATH`` (``PYTHONPATH=$PYTHONPATH:/x`` with nothing
before) also means "the working directory", so it is dropped.

The child imports ``neuralforge_desktop`` from exactly where this process did (an editable install, a source
checkout, site-packages), by file location, without putting that folder's parent on ``sys.path``."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path


def python_command(code: str, *args: str) -> list[str]:
    """argv that runs ``code`` with this interpreter, the working directory not on ``sys.path``."""
    return [sys.executable, "-P", "-c", code, *args]


def child_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    if "PYTHONPATH" in env:
        kept = [entry for entry in env["PYTHONPATH"].split(os.pathsep) if entry]
        if kept:
            env["PYTHONPATH"] = os.pathsep.join(kept)
        else:
            del env["PYTHONPATH"]
    env["PYTHONSAFEPATH"] = "1"
    return env


def run_main_code(module: str, function: str = "main") -> str:
    """Python source that imports this very ``neuralforge_desktop`` package, then exits with ``module.function()``
    (which reads its arguments from ``sys.argv[1:]``)."""
    import neuralforge_desktop

    if not (all(part.isidentifier() for part in module.split(".")) and function.isidentifier()):
        raise ValueError(f"not a module and function: {module}:{function}")
    if getattr(sys, "frozen", False):
        # A desktop bundle imports only from its own archive (the working directory is never on its path), and
        # its package has no source files to load by location.
        return "\n".join(["import sys", f"from {module} import {function}", f"sys.exit({function}())"])
    package = Path(neuralforge_desktop.__file__).resolve().parent
    return "\n".join([
        "import importlib.util, sys",
        f"spec = importlib.util.spec_from_file_location('neuralforge_desktop', {str(package / '__init__.py')!r}, "
        f"submodule_search_locations=[{str(package)!r}])",
        "package = importlib.util.module_from_spec(spec)",
        "sys.modules['neuralforge_desktop'] = package",
        "spec.loader.exec_module(package)",
        f"from {module} import {function}",
        f"sys.exit({function}())",
    ])
