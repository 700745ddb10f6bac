"""What every item of one scene shares: the theme's pens and fonts plus the view switches that change how nodes
look, and the grid the canvas snaps to."""

from __future__ import annotations

from dataclasses import dataclass, field

from neuralforge_desktop.ui.theme import CanvasTheme

GRID = 20.0  # snap and minor grid spacing, scene pixels (every fifth line is drawn stronger)


@dataclass
class Style:
    """Shared by every item of one scene: the theme plus the view switches that change how nodes look."""

    theme: CanvasTheme
    concept: bool = False
    snap: bool = False
    exporting: bool = False  # full detail, no selection, no hover while rendering to a file
    far: bool = False  # zoomed far out: hairline wires, no antialiasing
    syncing: bool = False  # positions are being set from the document: no snapping, no move edits
    expanded: set[str] = field(default_factory=set)  # paths of blocks whose body is shown inline
