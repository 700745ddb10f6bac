"""Sharing a design with its runs: writing a portable ``.nfbundle`` (reading one is :mod:`.bundle_import`).

A bundle holds the graph file(s), the chosen runs (params, tags, status, times, environment, user, every metric
point), their artifacts, the model cards of versions registered from those runs, and the comments on the
graphs, runs and experiments, each a member of a zip whose ``manifest.json`` lists every member's sha256 and size
(:mod:`.bundle_archive`). Layout::

    manifest.json                  format, version, NeuralForge version, created, who, contents, members
    graphs/<name>.nfg              the graph files, as saved (core/ir/serialize.py format)
    runs/<run id>/run.json         the run record: name, experiment, project, status, times, params, tags …
    runs/<run id>/metrics.json     {metric: {"steps", "values", "timestamps"}} (NaN/±inf as strings)
    artifacts/<sha256>             each distinct artifact content once
    cards/<model>@<version>.json   the model card of a version registered from a bundled run
    comments.json                  comments with their threads, authors and times

Every run carries its *origin* (the id of the run first created, kept across stores in the tag
``bundle.origin``), so importing a bundle whose runs are already in the store adds only what is new.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.team.bundle_archive import FILE_SUFFIX, BundleError, BundleWriter, new_manifest
from neuralforge_desktop.core.team.identity import current_user

ORIGIN_TAG = "bundle.origin"  # the id of the run this one is a copy of, in whichever store it was created
GRAPH_ARTIFACT = "graph.nfg"
GRAPH_ID_KEY = "graph_id"  # where a graph file keeps the id its comments are attached to
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class ExportResult:
    path: Path
    graphs: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    artifacts: int = 0
    cards: list[str] = field(default_factory=list)
    comments: int = 0


def encode_number(value: float) -> float | str:
    """A metric value as JSON: NaN and infinities, which standard JSON cannot hold, as strings."""
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def decode_number(value: Any) -> float:
    if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
        return float(value.lower().replace("infinity", "inf"))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise ValueError(f"{value!r} is not a number")


def safe_file_stem(name: str, fallback: str = "graph") -> str:
    stem = _UNSAFE.sub("-", name).strip("-.")
    return stem[:80] or fallback


def _json_sha(data: Any) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()  # as graph_hash computes it


def design_key(graph: Any) -> str:
    """The hash of the graph without the id comments give it (``meta["graph_id"]``): the same for two files of
    one design whatever comment id either carries."""
    from neuralforge_desktop.core.ir.serialize import graph_to_dict

    data = graph_to_dict(graph)
    data["graph"]["meta"].pop(GRAPH_ID_KEY, None)
    return _json_sha(data)


def design_hashes(graph: Any) -> set[str]:
    """The hashes a run trained from this design may carry as ``graph_sha256``: the graph's as it is, and without
    its comment id, which commenting adds after the runs were made."""
    from neuralforge_desktop.core.ir.serialize import graph_to_dict

    return {_json_sha(graph_to_dict(graph)), design_key(graph)}


def run_origin(run: Any) -> str:
    return str(run.tags.get(ORIGIN_TAG) or run.id)


def _project_names(store: Any) -> dict[str, str]:
    """experiment id → project name."""
    projects = {p.id: p.name for p in store.list_projects()}
    return {e.id: projects.get(e.project_id, "") for e in store.list_experiments()}


def select_runs(store: Any, *, run_ids: Sequence[str] | None = None, experiment: str | None = None,
                project: str | None = None, graph_hashes: set[str] | None = None) -> list[Any]:
    """The runs a bundle takes: ``run_ids`` if given (an empty list: none); else the runs of ``experiment`` (in
    ``project``); else the runs trained from the graph whose hashes are ``graph_hashes`` (see
    :func:`design_hashes`); else every run of ``project``."""
    from neuralforge_desktop.core.store.entities import NotFoundError
    from neuralforge_desktop.core.store.queries import DEFAULT_PROJECT

    try:
        if run_ids is not None:
            runs = [store.get_run(run_id) for run_id in dict.fromkeys(run_ids)]
        elif experiment is not None:
            runs = store.list_runs(experiment, project=project or DEFAULT_PROJECT)
        elif graph_hashes is not None:
            runs = [r for r in store.list_runs(project=project) if r.graph_sha256 in graph_hashes]
        elif project is not None:
            store.get_project(project)
            runs = store.list_runs(project=project)
        else:
            runs = []
    except NotFoundError as exc:
        raise BundleError(f"{exc} in {store.path}") from None
    return sorted(runs, key=lambda r: r.created)


def metric_series_json(store: Any, run_id: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in store.metric_names(run_id):
        series = store.metric_history(run_id, name)
        out[name] = {"steps": [int(s) for s in series.steps],
                     "values": [encode_number(float(v)) for v in series.values],
                     "timestamps": [float(t) for t in series.timestamps]}
    return out


def run_json(run: Any, project: str, artifacts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": run.id, "origin": run_origin(run), "name": run.name, "experiment": run.experiment,
            "project": project, "status": run.status, "created": run.created, "started": run.started,
            "ended": run.ended, "params": run.params, "tags": run.tags, "environment": run.environment,
            "user": run.user, "hostname": run.hostname, "cpu_seconds": run.cpu_seconds,
            "gpu_seconds": run.gpu_seconds, "graph_sha256": run.graph_sha256, "checksum": run.checksum,
            "artifacts": artifacts}


class _Exporter:
    def __init__(self, store: Any, writer: BundleWriter, result: ExportResult) -> None:
        self.store, self.writer, self.result = store, writer, result
        self.graph_members: dict[str, str] = {}  # design key → member
        self.graphs: list[dict[str, Any]] = []
        self.graph_objects: dict[str, Any] = {}  # member → Graph

    def add_graph(self, text: bytes, origin: str, stem: str | None = None) -> str:
        """Add a graph once per design; named after its file (``stem``) or else the graph's name."""
        import hashlib

        from neuralforge_desktop.core.ir.serialize import loads
        from neuralforge_desktop.core.optimize.lineage import graph_hash

        graph = loads(text, source=origin)
        key = design_key(graph)  # a run's copy of the design is the same design as the file, comment id or not
        if key in self.graph_members:
            return self.graph_members[key]
        stem = safe_file_stem(stem or graph.name or "graph")
        member, n = f"graphs/{stem}.nfg", 1
        while member in self.writer.members:
            n += 1
            member = f"graphs/{stem}-{n}.nfg"
        self.writer.add_bytes(member, text)
        self.graph_members[key] = member
        self.graph_objects[member] = graph
        self.graphs.append({"member": member, "name": graph.name, "graph_sha256": graph_hash(graph),
                            "file_sha256": hashlib.sha256(text).hexdigest()})
        self.result.graphs.append(member)
        return member

    def add_run(self, run: Any, project: str) -> None:
        artifacts = []
        for artifact in self.store.list_artifacts(run.id):
            member = f"artifacts/{artifact.sha256}"
            if member not in self.writer.members:
                try:
                    written = self.writer.add_file(member, artifact.path)
                except OSError as exc:
                    raise BundleError(f"artifact {artifact.name!r} of run {run.id} cannot be read from the store "
                                      f"({exc})") from None
                if written != artifact.sha256:
                    raise BundleError(f"artifact {artifact.name!r} of run {run.id} is damaged in the store (its "
                                      "content no longer matches its sha256); not exported")
                self.result.artifacts += 1
            artifacts.append({"name": artifact.name, "kind": artifact.kind, "sha256": artifact.sha256,
                              "size": artifact.size, "created": artifact.created})
            if artifact.name == GRAPH_ARTIFACT:
                self.add_graph(artifact.path.read_bytes(), f"run {run.id}: {GRAPH_ARTIFACT}")
        self.writer.add_json(f"runs/{run.id}/run.json", run_json(run, project, artifacts))
        self.writer.add_json(f"runs/{run.id}/metrics.json", metric_series_json(self.store, run.id))
        self.result.runs.append(run.id)

    def add_cards(self, run_ids: set[str]) -> list[dict[str, Any]]:
        from neuralforge_desktop.core.cards.cards import get_card
        from neuralforge_desktop.core.registry import list_models

        cards = []
        for model in list_models(self.store):
            for version in model.versions:
                if version.run_id not in run_ids:
                    continue
                card = get_card(self.store, version.ref)
                if card is None:
                    continue
                member = f"cards/{safe_file_stem(version.ref.replace('@', '-v'), 'card')}.json"
                self.writer.add_json(member, {**card.to_json(), "run_id": version.run_id})
                cards.append({"member": member, "ref": version.ref, "run_id": version.run_id})
                self.result.cards.append(version.ref)
        return cards


