"""The Coach on a recorded run: its graph and settings from the run folder, its metrics from the store, its
diagnostics if the run captured them, and the dataset's facts (loaded again; a dataset gone since leaves the
data rules not applied). Live findings the run reported (``coach.json``) are kept, so a run that crashed
still shows what was found before the crash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.training.coach.context import CoachContext
from neuralforge_desktop.core.training.coach.findings import SEVERITIES, Finding
from neuralforge_desktop.core.training.coach.live import ARTIFACT, saved_findings
from neuralforge_desktop.core.training.coach.records import RunDiagnostics
from neuralforge_desktop.core.training.coach.report import CoachReport
from neuralforge_desktop.core.training.coach.thresholds import Thresholds, load_thresholds


class RunFolderError(UserError):
    """The run's folder lacks its graph or settings, or holds ones that cannot be read."""


def run_folder(store: Any, run_id: str) -> Path:
    from neuralforge_desktop.core.training.runner import runs_root

    return runs_root(Path(store.path)) / run_id


def run_context(store: Any, run: Any) -> CoachContext:
    """What the rules read about ``run`` (a store ``Run``)."""
    from neuralforge_desktop.core.ir.serialize import GraphFileError, load_graph
    from neuralforge_desktop.core.training.coach.static import data_facts, loss_name
    from neuralforge_desktop.core.training.config import TrainConfig

    folder = run_folder(store, run.id)
    try:
        graph = load_graph(folder / "graph.nfg")
    except (OSError, GraphFileError) as exc:
        raise RunFolderError(f"run {run.id}: cannot read its graph {folder / 'graph.nfg'}: {exc}") from None
    try:
        config = TrainConfig.from_json(json.loads((folder / "config.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise RunFolderError(f"run {run.id}: cannot read its settings {folder / 'config.json'}: {exc}") from None
    data = None
    try:
        from neuralforge_desktop.core.training.datasets import load_dataset

        bundle = load_dataset(config.dataset, val_fraction=config.val_fraction, seed=config.seed,
                              normalize=config.normalize, limit=config.limit, options=dict(config.dataset_options))
        data = data_facts(bundle)
    except UserError:  # the dataset moved or changed since: the data rules say they were not applied
        pass
    metrics = {}
    for name in store.metric_names(run.id):
        series = store.metric_history(run.id, name)
        metrics[name] = [(int(s), float(v)) for s, v in zip(series.steps, series.values, strict=True)]
    status = "static" if run.status == "queued" else str(run.status)
    steps = None
    if data is not None:
        steps = -(-data.train_size // config.batch_size)
    return CoachContext(graph=graph, config=config, loss_name=loss_name(graph, data.task) if data else None,
                        data=data, metrics=metrics, diagnostics=run_diagnostics(store, run.id), status=status,
                        steps_per_epoch=steps)


def run_diagnostics(store: Any, run_id: str) -> RunDiagnostics | None:
    """The diagnostics the run captured (None: it trained before diagnostics existed, or with them off)."""
    from neuralforge_desktop.core.training.coach.stored import load_run_diagnostics

    diagnostics = load_run_diagnostics(store, run_id)
    return diagnostics if diagnostics is not None and diagnostics.level != "off" else None


def run_report(store: Any, run: Any, thresholds: Thresholds | None = None) -> CoachReport:
    """The rules evaluated on the recorded run, with what its live Coach reported that they do not find again
    (an early divergence the loss has since recovered from, say); of two versions, the more severe."""
    from neuralforge_desktop.core.training.coach.rules import evaluate

    report = evaluate(run_context(store, run), thresholds or load_thresholds())
    merged: dict[tuple[str, str | None], Finding] = {}
    for finding in [*live_findings(store, run.id), *report.findings]:
        before = merged.get(finding.key)
        if before is None or SEVERITIES.index(finding.severity) >= SEVERITIES.index(before.severity):
            merged[finding.key] = finding
    order = ("error", "warning", "info")
    findings = sorted(merged.values(), key=lambda f: order.index(f.severity))
    found = {f.kind for f in findings}
    return CoachReport(findings, [n for n in report.not_applied if n.kind not in found])


def live_findings(store: Any, run_id: str) -> list[Finding]:
    """What the run's live Coach reported: the run folder's ``coach.json`` (written as it went, so it is there
    for a crashed run), else the artifact logged at the end."""
    return saved_findings(run_folder(store, run_id)) or _artifact(store, run_id)


def _artifact(store: Any, run_id: str) -> list[Finding]:
    from neuralforge_desktop.core.store.entities import NotFoundError

    try:
        path = store.artifact_path(run_id, ARTIFACT)
        return CoachReport.from_json(json.loads(path.read_text(encoding="utf-8"))).findings
    except (NotFoundError, OSError, ValueError, KeyError, TypeError):
        return []
