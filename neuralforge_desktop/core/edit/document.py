"""An open graph: its file, its edit history hooks, and its derived data kept current.

Views observe a :class:`Document` through listeners; nothing here knows about Qt. Every change goes
through :meth:`Document.apply`, which performs an invertible edit, updates shape inference incrementally
and tells the listeners which nodes changed. Where the owner allows it (:attr:`Document.defer_shapes_above`, set
by the UI), an edit whose shape changes reach thousands of nodes is told at once with those of the first nodes
downstream, and the rest are inferred on another thread (:meth:`Document.shapes_job`); :attr:`Document.shapes`
is complete whenever it is read.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.edit.edits import Edit, Macro
from neuralforge_desktop.core.ir.graph import Graph


@dataclass(frozen=True)
class DocumentChange:
    edit: Edit | None  # None when the whole graph was replaced (new/open)
    changed: frozenset[str] = field(default_factory=frozenset)  # nodes whose shapes were recomputed
    structural: bool = True
    # True: the edit is made but the shapes it changes are still being inferred (see Document.shapes_job); a
    # change with the edits and every recomputed node follows when they are in.
    shapes_pending: bool = False


Listener = Callable[[DocumentChange], None]
SHAPES_KEY = "shapes"  # the key of Document.shapes_job's values
# Deferred shapes: those of the first nodes downstream of the edit (usually the ones in view) are inferred at once
# for the canvas to show, ~10 ms; the rest in shapes_job.
PREVIEW_NODES = 500


@dataclass
class _PendingShapes:
    """The edits made since the shapes were last complete, and the nodes they changed."""

    edits: list[Edit] = field(default_factory=list)
    changed: set[str] = field(default_factory=set)
    structural: bool = False

    def change(self, recomputed: list[str]) -> DocumentChange:
        edit = self.edits[0] if len(self.edits) == 1 else Macro(tuple(self.edits))
        return DocumentChange(edit, frozenset(recomputed) | frozenset(self.changed), self.structural)


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
        self._shapes = ShapeInference(self.graph).run()
        self._listeners: list[Listener] = []
        self._saved_revision = self.graph.revision
        self._derived: dict[str, tuple[int, Any]] = {}
        # An edit whose shape changes reach more nodes than this leaves them to shapes_job (None: never).
        self.defer_shapes_above: int | None = None
        self._pending: _PendingShapes | None = None
        self._unannounced: DocumentChange | None = None  # shapes completed by a read, not yet told to listeners
        self._preview: ShapeInference | None = None  # while shapes are pending: the first ones downstream done

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
        self.announce_shapes()  # shapes a read completed since the last edit: heard of before this edit
        before = edit.affected(self.graph)
        structure = self.graph.structure_revision
        inverse = edit.apply(self.graph)
        after = inverse.affected(self.graph)
        changed = {n for n in before | after if n in self.graph.nodes}
        structural = self.graph.structure_revision != structure
        if self._pending is not None or (not structural and self._reaches_far(changed)):
            self._defer_shapes(edit, changed, structural)
            return inverse
        recomputed = self._shapes.update(changed) if (changed or structural) else []
        self._notify(DocumentChange(edit, frozenset(recomputed) | frozenset(changed), structural))
        return inverse

    # -- shapes, inferred here or (after an edit that changes many) off the UI thread ---------------------
    @property
    def shapes(self) -> ShapeInference:
        """The shapes of the graph as it is now: if an edit's are still pending, they are inferred here first
        (correct for every reader; the UI reads :attr:`shapes_so_far` while they are being computed)."""
        if self._pending is not None:
            self._unannounced = self._pending.change(self._shapes.update(self._pending.changed))
            self._pending = self._preview = None
        return self._shapes

    @property
    def shapes_so_far(self) -> ShapeInference:
        """The shapes to show now: while :attr:`shapes_pending`, those of the nodes just downstream of the pending
        edits (:data:`PREVIEW_NODES` of them) are current and the others are as before the edits."""
        return self._preview if self._preview is not None else self._shapes

    @property
    def shapes_pending(self) -> bool:
        return self._pending is not None

    def _reaches_far(self, changed: set[str]) -> bool:
        """Whether the shapes an edit of ``changed`` may change reach more than :attr:`defer_shapes_above`
        nodes (a walk downstream that stops at that many)."""
        limit = self.defer_shapes_above
        if limit is None or len(self.graph) <= limit:
            return False
        seen, stack = set(changed), list(changed)
        while stack:
            for edge in self.graph.outgoing(stack.pop()):
                if edge.dst not in seen:
                    seen.add(edge.dst)
                    stack.append(edge.dst)
                    if len(seen) > limit:
                        return True
        return False

    def _defer_shapes(self, edit: Edit, changed: set[str], structural: bool) -> None:
        """Leave the shapes of ``edit`` to :meth:`shapes_job` (listeners hear of the edit now, with
        ``shapes_pending``, and of every recomputed node when the shapes are in). A structural edit made
        meanwhile has its own and the pending ones' shapes inferred now: new nodes must have shapes to show."""
        pending = self._pending = self._pending or _PendingShapes()
        pending.edits.append(edit)
        pending.changed |= changed
        pending.structural = pending.structural or structural
        if structural:
            _ = self.shapes
            self.announce_shapes()
        else:
            self._preview = self._shapes.copy()
            previewed = self._preview.update(pending.changed, limit=PREVIEW_NODES)
            self._notify(DocumentChange(edit, frozenset(previewed) | frozenset(changed), False, shapes_pending=True))

    def shapes_job(self) -> DerivedJob | None:
        """The pending shapes as a job for another thread (None when none are pending): it updates a copy of
        the current inference, so readers of :attr:`shapes_so_far` never see one half updated; hand its value
        to :meth:`accept_shapes`."""
        if self._pending is None:
            return None
        twin, changed = self._shapes.copy(), set(self._pending.changed)
        return DerivedJob(SHAPES_KEY, self.graph, self.graph.revision, lambda: (twin, twin.update(changed)))

    def accept_shapes(self, job: DerivedJob, value: tuple[ShapeInference, list[str]]) -> None:
        """Take the shapes :meth:`shapes_job` computed, if no edit came since, and tell the listeners."""
        if self._pending is not None and self.is_current(job):
            self._shapes, recomputed = value
            self._unannounced = self._pending.change(recomputed)
            self._pending = self._preview = None
        self.announce_shapes()

    def announce_shapes(self) -> None:
        """Tell the listeners of the edits whose shapes were completed (by :meth:`accept_shapes` or a read of
        :attr:`shapes`) and not yet announced."""
        change, self._unannounced = self._unannounced, None
        if change is not None:
            self._notify(change)

    def replace(self, graph: Graph, path: str | os.PathLike[str] | None = None) -> None:
        self.graph = graph
        self.path = Path(path) if path else None
        self._pending = self._unannounced = self._preview = None
        self._shapes = ShapeInference(graph).run()
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