def export_bundle(store: Any, output: str | Path, *, graph_path: str | Path | None = None,
                  project: str | None = None, run_ids: Sequence[str] | None = None, experiment: str | None = None,
                  overwrite: bool = False) -> ExportResult:
    """Write a bundle of a graph file (and the runs trained from it) or of a project (its runs and their graphs);
    ``run_ids`` or ``experiment`` narrow the runs. See the module docs for what goes in."""
    from neuralforge_desktop.core.audit import record_event

    output = Path(output)
    if output.suffix != FILE_SUFFIX:
        raise BundleError(f"{output.name}: a bundle's file name ends in {FILE_SUFFIX}")
    if output.exists() and not overwrite:
        raise BundleError(f"{output} already exists; choose another name or allow overwriting (--force)")
    graph_text, graph_hashes = None, None
    if graph_path is not None:
        from neuralforge_desktop.core.ir.serialize import loads

        try:
            graph_text = Path(graph_path).read_bytes()
        except OSError as exc:
            raise BundleError(f"cannot read the graph file {graph_path}: {exc.strerror or exc}") from None
        graph_hashes = design_hashes(loads(graph_text, source=graph_path))
    runs = select_runs(store, run_ids=run_ids, experiment=experiment, project=project, graph_hashes=graph_hashes)
    projects = _project_names(store)
    source = {"kind": "graph", "name": Path(graph_path).name} if graph_path is not None else \
        {"kind": "project", "name": project}
    main_project = project or next((projects.get(r.experiment_id) for r in runs), None)
    writer = BundleWriter(output, new_manifest(current_user(), source=source, project=main_project))
    result = ExportResult(output)
    try:
        exporter = _Exporter(store, writer, result)
        if graph_text is not None and graph_path is not None:
            exporter.add_graph(graph_text, str(graph_path), Path(graph_path).stem)
        for run in runs:
            exporter.add_run(run, projects.get(run.experiment_id, ""))
        cards = exporter.add_cards({r.id for r in runs})
        from neuralforge_desktop.core.team.bundle_comments import export_comments

        comments = export_comments(store, exporter.graph_objects, runs, projects)
        result.comments = len(comments)
        writer.add_json("comments.json", comments)
        writer.manifest["contents"] = {
            "graphs": exporter.graphs, "cards": cards, "comments": len(comments),
            "runs": [{"id": r.id, "name": r.name, "experiment": r.experiment, "member": f"runs/{r.id}/run.json"}
                     for r in runs]}
        writer.close()
    except BaseException:
        writer.abort()
        raise
    record_event(store, "bundle.exported", output.name,
                 {"who": writer.manifest["who"], "runs": result.runs, "graphs": result.graphs,
                  "comments": result.comments, "cards": result.cards})
    return result


def describe(manifest: dict[str, Any]) -> dict[str, Any]:
    """What ``bundle inspect`` shows: the manifest without its member table, plus the member count and size."""
    members = manifest.get("members", {})
    summary = {k: v for k, v in manifest.items() if k != "members"}
    summary["member_count"] = len(members)
    summary["bytes"] = sum(int(m.get("size", 0)) for m in members.values())
    return json.loads(json.dumps(summary))
