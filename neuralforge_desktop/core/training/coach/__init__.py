"""The training Coach: diagnostics captured while a model trains (``capture.py``), stored compactly with the
run (``records.py``), rules that read them with the graph, the settings and the data (``rules/``), findings
with their evidence and a fix (``findings.py``), and the fixes applied as graph edits or setting changes
(``fixes.py``)."""
