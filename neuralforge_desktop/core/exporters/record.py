"""An export of a run becomes two of its artifacts: the exported file (kind ``export``; a package folder as a zip
archive of it) and its report as JSON (kind ``export-report``), so ``runs show`` and the app list it."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

EXPORT_KIND = "export"
REPORT_KIND = "export-report"
_EPOCH = (1980, 1, 1, 0, 0, 0)  # zip's earliest time: the same folder always gives the same archive


def artifact_names(output: Path) -> tuple[str, str]:
    """The names under which a run keeps an export written to ``output`` and its report."""
    stored = f"exports/{output.name}" + (".zip" if output.suffix == ".mlpackage" else "")
    return stored, f"exports/{output.name}.report.json"


def zip_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f"{folder.name}/{path.relative_to(folder).as_posix()}", _EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def record_export(store_path: str | os.PathLike[str] | None, run_id: str, output: Path,
                  report: dict[str, Any]) -> list[str]:
    from neuralforge_desktop.core.store.sqlite_store import Store

    stored, report_name = artifact_names(output)
    with Store(store_path) as store:
        store.log_artifact(run_id, zip_folder(output) if output.is_dir() else output, stored, kind=EXPORT_KIND)
        store.log_artifact(run_id, json.dumps(report, indent=2).encode(), report_name, kind=REPORT_KIND)
        _audit(store, report)
    return [stored, report_name]


def audit_unrecorded_export(store_path: str | os.PathLike[str] | None, report: dict[str, Any]) -> None:
    """The audit entry of an export kept by no run (a graph file's initial or given weights)."""
    from neuralforge_desktop.core.audit import record_event_at

    record_event_at(store_path, "model.exported", str(report.get("output")), _export_details(report))


def _audit(store: Any, report: dict[str, Any]) -> None:
    from neuralforge_desktop.core.audit import record_event

    record_event(store, "model.exported", str(report.get("output")), _export_details(report))


def _export_details(report: dict[str, Any]) -> dict[str, Any]:
    return {key: report.get(key) for key in ("format", "precision", "graph", "source", "verification", "size_bytes")}
