"""Walking a lineage back from a served prediction, a registered version or a run to the runs, graph, data and
code it came from (:func:`lineage_of`), and forward from a dataset to every run trained on it and every version
registered from those runs or from runs derived from them (:func:`lineage_of_dataset`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.lineage.graph import Lineage, LineageNode
from neuralforge_desktop.core.lineage.nodes import (
    code_node,
    dataset_node,
    graph_node,
    parent_relation,
    prediction_node,
    run_node,
    version_node,
)

ACCEPTED_REFS = ("a served prediction id (from the monitoring tables)", "a registered version NAME@V",
                 "a run id")
_PREDICTION_ID = re.compile(r"[0-9a-f]{32}")
_MAX_ANCESTORS = 100  # a hand-edited parent_run loop must not walk forever


def lineage_of(store: Any, ref: str) -> Lineage:
    """The lineage of ``ref``: a served prediction id, a registry ref (``NAME@V``, ``NAME@production``, ``NAME``)
    or a run id. Anything else raises :class:`UserError` naming the kinds of refs accepted."""
    ref = ref.strip()
    lineage = Lineage()
    if _PREDICTION_ID.fullmatch(ref):
        row = _prediction_row(store, ref)
        if row is not None:
            _walk_prediction(store, lineage, row)
            return lineage
    run = _run_or_none(store, ref)
    if run is not None:
        _walk_run(store, lineage, run)
        return lineage
    version = _version_or_none(store, ref)
    if version is not None:
        _walk_version(store, lineage, version)
        return lineage
    raise UserError(f"lineage {ref!r}: not a served prediction, a registered version or a run in {store.path}; "
                    f"give {', '.join(ACCEPTED_REFS[:-1])} or {ACCEPTED_REFS[-1]}")


def _prediction_row(store: Any, prediction_id: str) -> tuple[Any, ...] | None:
    with store.database.read() as conn:
        row = conn.execute("SELECT prediction_id, model, version, time, latency_ms, ok, status, predicted "
                           "FROM monitor_requests WHERE prediction_id = ?", (prediction_id,)).fetchone()
    return tuple(row) if row is not None else None


def _run_or_none(store: Any, run_id: str) -> Any:
    from neuralforge_desktop.core.store.entities import NotFoundError

    try:
        return store.get_run(run_id)
    except NotFoundError:
        return None


def _version_or_none(store: Any, ref: str) -> Any:
    from neuralforge_desktop.core.registry.entities import RegistryError
    from neuralforge_desktop.core.registry.stages import resolve

    try:
        return resolve(store, ref)
    except RegistryError:  # also a malformed ref: the caller's message lists what is accepted
        return None


def _walk_prediction(store: Any, lineage: Lineage, row: tuple[Any, ...]) -> None:
    node = lineage.add(prediction_node(row))
    model, version = row[1], row[2]
    served = _version_or_none(store, f"{model}@{version}")
    if served is None:  # the version was deleted since: the prediction still names it
        lineage.nodes[node].details["note"] = f"version {model}@{version} is no longer in the registry"
        return
    lineage.link(node, _walk_version(store, lineage, served), "served by")


def _walk_version(store: Any, lineage: Lineage, version: Any) -> str:
    node = lineage.add(version_node(version))
    run = _run_or_none(store, version.run_id)
    if run is None:
        lineage.nodes[node].details["note"] = f"run {version.run_id} is no longer in the store"
    else:
        lineage.link(node, _walk_run(store, lineage, run), "registered from")
    return node


def _walk_run(store: Any, lineage: Lineage, run: Any) -> str:
    """Add the run, its graph, data and code, then its parent runs the same way, oldest last."""
    first = node = lineage.add(run_node(run))
    for _ in range(_MAX_ANCESTORS):
        _add_inputs(store, lineage, node, run)
        parent_id = run.tags.get("parent_run")
        parent = _run_or_none(store, parent_id) if parent_id else None
        if parent_id and parent is None:
            lineage.nodes[node].details["parent_run"] = f"{parent_id} (no longer in the store)"
        if parent is None:
            break
        parent_node = run_node(parent)
        known = parent_node.id in lineage.nodes
        lineage.link(node, lineage.add(parent_node), parent_relation(run.tags))
        if known:
            break
        node, run = parent_node.id, parent
    return first


def _add_inputs(store: Any, lineage: Lineage, node: str, run: Any) -> None:
    from neuralforge_desktop.core.training.runner import runs_root

    # The run folder's copy of the graph (a file named like one, that the editor can open), not the store's
    # content-addressed blob, which must never be saved over.
    copy = runs_root(Path(store.path)) / run.id / "graph.nfg"
    artifact = str(copy) if copy.is_file() else None
    derived = bool(run.tags.get("parent_run")) and not run.environment.get("dataset")
    for made, relation in ((graph_node(run, artifact), "graph"),
                           (None if derived else dataset_node(run), "trained on"),
                           (code_node(run), "code")):
        # A derived run (an optimisation) reads its data through its parent, which the walk reaches next.
        if made is not None:
            lineage.link(node, lineage.add(made), relation)


def lineage_of_dataset(store: Any, name_or_fingerprint: str) -> Lineage:
    """Forward from a dataset, given by name (``mnist-10k``) or content fingerprint: every run trained on it, the
    runs derived from those (optimisations, retrains) and every version registered from any of them."""
    wanted = name_or_fingerprint.strip()
    runs = {record.id: record for record in store.iter_runs()}
    trained = [r for r in runs.values() if _reads(r, wanted)]
    if not trained:
        seen = sorted({str(n) for r in runs.values() for n in _dataset_names(r)})
        raise UserError(f"--dataset {wanted!r}: no run in {store.path} trained on a dataset of that name or "
                        f"fingerprint; datasets the runs used: {', '.join(seen) or 'none'}")
    lineage = Lineage(direction="forward")
    found = {made.id: made for r in trained if (made := dataset_node(r)) is not None}
    if len(found) > 1:  # a name read with different contents (another subset, a changed file): one root above them
        lineage.add(LineageNode("dataset", f"every:{wanted}", f"{wanted} ({len(found)} fingerprints)",
                                {"name": wanted}))
        for node in found.values():
            lineage.link(lineage.root, lineage.add(node), "content")
    children: dict[str, list[Any]] = {}
    for record in runs.values():
        parent = record.tags.get("parent_run")
        if parent:
            children.setdefault(parent, []).append(record)
    versions = _versions_by_run(store)
    for record in reversed(trained):
        made = dataset_node(record)
        dataset_id = lineage.add(made) if made is not None else lineage.root
        _forward_run(lineage, dataset_id, record, "trained", children, versions)
    return lineage


def _forward_run(lineage: Lineage, source: str, record: Any, relation: str, children: dict[str, list[Any]],
                 versions: dict[str, list[Any]]) -> None:
    pending = [(source, record, relation)]
    while pending:
        source, record, relation = pending.pop(0)
        node = run_node(record)
        known = node.id in lineage.nodes
        lineage.link(source, lineage.add(node), relation)
        if known:
            continue
        for version in versions.get(record.id, []):
            lineage.link(node.id, lineage.add(version_node(version)), "registered as")
        for child in children.get(record.id, []):
            pending.append((node.id, child, parent_relation(child.tags).replace(" of", "")))


def _versions_by_run(store: Any) -> dict[str, list[Any]]:
    from neuralforge_desktop.core.registry.stages import list_models

    found: dict[str, list[Any]] = {}
    for model in list_models(store):
        for version in model.versions:
            found.setdefault(version.run_id, []).append(version)
    return found


def _dataset_names(record: Any) -> list[str]:
    recorded = record.environment.get("dataset")
    names = [str(recorded["name"])] if isinstance(recorded, dict) and recorded.get("name") else []
    if not names and record.params.get("dataset") and not record.tags.get("parent_run"):
        names.append(str(record.params["dataset"]))
    return names


def _reads(record: Any, wanted: str) -> bool:
    recorded = record.environment.get("dataset")
    if isinstance(recorded, dict) and wanted in (recorded.get("fingerprint"), recorded.get("name")):
        return True
    return wanted in _dataset_names(record)
