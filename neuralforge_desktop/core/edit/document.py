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

    def cost(self, batch_size: int = 1, device: str = "cpu") -> Any:
        from neuralforge_desktop.core.analysis.calibration import calibration_token
        from neuralforge_desktop.core.analysis.cost import estimate_cost

        calibrated = calibration_token() if device == "cpu" else ""  # a new calibration changes CPU estimates
        return self.derived(f"cost:{batch_size}:{device}:{calibrated}",
                            lambda: estimate_cost(self.graph, self.shapes, batch_size=batch_size, device=device))

    def lint(self) -> list[Any]:
        from neuralforge_desktop.core.analysis.lint import lint

        return self.derived("lint", lambda: lint(self.graph, self.shapes) if self.shapes.ok else [])

    def code(self, framework: str = "pytorch") -> Any:
        """Generated source for ``framework`` ("pytorch" or "keras"): a ``GeneratedCode``, or the ``PlanError``
        (a ``KerasUnsupportedError`` for a layer without a Keras form) explaining why there is none."""
        from neuralforge_desktop.core.codegen.plan import PlanError

        def compute() -> Any:
            try:
                if framework == "keras":
                    from neuralforge_desktop.core.codegen.keras import generate_keras

                    return generate_keras(self.graph, self.shapes)
                from neuralforge_desktop.core.codegen.pytorch import generate_pytorch

                return generate_pytorch(self.graph, self.shapes)
            except PlanError as exc:
                return exc

        if framework not in ("pytorch", "keras"):
            raise ValueError(f"unknown framework {framework!r}: pytorch or keras")
        return self.derived("code" if framework == "pytorch" else f"code:{framework}", compute)


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
