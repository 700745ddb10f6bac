"""What a report shows, read from the store once: the experiment's runs, their curves, notes and graphs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from neuralforge_desktop.core.store.entities import Experiment, MetricSeries, NotFoundError, Run
from neuralforge_desktop.core.store.notes import Note
from neuralforge_desktop.core.store.sqlite_store import Store

GRAPH_ARTIFACT = "graph.nfg"  # what training attaches to each run (core/training/runner.py)
MAX_LAYER_ROWS = 400  # a report of a 1,000-layer model lists the first layers, not a page of thousands


@dataclass(frozen=True, slots=True)
class LayerRow:
    id: str
    name: str
    type: str
    output_shape: str
    params: int | None


@dataclass(frozen=True, slots=True)
class GraphSummary:
    """One distinct graph (by content hash) and the runs that trained it."""

    sha256: str
    name: str
    layers: list[LayerRow]
    edges: list[tuple[str, str]]  # (source node, destination node) at the top level
    total_params: int | None
    run_names: list[str]
    truncated: bool = False


@dataclass(slots=True)
class ReportData:
    experiment: Experiment
    runs: list[Run]
    series: dict[str, dict[str, MetricSeries]] = field(default_factory=dict)  # metric → run id → points
    notes: list[Note] = field(default_factory=list)
    graphs: list[GraphSummary] = field(default_factory=list)

    def run_name(self, run_id: str) -> str:
        return next((r.name for r in self.runs if r.id == run_id), run_id)

    def param_names(self) -> list[str]:
        return sorted({name for run in self.runs for name in run.params})

    def metric_names(self) -> list[str]:
        return sorted(self.series)


def collect(store: Store, experiment: str, *, project: str | None = None) -> ReportData:
    """Everything a report on ``experiment`` (name or id) needs, oldest run first."""
    exp = store.get_experiment(experiment, project) if project else store.get_experiment(experiment)
    runs = sorted(store.list_runs(exp), key=lambda r: r.created)
    data = ReportData(exp, runs, notes=store.list_notes(experiment=exp, include_runs=True))
    for run in runs:
        for name in store.metric_names(run.id):
            history = store.metric_history(run.id, name)
            if len(history):
                data.series.setdefault(name, {})[run.id] = history
    data.graphs = _graphs(store, runs)
    return data


def _graphs(store: Store, runs: list[Run]) -> list[GraphSummary]:
    by_hash: dict[str, list[Run]] = {}
    for run in runs:
        if run.graph_sha256:
            by_hash.setdefault(run.graph_sha256, []).append(run)
    found = []
    for sha, trained in by_hash.items():
        for run in trained:
            try:
                path = store.artifact_path(run.id, GRAPH_ARTIFACT)
            except NotFoundError:
                continue
            summary = _summarize_graph(path.read_bytes(), sha, [r.name for r in trained])
            if summary is not None:
                found.append(summary)
                break
    return found


def _summarize_graph(text: bytes, sha: str, run_names: list[str]) -> GraphSummary | None:
    from neuralforge_desktop.core.errors import UserError
    from neuralforge_desktop.core.ir.serialize import loads

    try:
        graph = loads(text)
    except UserError:
        return None  # a graph file this version cannot read: the report goes on without its diagram
    rows = _cost_rows(graph)
    edges = sorted({(e.src, e.dst) for e in graph.edges})
    total = None if any(r.params is None for r in rows) else sum(r.params or 0 for r in rows)
    return GraphSummary(sha, graph.name, rows[:MAX_LAYER_ROWS], edges, total, run_names,
                        truncated=len(rows) > MAX_LAYER_ROWS)


def _cost_rows(graph: Any) -> list[LayerRow]:
    """Top-level layers in order, with output shapes and parameter counts when the graph's shapes infer."""
    order = graph.topo_order()
    try:
        from neuralforge_desktop.core.analysis.cost import estimate_cost
        from neuralforge_desktop.core.analysis.shapes import infer_shapes

        report = estimate_cost(graph, infer_shapes(graph), batch_size=1, device="cpu").to_json()
        costed = {row["path"]: row for row in report["nodes"] if row["depth"] == 0}
    except Exception:  # a graph whose shapes do not infer still gets its list of layers
        costed = {}
    rows = []
    for node_id in order:
        node = graph.node(node_id)
        row = costed.get(node_id, {})
        params = row.get("params")
        rows.append(LayerRow(node_id, node.display_name, node.type, str(row.get("output_shape") or ""),
                             int(params) if isinstance(params, int | float) and not math.isnan(params) else None))
    return rows


def final_value(run: Run, metric: str) -> float | None:
    latest = run.metrics.get(metric)
    return None if latest is None else latest.value
