"""The comments section of a bundle: the threads on its graphs (anchored on nodes), runs and experiments.

Exported as ``comments.json``, one record per comment with its author, times, resolution and the bundled thing
it is on (``{"graph": member}``, ``{"run": bundle run id}`` or ``{"experiment": name, "project": name}``). On
import each comment is attached to what that thing became in the target store, keeping its author and time;
replies are re-linked to their parents' new ids, and a comment the target already has (same place, author,
time and text) is not added twice.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

from neuralforge_desktop.core.team.bundle_archive import BundleError, BundleReader

COMMENTS_MEMBER = "comments.json"


def _comments_module() -> ModuleType | None:
    try:
        return importlib.import_module("neuralforge_desktop.core.team.comments")
    except ImportError:  # a NeuralForge without comments: the section is empty
        return None


def _record(comment: Any, target: dict[str, Any]) -> dict[str, Any]:
    return {"id": comment.id, "target_kind": comment.target_kind, "target": target, "anchor": comment.anchor,
            "parent_id": comment.parent_id, "author": comment.author, "body": comment.body,
            "created": comment.created, "resolved": bool(comment.resolved), "resolved_by": comment.resolved_by,
            "resolved_at": comment.resolved_at, "mentions": list(comment.mentions)}


def export_comments(store: Any, graphs: dict[str, Any], runs: list[Any],
                    projects: dict[str, str]) -> list[dict[str, Any]]:
    """Every comment on the bundled graphs (member → Graph), runs and their experiments, oldest first."""
    comments = _comments_module()
    if comments is None:
        return []
    targets: list[tuple[str, str, dict[str, Any]]] = []
    # A graph is named by the id kept in its file; a graph never commented on has none (and gets none here).
    graph_ids = {member: comments.existing_graph_id(graph) for member, graph in graphs.items()}
    targets += [("graph", graph_id, {"graph": member}) for member, graph_id in graph_ids.items() if graph_id]
    targets += [("run", run.id, {"run": run.id}) for run in runs]
    experiments = {run.experiment_id: run for run in runs}
    targets += [("experiment", exp_id, {"experiment": run.experiment, "project": projects.get(exp_id, "")})
                for exp_id, run in experiments.items()]
    out: list[dict[str, Any]] = []
    for kind, target_id, target in targets:
        out += [_record(c, target) for c in comments.list_comments(store, kind, target_id)]
    return sorted(out, key=lambda c: (c["created"], c["id"]))


def read_comments(reader: BundleReader) -> list[dict[str, Any]]:
    """The comments of a bundle, checked for shape (a bundle without the section has none)."""
    if COMMENTS_MEMBER not in reader.members:
        return []
    records = reader.read_json(COMMENTS_MEMBER)
    where = f"{reader.path.name}: {COMMENTS_MEMBER}"
    if not isinstance(records, list):
        raise BundleError(f"{where} is malformed (expected a list)")
    for i, record in enumerate(records):
        ok = (isinstance(record, dict) and isinstance(record.get("id"), int)
              and record.get("target_kind") in ("graph", "run", "experiment") and isinstance(record.get("target"), dict)
              and isinstance(record.get("author"), str) and isinstance(record.get("body"), str)
              and isinstance(record.get("created"), int | float)
              and (record.get("anchor") is None or isinstance(record.get("anchor"), str))
              and (record.get("parent_id") is None or isinstance(record.get("parent_id"), int))
              and (record.get("resolved_by") is None or isinstance(record.get("resolved_by"), str))
              and (record.get("resolved_at") is None or isinstance(record.get("resolved_at"), int | float)))
        if not ok:
            raise BundleError(f"{where}: comment {i + 1} is malformed")
    return records


def _targets(store: Any, comments: ModuleType, graphs: list[tuple[dict[str, Any], bytes, Any]],
             run_ids: dict[str, str]) -> Callable[[dict[str, Any]], str | None]:
    graph_ids = {str(entry["member"]): comments.existing_graph_id(graph) for entry, _, graph in graphs}
    experiments: dict[tuple[str, str], str] = {}
    projects = {p.id: p.name for p in store.list_projects()}
    for new_id in run_ids.values():
        run = store.get_run(new_id)
        exp = store.get_experiment(run.experiment_id)
        experiments.setdefault((run.experiment, projects.get(exp.project_id, "")), run.experiment_id)
        experiments.setdefault((run.experiment, ""), run.experiment_id)

    def target_of(record: dict[str, Any]) -> str | None:
        target, kind = record["target"], record["target_kind"]
        if kind == "graph":
            return graph_ids.get(str(target.get("graph")))
        if kind == "run":
            return run_ids.get(str(target.get("run")))
        name = str(target.get("experiment"))
        return experiments.get((name, str(target.get("project", "")))) or experiments.get((name, ""))

    return target_of


def import_comments(store: Any, records: list[dict[str, Any]], graphs: list[tuple[dict[str, Any], bytes, Any]],
                    run_ids: dict[str, str], undo: list[Callable[[], None]]) -> int:
    """Attach the bundle's comments (see the module docs); returns how many were added. Each addition puts its
    removal on ``undo``, for an import that fails later."""
    comments = _comments_module()
    if comments is None or not records:
        return 0
    target_of = _targets(store, comments, graphs, run_ids)
    new_ids: dict[int, int] = {}
    present: dict[tuple[str, str], dict[tuple[Any, ...], int]] = {}
    added = 0
    for record in sorted(records, key=lambda r: (r["created"], r["id"])):
        kind, target_id = record["target_kind"], target_of(record)
        if target_id is None:
            continue
        if (kind, target_id) not in present:
            present[kind, target_id] = {(c.anchor, c.author, round(c.created, 6), c.body): c.id
                                        for c in comments.list_comments(store, kind, target_id)}
        key = (record.get("anchor"), record["author"], round(float(record["created"]), 6), record["body"])
        if key in present[kind, target_id]:
            new_ids[record["id"]] = present[kind, target_id][key]
            continue
        parent = new_ids.get(record["parent_id"]) if record.get("parent_id") is not None else None
        made = comments.add_comment(store, kind, target_id, record["body"], anchor=record.get("anchor"),
                                    parent_id=parent, author=record["author"], created=float(record["created"]))
        undo.append(functools.partial(_remove, store, int(made.id)))
        new_ids[record["id"]] = made.id
        present[kind, target_id][key] = made.id
        if record.get("resolved"):
            comments.resolve_comment(store, made.id, resolved=True, who=record.get("resolved_by"),
                                     at=record.get("resolved_at"))
        added += 1
    return added


def _remove(store: Any, comment_id: int) -> None:
    """Take back a comment this import added (comments have no delete: a failed import is the one case)."""
    with store.database.write() as conn:
        conn.execute("DELETE FROM comment_mentions WHERE comment_id = ?", (comment_id,))
        conn.execute("DELETE FROM comments WHERE id = ?", (comment_id,))
