"""The core stays light: importing it (and the CLI) loads neither Qt nor torch."""

import subprocess
import sys

PROBE = """
import sys
import neuralforge_desktop.core
import neuralforge_desktop.core.analysis.shapes
import neuralforge_desktop.core.codegen.pytorch
import neuralforge_desktop.core.catalog.registry as r
import neuralforge_desktop.cli.main
r.catalog()
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'PySide6', 'pyqtgraph', 'tensorflow',
                                                              'coremltools', 'litert_torch', 'keras'})
print(','.join(heavy))
"""


def test_importing_core_and_cli_loads_no_qt_and_no_torch():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"heavy modules loaded by importing the core: {out}"


def test_generating_code_for_a_zoo_model_does_not_import_torch():
    probe = ("import sys\nfrom neuralforge_desktop.core import zoo\n"
             "from neuralforge_desktop.core.codegen.pytorch import generate_pytorch\n"
             "generate_pytorch(zoo.build('resnet18'))\nprint('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"
