"""Reading a ``.nfbundle`` into a store and a folder of graph files (writing one is :mod:`.bundle`).

Order, so that nothing is left half-imported:

1. Check the archive and every member's sha256 (:class:`.bundle_archive.BundleReader`), then parse and check
   every JSON member and graph, and that each run's artifacts are in the bundle. Nothing is written yet.
2. Write the store: runs (with their original times, user, status and metrics), artifacts (each one's sha256
   checked again as the store computes it), model cards (as artifacts of their run) and comments (authors and
   times kept, threads re-linked to the new ids).
3. Write the graph files, never over an existing file: the same design already there is left as it is (if it
   has no comment id yet and the bundle's copy has one, the id is added to it, and a note says so, so the
   comments made on the design elsewhere show on it); a different design of that name makes the new one
   ``NAME-2.nfg``.

If any step fails, the runs, comments and graph files written so far are removed, and the error is raised.

Importing again: a run whose origin (see :mod:`.bundle`) is already in the store is not copied again; it is
reported as already imported, and only the comments it does not have yet are added to it. That is also what
makes a round trip work: a colleague's bundle of your runs, with their comments, lands on your runs.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.team.bundle import GRAPH_ARTIFACT, GRAPH_ID_KEY, ORIGIN_TAG, decode_number, design_key
from neuralforge_desktop.core.team.bundle_archive import BundleError, BundleReader

_TERMINAL = ("finished", "failed", "stopped", "crashed")


@dataclass
class ImportResult:
    path: Path
    created: dict[str, str] = field(default_factory=dict)  # bundle run id → new run id
    existing: dict[str, str] = field(default_factory=dict)  # bundle run id → the run already in the store
    graphs_written: list[Path] = field(default_factory=list)
    graphs_present: list[Path] = field(default_factory=list)
    comments_added: int = 0
    cards: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def run_ids(self) -> dict[str, str]:
        return {**self.existing, **self.created}


@dataclass
class _Run:
    record: dict[str, Any]
    metrics: dict[str, tuple[list[int], list[float], list[float]]]


def _need(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise BundleError(f"{where} is malformed (expected {getattr(kind, '__name__', kind)})")
    return value


def _read_run(reader: BundleReader, member: str) -> _Run:
    where = f"{reader.path.name}: {member}"
    record = _need(reader.read_json(member), dict, where)
    for key, kind in (("id", str), ("origin", str), ("name", str), ("experiment", str), ("project", str),
                      ("status", str), ("created", (int, float)), ("params", dict), ("tags", dict),
                      ("environment", dict), ("artifacts", list)):
        _need(record.get(key), kind, f"{where}: {key}")
    for key, kind in (("started", (int, float)), ("ended", (int, float)), ("user", str), ("hostname", str),
                      ("cpu_seconds", (int, float)), ("gpu_seconds", (int, float)), ("graph_sha256", str),
                      ("checksum", str)):
        if record.get(key) is not None:
            _need(record[key], kind, f"{where}: {key}")
    metrics_member = member.rsplit("/", 1)[0] + "/metrics.json"
    raw = _need(reader.read_json(metrics_member), dict, f"{reader.path.name}: {metrics_member}")
    metrics = {}
    for name, series in raw.items():
        at = f"{reader.path.name}: {metrics_member}: {name}"
        _need(series, dict, at)
        try:
            steps = [int(_need(s, int, at)) for s in series["steps"]]
            values = [decode_number(v) for v in series["values"]]
            stamps = [decode_number(t) for t in series["timestamps"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(f"{at} is malformed ({exc})") from None
        if not len(steps) == len(values) == len(stamps):
            raise BundleError(f"{at}: steps, values and timestamps differ in length")
        metrics[name] = (steps, values, stamps)
    for artifact in record["artifacts"]:
        _need(artifact, dict, f"{where}: artifacts")
        sha = _need(artifact.get("sha256"), str, f"{where}: artifact sha256")
        _need(artifact.get("name"), str, f"{where}: artifact name")
        entry = reader.members.get(f"artifacts/{sha}")
        if entry is None or entry["sha256"] != sha:
            raise BundleError(f"{where}: artifact {artifact['name']!r} is missing from the bundle")
    return _Run(record, metrics)


def _read_graphs(reader: BundleReader, contents: dict[str, Any]) -> list[tuple[dict[str, Any], bytes, Any]]:
    from neuralforge_desktop.core.ir.serialize import loads

    graphs = []
    for entry in _need(contents.get("graphs", []), list, "manifest contents: graphs"):
        member = _need(_need(entry, dict, "manifest contents: graphs").get("member"), str, "graph member")
        text = reader.read_bytes(member)
        graphs.append((entry, text, loads(text, source=f"{reader.path.name}: {member}")))
    return graphs


class _Importer:
    def __init__(self, store: Any, reader: BundleReader, project: str | None, result: ImportResult) -> None:
        self.store, self.reader, self.project, self.result = store, reader, project, result
        self.undo: list[Callable[[], None]] = []

    def existing_run(self, record: dict[str, Any]) -> Any | None:
        from neuralforge_desktop.core.store.entities import NotFoundError

        for candidate in dict.fromkeys((record["origin"], record["id"])):
            with contextlib.suppress(NotFoundError):
                return self.store.get_run(candidate)
        found = self.store.list_runs(tags={ORIGIN_TAG: record["origin"]}, limit=1)
        return found[0] if found else None

    def add_run(self, run: _Run) -> str:
        record = run.record
        status = record["status"] if record["status"] in _TERMINAL else "stopped"
        tags = {str(k): str(v) for k, v in record["tags"].items()}
        tags[ORIGIN_TAG] = record["origin"]
        if status != record["status"]:
            tags["reason"] = f"was {record['status']} in the store it was exported from"
        new = self.store.create_run(record["experiment"], record["name"], params=record["params"], tags=tags,
                                    graph_sha256=record.get("graph_sha256"), checksum=record.get("checksum"),
                                    environment=record["environment"], status=status,
                                    project=self.project or record["project"] or "default")
        self.undo.append(lambda: self.store.delete_run(new.id))
        with self.store.database.write() as conn:  # what create_run stamps as "now" and "this user"
            conn.execute("UPDATE runs SET created = ?, started = ?, ended = ?, created_by = ?, hostname = ?,"
                         " cpu_seconds = ?, gpu_seconds = ? WHERE id = ?",
                         (float(record["created"]), record.get("started"), record.get("ended"), record.get("user"),
                          record.get("hostname"), float(record.get("cpu_seconds") or 0.0),
                          float(record.get("gpu_seconds") or 0.0), new.id))
        for name, (steps, values, stamps) in run.metrics.items():
            if steps:
                self.store.log_series(new.id, name, steps, values, stamps)
        for artifact in record["artifacts"]:
            self.add_artifact(new.id, artifact["name"], str(artifact.get("kind") or "file"), artifact["sha256"])
        return str(new.id)

    def add_artifact(self, run_id: str, name: str, kind: str, sha256: str) -> None:
        with tempfile.TemporaryDirectory(prefix="nfbundle-") as folder:
            target = Path(folder) / "content"
            self.reader.extract(f"artifacts/{sha256}", target)
            stored = self.store.log_artifact(run_id, target, name, kind=kind)
        if stored.sha256 != sha256:
            raise BundleError(f"{self.reader.path.name}: artifact {name!r} changed while it was imported "
                              f"(sha256 {stored.sha256[:12]}…, expected {sha256[:12]}…)")

    def add_card(self, member: str, new_run_id: str) -> None:
        card = _need(self.reader.read_json(member), dict, f"{self.reader.path.name}: {member}")
        ref = _need(card.get("ref"), str, f"{member}: ref")
        markdown = _need(card.get("markdown"), str, f"{member}: markdown")
        name = f"model_cards/{ref.replace('@', '-v')}.md"
        self.store.log_artifact(new_run_id, markdown.encode("utf-8"), name, kind="model_card")
        self.result.cards.append(ref)


def _graph_target(folder: Path, entry: dict[str, Any], text: bytes, graph: Any) -> tuple[Path, str, Any]:
    """Where the graph goes and what to do there: "write" a new file, leave a file of the same design "present",
    or "adopt": a file of the same design that has no comment id yet is given the bundle's (returned third), so
    the comments made on the design elsewhere show on it."""
    from neuralforge_desktop.core.ir.serialize import GraphFileError, load_graph

    name = Path(str(entry["member"])).name
    stem, suffix = Path(name).stem, Path(name).suffix
    bundle_id, candidate, n = graph.meta.get(GRAPH_ID_KEY), folder / name, 1
    while candidate.exists():
        try:
            same_bytes = candidate.read_bytes() == text
            existing = None if same_bytes else load_graph(candidate)
        except (OSError, GraphFileError):
            same_bytes, existing = False, None
        if same_bytes:
            return candidate, "present", None
        if existing is not None and design_key(existing) == design_key(graph):
            own_id = existing.meta.get(GRAPH_ID_KEY)
            if bundle_id is None or own_id == bundle_id:
                return candidate, "present", None
            if own_id is None:
                existing.meta[GRAPH_ID_KEY] = bundle_id
                return candidate, "adopt", existing
        n += 1
        candidate = folder / f"{stem}-{n}{suffix}"
    return candidate, "write", None


def _write_graphs(graphs: list[tuple[dict[str, Any], bytes, Any]], folder: Path, result: ImportResult,
                  undo: list[Callable[[], None]]) -> None:
    from neuralforge_desktop.core.ir.atomic import write_bytes_atomic
    from neuralforge_desktop.core.ir.serialize import save_graph

    for entry, text, graph in graphs:
        target, action, adopted = _graph_target(folder, entry, text, graph)
        if action == "present":
            result.graphs_present.append(target)
        elif action == "adopt":
            before = target.read_bytes()
            save_graph(adopted, target)
            undo.append(functools.partial(write_bytes_atomic, target, before))
            result.graphs_present.append(target)
            result.notes.append(f"{target} holds the same design: it now carries the bundle's graph id, so the "
                                "comments made on the design elsewhere show on it")
        else:
            if target.name != Path(entry["member"]).name:
                result.notes.append(f"{folder / Path(entry['member']).name} exists and holds another design: "
                                    f"this one was written as {target.name}")
            folder.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(target, text)
            undo.append(functools.partial(target.unlink, missing_ok=True))
            result.graphs_written.append(target)


def import_bundle(store: Any, path: str | Path, *, project: str | None = None,
                  graph_dir: str | Path = ".") -> ImportResult:
    """Import a bundle (see the module docs); returns what was created, what was already here, and notes."""
    from neuralforge_desktop.core.audit import record_event
    from neuralforge_desktop.core.team.bundle_comments import import_comments, read_comments
    from neuralforge_desktop.core.team.identity import current_user

    result = ImportResult(Path(path))
    with BundleReader(path) as reader:
        reader.verify()
        contents = _need(reader.manifest.get("contents", {}), dict, "manifest contents")
        graphs = _read_graphs(reader, contents)
        runs = [_read_run(reader, _need(_need(entry, dict, "manifest contents: runs").get("member"), str,
                                        "run member"))
                for entry in _need(contents.get("runs", []), list, "manifest contents: runs")]
        cards = _need(contents.get("cards", []), list, "manifest contents: cards")
        comments = read_comments(reader)
        folder = Path(graph_dir)
        importer = _Importer(store, reader, project, result)
        try:
            for run in runs:
                found = importer.existing_run(run.record)
                if found is not None:
                    result.existing[run.record["id"]] = found.id
                else:
                    result.created[run.record["id"]] = importer.add_run(run)
            for card in cards:
                new_run = result.created.get(str(card.get("run_id")))
                if new_run is not None:
                    importer.add_card(str(card["member"]), new_run)
            result.comments_added = import_comments(store, comments, graphs, result.run_ids, importer.undo)
            _write_graphs(graphs, folder, result, importer.undo)
        except BaseException:
            for step in reversed(importer.undo):
                with contextlib.suppress(Exception):
                    step()
            raise
    if result.existing:
        result.notes.append(f"{len(result.existing)} run(s) were already in this store (imported before, or "
                            "exported from it): not copied again")
    record_event(store, "bundle.imported", result.path.name,
                 {"who": current_user(), "created": result.created, "existing": result.existing,
                  "comments": result.comments_added,
                  "graphs": [str(p.name) for p in result.graphs_written],
                  "from": reader.manifest.get("who"), "bundle_sha256": _file_sha(result.path)})
    return result


def _file_sha(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def graph_file_of(result: ImportResult) -> Path | None:
    """The first graph file the import wrote or found (what the app opens after an import)."""
    return next(iter(result.graphs_written + result.graphs_present), None)


__all__ = ["GRAPH_ARTIFACT", "ImportResult", "graph_file_of", "import_bundle"]
