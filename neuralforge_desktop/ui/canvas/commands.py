"""Editing commands of the canvas: delete, clipboard, grouping, opening blocks, layout, backdrops.

A mixin of :class:`GraphView`; each command turns the current selection into one edit on the undo stack,
or says in the status line why it cannot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF

from neuralforge_desktop.core.edit import canvas_edits
from neuralforge_desktop.core.edit.edits import Disconnect, Edit, Macro, SetMeta, remove_nodes
from neuralforge_desktop.core.edit.grouping import UngroupBlock
from neuralforge_desktop.core.ir.graph import BLOCK, GraphError
from neuralforge_desktop.core.ir.naming import unique_id
from neuralforge_desktop.ui.canvas.backdrop_item import TITLE_H, BackdropItem, backdrop_record
from neuralforge_desktop.ui.canvas.scene import BACKDROPS
from neuralforge_desktop.ui.theme import BACKDROP_COLORS

if TYPE_CHECKING:
    from neuralforge_desktop.ui.canvas.view import GraphView

PASTE_OFFSET = 40.0


class CommandsMixin:
    def delete_selection(self: GraphView) -> None:
        graph = self.graph_scene.graph
        ids = self.selected_ids()
        edits: list[Edit] = list(remove_nodes(graph, ids).edits) if ids else []
        gone = set(ids)
        for edge in [e for e in self.graph_scene.edges.built.values() if e.marked]:
            if edge.edge.dst not in gone and edge.edge.src not in gone:
                edits.append(Disconnect(edge.edge.dst, edge.edge.dst_port))
        backdrops = {item.backdrop_id for item in self.graph_scene.selectedItems() if isinstance(item, BackdropItem)}
        if backdrops:
            records = [r for r in self.graph_scene.backdrop_records() if str(r["id"]) not in backdrops]
            edits.append(SetMeta(BACKDROPS, records, label="Delete backdrop"))
        if not edits:
            self.status_message.emit("nothing selected to delete")
            return
        self.push(Macro(tuple(edits), label="Delete"))

    def copy_selection(self: GraphView) -> str:
        ids = self.selected_ids()
        if not ids:
            self.status_message.emit("select the layers to copy")
            return ""
        return canvas_edits.copy_text(self.graph_scene.graph, ids)

    def paste(self: GraphView, text: str) -> list[str]:
        """Add the layers in ``text`` (from :meth:`copy_selection`) under fresh ids, offset from the
        originals; one undo step. Returns the new ids."""
        if not text.strip():
            self.status_message.emit("nothing to paste")
            return []
        count = self._paste[1] + 1 if self._paste[0] == text else 1
        try:
            edit, ids = canvas_edits.paste_edit(self.graph_scene.graph, text, (PASTE_OFFSET * count,) * 2)
        except GraphError as exc:
            self.status_message.emit(str(exc))
            return []
        if not self.push(edit):
            return []
        self._paste = (text, count)
        self._select(ids)
        return ids

    def duplicate_selection(self: GraphView) -> list[str]:
        text = self.copy_selection()
        return self.paste(text) if text else []

    def group_selection(self: GraphView) -> str:
        """Group the selected layers into a new block ("block", "block_1" …); returns its id or ""."""
        graph = self.graph_scene.graph
        try:
            edit = canvas_edits.group_edit(graph, self.bridge.document.shapes, self.selected_ids())
        except GraphError as exc:
            self.status_message.emit(str(exc))
            return ""
        if not self.push(edit):
            return ""
        self._select([edit.block_id])
        return edit.block_id

    def expand_selected_block(self: GraphView) -> list[str]:
        """Inline the selected block's body into the graph (one undo step); returns the inlined ids."""
        graph = self.graph_scene.graph
        blocks = [nid for nid in self.selected_ids() if graph.nodes[nid].type == BLOCK]
        if not blocks:
            self.status_message.emit("select a block to expand")
            return []
        block = graph.nodes[blocks[-1]]
        if block.repeat > 1:
            self.status_message.emit(
                f"'{block.id}' repeats its body {block.repeat}× (each copy has its own weights), so it cannot be "
                "inlined as one copy; set repeat to 1 first, or use Show body to look inside")
            return []
        before = set(graph.nodes)
        if not self.push(UngroupBlock(block.id)):
            return []
        added = [nid for nid in self.graph_scene.graph.nodes if nid not in before]
        self._select(added)
        return added

    def toggle_block_collapsed(self: GraphView, node_id: str) -> bool:
        """Show a block's body inline, read-only (or fold it back); view state only, never an edit.
        ``node_id`` may be a path ("layer1/blocks") to open a block inside an opened block."""
        graph = self.graph_scene.graph
        node = None
        for part in node_id.split("/"):
            node = graph.nodes.get(part) if graph is not None else None
            graph = node.body if node is not None else None
        if node is None or node.type != BLOCK:
            self.status_message.emit(f"'{node_id}' is not a block")
            return False
        expanded = self.graph_scene.toggle_expanded(node_id)
        self.status_message.emit(f"showing the body of '{node_id}' (read-only; double-click the frame to fold it)"
                                 if expanded else f"folded '{node_id}'")
        return expanded

    def auto_layout(self: GraphView, selection_only: bool = False) -> None:
        """Lay out the graph (or the selection) in the canvas's layout direction, as one undo step; the whole
        graph is then fitted to the canvas again, since its shape changed."""
        ids = self.selected_ids() if selection_only else None
        if selection_only and not ids:
            self.status_message.emit("select the nodes to lay out")
            return
        edit = canvas_edits.layout_edit(self.graph_scene.graph, ids, self.graph_scene.node_sizes(),
                                        self.layout_direction, self.layout_area())
        if edit is not None:
            self.push(edit)
        if not selection_only:
            self.fit_all()

    def add_backdrop(self: GraphView, title: str = "Group", color: str | None = None) -> str:
        """A titled backdrop around the selection (or mid-view); returns its id."""
        rect = QRectF()
        for nid in self.selected_ids():
            item = self.graph_scene.nodes[nid]
            if item.look is not None:
                rect = rect.united(QRectF(item.x(), item.y(), item.look.width, item.look.height))
        if rect.isEmpty():
            center = self.mapToScene(self.viewport().rect().center())
            rect = QRectF(center.x() - 200, center.y() - 120, 400, 240)
        else:
            rect = rect.adjusted(-30, -30 - TITLE_H, 30, 30)
        records = self.graph_scene.backdrop_records()
        backdrop_id = unique_id("backdrop", {str(r["id"]) for r in records})
        color = color or BACKDROP_COLORS[len(records) % len(BACKDROP_COLORS)]
        record = backdrop_record(backdrop_id, title, color, rect)
        if not self.push(SetMeta(BACKDROPS, [*records, record], label="Add backdrop")):
            return ""
        return backdrop_id
