"""Reports, notes and interop stay light to import: the heavy libraries load only when a report is written."""

import subprocess
import sys

PROBE = """
import sys
import neuralforge_desktop.cli.main
import neuralforge_desktop.core.interop.mlflow_export
import neuralforge_desktop.core.interop.mlflow_import
import neuralforge_desktop.core.interop.tensorboard_export
import neuralforge_desktop.core.reports.html_report
import neuralforge_desktop.core.reports.notebook_report
import neuralforge_desktop.core.store.notes
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'PySide6', 'pyqtgraph', 'matplotlib', 'mlflow',
                                                              'tensorboard', 'tensorflow', 'nbformat', 'nbclient'})
print(','.join(heavy))
"""


def test_importing_the_report_and_interop_modules_loads_no_heavy_library() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"loaded at import: {out}"
