"""An open graph: its file, its edit history hooks, and its derived data kept current.

Views observe a :class:`Document` through listeners; nothing here knows about Qt. Every change goes
through :meth:`Document.apply`, which performs an invertible edit, updates shape inference incrementally
and tells the listeners which nodes changed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.edit.edits import Edit
from neuralforge_desktop.core.ir.graph import Graph


@dataclass(frozen=True)
class DocumentChange:
    edit: Edit | None  # None when the whole graph was replaced (new/open)
    changed: frozenset[str] = field(default_factory=frozenset)  # nodes whose shapes were recomputed
    structural: bool = True


Listener = Callable[[DocumentChange], None]


@dataclass(frozen=True)
class DerivedJob:
    """One derived value of one revision of a graph, to compute on any thread.

    ``compute`` only reads the graph and its shapes. Copying a 10,000-node graph (and re-inferring its shapes)
    costs about as much as the computation itself, so a job reads the live graph instead and its value is
    kept only if the graph is still the same object at the same revision when the value arrives: an edit made
    meanwhile (which may have raced with the reads) makes the value stale, and :meth:`Document.accept` drops it.
    """

    key: str
    graph: Graph
    revision: int
    compute: Callable[[], Any]


class Document:
    def __init__(self, graph: Graph | None = None, path: str | os.PathLike[str] | None = None) -> None:
        self.graph = graph or Graph("untitled")
        self.path: Path | None = Path(path) if path else None
        self.shapes = ShapeInference(self.graph).run()
        self._listeners: list[Listener] = []
        self._saved_revision = self.graph.revision
        self._derived: dict[str, tuple[int, Any]] = {}

    # -- observing -----------------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _notify(self, change: DocumentChange) -> None:
        for listener in list(self._listeners):
            listener(change)

    # -- editing -------------------------------------------------------------------------------------
    def apply(self, edit: Edit) -> Edit:
        """Perform ``edit``; returns its inverse. The graph is unchanged if the edit raises."""
        before = edit.affected(self.graph)
        structure = self.graph.structure_revision
        inverse = edit.apply(self.graph)
        after = inverse.affected(self.graph)
        changed = {n for n in before | after if n in self.graph.nodes}
        structural = self.graph.structure_revision != structure
        recomputed = self.shapes.update(changed) if (changed or structural) else []
        self._notify(DocumentChange(edit, frozenset(recomputed) | frozenset(changed), structural))
        return inverse

    def replace(self, graph: Graph, path: str | os.PathLike[str] | None = None) -> None:
        self.graph = graph
        self.path = Path(path) if path else None
        self.shapes = ShapeInference(graph).run()
        self._saved_revision = graph.revision
        self._derived.clear()
        self._notify(DocumentChange(None, frozenset(graph.nodes), True))

    # -- files ---------------------------------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        return self.graph.revision != self._saved_revision

    @property
    def title(self) -> str:
        return self.path.name if self.path else f"{self.graph.name} (unsaved)"

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Document:
        from neuralforge_desktop.core.ir.serialize import load_graph

        return cls(load_graph(path), path)

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        from neuralforge_desktop.core.ir.serialize import save_graph

        target = Path(path) if path else self.path
        if target is None:
            raise ValueError("this graph has no file yet; give a path")
        save_graph(self.graph, target)
        from neuralforge_desktop.core.audit.events import graph_saved

        graph_saved(target, len(self.graph))
        self.path = target
        self._saved_revision = self.graph.revision
        self._notify(DocumentChange(None, frozenset(), False))
        return target

    def mark_saved(self) -> None:
        self._saved_revision = self.graph.revision

    # -- derived data (recomputed lazily, cached per revision) ---------------------------------------
    def derived(self, key: str, compute: Callable[[], Any]) -> Any:
        cached = self._derived.get(key)
        if cached is not None and cached[0] == self.graph.revision:
            return cached[1]
        value = compute()
        self._derived[key] = (self.graph.revision, value)
        return value

    def job(self, key: str, compute: Callable[[Graph, ShapeInference], Any]) -> DerivedJob:
        """``compute(graph, shapes)`` for the current revision, bound now: later edits or a replaced graph
        do not change what the job reads, only whether its value is still accepted."""
        graph, shapes = self.graph, self.shapes
        return DerivedJob(key, graph, graph.revision, lambda: compute(graph, shapes))

    def cached(self, job: DerivedJob) -> tuple[bool, Any]:
        """(True, value) when ``job``'s value for the current revision is known already."""
        hit = self._derived.get(job.key)
        if self.is_current(job) and hit is not None and hit[0] == job.revision:
            return True, hit[1]
        return False, None

    def is_current(self, job: DerivedJob) -> bool:
        return job.graph is self.graph and job.revision == self.graph.revision

    def accept(self, job: DerivedJob, value: Any) -> bool:
        """Keep a value computed elsewhere if no edit happened since ``job`` was made; False drops it."""
        if not self.is_current(job):
            return False
        self._derived[job.key] = (job.revision, value)
        return True

    def run(self, job: DerivedJob) -> Any:
        """``job``'s value, computed here unless cached."""
        hit, value = self.cached(job)
        if hit:
            return value
        value = job.compute()
        self.accept(job, value)
        return value

    def cost_job(self, batch_size: int = 1, device: str = "cpu") -> DerivedJob:
        from neuralforge_desktop.core.analysis.calibration import calibration_token
        from neuralforge_desktop.core.analysis.cost import estimate_cost

        calibrated = calibration_token() if device == "cpu" else ""  # a new calibration changes CPU estimates
        return self.job(f"cost:{batch_size}:{device}:{calibrated}",
                        lambda graph, shapes: estimate_cost(graph, shapes, batch_size=batch_size, device=device))

    def cost(self, batch_size: int = 1, device: str = "cpu") -> Any:
        return self.run(self.cost_job(batch_size, device))

    def lint_job(self) -> DerivedJob:
        from neuralforge_desktop.core.analysis.lint import lint

        return self.job("lint", lambda graph, shapes: lint(graph, shapes) if shapes.ok else [])

    def lint(self) -> list[Any]:
        return list(self.run(self.lint_job()))

    def code_job(self, framework: str = "pytorch") -> DerivedJob:
        """The job for :meth:`code`."""
        from neuralforge_desktop.core.codegen.plan import PlanError

        def compute(graph: Graph, shapes: ShapeInference) -> Any:
            try:
                if framework == "keras":
                    from neuralforge_desktop.core.codegen.keras import generate_keras

                    return generate_keras(graph, shapes)
                from neuralforge_desktop.core.codegen.pytorch import generate_pytorch

                return generate_pytorch(graph, shapes)
            except PlanError as exc:
                return exc

        if framework not in ("pytorch", "keras"):
            raise ValueError(f"unknown framework {framework!r}: pytorch or keras")
        return self.job("code" if framework == "pytorch" else f"code:{framework}", compute)

    def code(self, framework: str = "pytorch") -> Any:
        """Generated source for ``framework`` ("pytorch" or "keras"): a ``GeneratedCode``, or the ``PlanError``
        (a ``KerasUnsupportedError`` for a layer without a Keras form) explaining why there is none."""
        return self.run(self.code_job(framework))


def recovery_path(document: Document, folder: str | os.PathLike[str]) -> Path:
    """Where this document's crash-recovery copy lives: one file per document file (or per process)."""
    key = str(document.path.resolve()) if document.path else f"untitled-{os.getpid()}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    stem = document.path.stem if document.path else "untitled"
    return Path(folder) / f"{stem}-{digest}.nfg"


def write_recovery(document: Document, folder: str | os.PathLike[str]) -> Path:
    """Atomically write the recovery copy (a kill mid-write leaves the previous copy intact)."""
    from neuralforge_desktop.core.ir.serialize import save_graph

    Path(folder).mkdir(parents=True, exist_ok=True)
    target = recovery_path(document, folder)
    graph = document.graph
    graph.meta["recovery_of"] = str(document.path) if document.path else ""
    try:
        save_graph(graph, target)
    finally:
        graph.meta.pop("recovery_of", None)
    return target


def find_recoveries(folder: str | os.PathLike[str]) -> list[Path]:
    root = Path(folder)
    return sorted(root.glob("*.nfg"), key=lambda p: p.stat().st_mtime, reverse=True) if root.is_dir() else []
