"""The inspector: everything about the selected node, editable where it makes sense.

The form is generated from the layer's ``ParamSpec`` schema. Every change goes through ``EditStack.push_edit``
(one undoable step per change). The form is rebuilt only when a different node (or a node of another type)
is selected; edits to the shown node update the widgets in place and skip the one the user is typing in, so
focus and half-typed text survive the document's change notifications.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.analysis.rules import node_advice
from neuralforge_desktop.core.analysis.shapes import NodeShapes
from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.catalog.spec import LayerDef, ParamSpec, no_params
from neuralforge_desktop.core.diagnostics import Diagnostic, Severity
from neuralforge_desktop.core.edit.document import DocumentChange
from neuralforge_desktop.core.edit.edits import (
    Edit,
    Macro,
    RenameNode,
    SetLrMult,
    SetNodeText,
    SetParam,
    SetTrainable,
)
from neuralforge_desktop.core.ir.graph import BLOCK, INPUT, OUTPUT, GraphError, Node
from neuralforge_desktop.core.ir.types import TensorSpec, format_shape
from neuralforge_desktop.ui.bridge import DocumentBridge, SelectionModel
from neuralforge_desktop.ui.panels.explanation import Explanation
from neuralforge_desktop.ui.panels.param_widgets import ParamField, make_field, same_value
from neuralforge_desktop.ui.panels.sections import NotesEdit, Section, form_label, make_form
from neuralforge_desktop.ui.theme import DEFAULT_THEME, roles, severity_icon
from neuralforge_desktop.ui.undo import EditStack


def _spec_text(spec: TensorSpec) -> str:
    return f"{format_shape(spec.shape)}  ·  {spec.dtype.value}"


def _edit_touches(edit: Edit | None, node_id: str) -> bool:
    """Text and trainable edits report no shape changes; still refresh when they hit the shown node."""
    if isinstance(edit, Macro):
        return any(_edit_touches(e, node_id) for e in edit.edits)
    return getattr(edit, "node_id", None) == node_id


class Inspector(QWidget):
    """Properties of ``selection.current``: identity, parameters, shapes, problems and hints."""

    def __init__(self, bridge: DocumentBridge, selection: SelectionModel, edits: EditStack,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._selection = selection
        self._edits = edits
        self._theme = DEFAULT_THEME
        self._key: tuple[int, str, tuple[str, ...]] | None = None  # node object, type, param names
        self._renaming = False
        self.fields: dict[str, ParamField] = {}
        self._messages: list[tuple[str, str]] = []
        self._more: Section | None = None
        self._content: QWidget | None = None
        self.explanation: Explanation | None = None

        self._scroll = QScrollArea(self)
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._scroll)

        bridge.changed.connect(self._on_changed)
        bridge.replaced.connect(self.refresh)
        selection.changed.connect(self.refresh)
        self.refresh()

    # -- public ------------------------------------------------------------------------------------------
    def node_id(self) -> str | None:
        """Id of the node shown, or None when nothing (or a vanished node) is selected."""
        nid = self._selection.current
        return nid if nid is not None and nid in self._bridge.document.graph.nodes else None

    def refresh(self) -> None:
        """Show the current selection: rebuild for another node, otherwise update the widgets in place."""
        node = self._node()
        if node is None:
            self._key = None
            self._show_placeholder()
            return
        layer = catalog().find(node.type)
        key = (id(node), node.type, tuple(p.name for p in layer.params) if layer else ())
        if key != self._key:
            self._key = key
            self._build(node, layer)
        self._update(node, layer)

    def set_theme(self, name: str) -> None:
        self._theme = name
        self._key = None  # headings and messages are styled at build time
        self.refresh()

    def messages(self) -> list[tuple[str, str]]:
        """(severity, text) of the problems and hints listed for the node."""
        return list(self._messages)

    # -- reacting ----------------------------------------------------------------------------------------
    def _on_changed(self, change: DocumentChange) -> None:
        if self._renaming:
            return  # the selection follows the new id right after; refresh then
        edit = change.edit
        if isinstance(edit, RenameNode) and edit.old in self._selection.ids:
            # Undo/redo of a rename: keep showing the same node under its new id.
            self._selection.set([edit.new if i == edit.old else i for i in self._selection.ids])
            return
        nid = self._selection.current
        if nid is None:
            return
        if change.structural or nid in change.changed or _edit_touches(change.edit, nid):
            self.refresh()

    def _node(self) -> Node | None:
        nid = self.node_id()
        return None if nid is None else self._bridge.document.graph.nodes[nid]

    def _push(self, edit: Edit) -> str | None:
        """Apply through the undo stack; returns the refusal message instead of raising into Qt."""
        try:
            self._edits.push_edit(edit)
        except (GraphError, ValueError, KeyError) as exc:
            return str(exc)
        return None

    # -- building ----------------------------------------------------------------------------------------
    def _replace_content(self, widget: QWidget) -> None:
        old = self._scroll.takeWidget()
        if old is not None:
            old.deleteLater()
        self._content = widget
        self._scroll.setWidget(widget)
        widget.show()

    def _show_placeholder(self) -> None:
        many = len(self._selection.ids)
        text = "Select a node on the canvas to see and edit its settings." if many == 0 else \
            "The selected node no longer exists."
        label = QLabel(text)
        label.setWordWrap(True)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setStyleSheet(f"color: {roles(self._theme).muted}; padding: 24px;")
        self.fields = {}
        self._messages = []
        self.explanation = None
        self._replace_content(label)

    def _build(self, node: Node, layer: LayerDef | None) -> None:
        c = roles(self._theme)
        content = QWidget()
        self.fields = {}
        self._messages = []
        outer = QVBoxLayout(content)
        outer.setContentsMargins(10, 8, 10, 10)
        outer.setSpacing(10)

        # Header: what this layer is, in plain words first.
        title = QLabel(layer.display_name if layer else node.type, content)
        title.setStyleSheet("font-size: 15px; font-weight: 600;")
        self._selection_note = QLabel(content)
        self._selection_note.setStyleSheet(f"color: {c.muted};")
        sub = QLabel(" · ".join(filter(None, [layer.category if layer else "unknown type",
                                              f"plugin {layer.plugin}" if layer and layer.plugin else ""])))
        sub.setStyleSheet(f"color: {c.muted};")
        head = QHBoxLayout()
        head.addWidget(title)
        head.addStretch(1)
        head.addWidget(self._selection_note)
        outer.addLayout(head)
        outer.addWidget(sub)
        # What the layer computes: plain words, the formula, the help and its shapes at this node.
        self.explanation = Explanation(layer, self._theme, content) if layer is not None else None
        if self.explanation is not None:
            outer.addWidget(self.explanation)

        self._more = None
        outer.addWidget(self._build_identity(node, layer))
        if layer is not None and layer.params:
            outer.addWidget(self._build_params(node, layer))
        self._shapes_section = Section("Shapes", self._theme, parent=content)
        self._shapes_form = make_form()
        self._shapes_section.body_layout.addLayout(self._shapes_form)
        outer.addWidget(self._shapes_section)
        self._body_section: Section | None = None
        if node.type == BLOCK:
            self._body_section = Section("Block body", self._theme, parent=content)
            self._body_label = QLabel(content)
            self._body_label.setWordWrap(True)
            self._body_section.body_layout.addWidget(self._body_label)
            outer.addWidget(self._body_section)
        self._problems_section = Section("Problems & hints", self._theme, parent=content)
        self._problem_rows = QVBoxLayout()
        self._problem_rows.setSpacing(6)
        self._problems_section.body_layout.addLayout(self._problem_rows)
        outer.addWidget(self._problems_section)
        outer.addStretch(1)
        self._replace_content(content)  # built while parentless: showing it shows every child at once

    def _build_identity(self, node: Node, layer: LayerDef | None) -> QWidget:
        section = Section("Node", self._theme)
        form = make_form()
        self._id_edit = QLineEdit(section)
        self._id_edit.setToolTip("The node's id: the attribute name in generated code (letters, digits, _).")
        self._id_edit.editingFinished.connect(self._rename)
        self._id_error = QLabel(section)
        self._id_error.setStyleSheet(f"color: {roles(self._theme).error}; font-size: 11px;")
        self._id_error.setWordWrap(True)
        self._id_error.hide()
        id_box = QVBoxLayout()
        id_box.setSpacing(2)
        id_box.addWidget(self._id_edit)
        id_box.addWidget(self._id_error)
        form.addRow(form_label("id"), id_box)
        self._label_edit = QLineEdit(section)
        self._label_edit.setPlaceholderText("optional display name")
        self._label_edit.editingFinished.connect(
            lambda: self._set_text("label", self._label_edit.text().strip()))
        form.addRow(form_label("label"), self._label_edit)
        self._notes_edit = NotesEdit(section)
        self._notes_edit.setPlaceholderText("notes for yourself or your team")
        self._notes_edit.setFixedHeight(54)
        self._notes_edit.editing_finished.connect(lambda: self._set_text("notes", self._notes_edit.toPlainText()))
        form.addRow(form_label("notes"), self._notes_edit)
        self._trainable = QCheckBox("trainable", section)
        self._trainable.setToolTip("Unticked: the weights are frozen (not updated in training).")
        self._trainable.toggled.connect(self._set_trainable)
        has_weights = layer is not None and (layer.param_count is not no_params or node.type == BLOCK)
        form.addRow(form_label(""), self._trainable)
        form.setRowVisible(self._trainable, has_weights and node.type not in (INPUT, OUTPUT))  # nothing to freeze
        self._lr_mult = QDoubleSpinBox(section)
        self._lr_mult.setRange(0.0, 1000.0)
        self._lr_mult.setDecimals(4)
        self._lr_mult.setSingleStep(0.1)
        self._lr_mult.setKeyboardTracking(False)  # one edit when the typing is done, not one per keystroke
        self._lr_mult.setToolTip("This layer trains at the run's learning rate times this (inside a block: times "
                                 "the block's too). 0 keeps its weights as they are.")
        self._lr_mult.valueChanged.connect(self._set_lr_mult)
        form.addRow(form_label("lr ×", self._lr_mult.toolTip()), self._lr_mult)
        form.setRowVisible(self._lr_mult, has_weights and node.type not in (INPUT, OUTPUT))
        section.body_layout.addLayout(form)
        return section

    def _build_params(self, node: Node, layer: LayerDef) -> QWidget:
        section = Section("Parameters", self._theme)
        basic = make_form()
        section.body_layout.addLayout(basic)
        advanced = [p for p in layer.params if p.advanced]
        more_form = make_form()
        for spec in layer.params:
            field = make_field(spec)
            field.set_theme(self._theme)
            field.committed.connect(lambda value, s=spec: self._set_param(s, value))
            label = form_label(spec.name, spec.help)
            label.setBuddy(field.editor)
            (more_form if spec.advanced else basic).addRow(label, field)
            self.fields[spec.name] = field
        if advanced:
            more = Section(f"More ({len(advanced)})", self._theme, collapsible=True, expanded=False)
            more.body_layout.addLayout(more_form)
            self._more = more
            section.body_layout.addWidget(more)
        return section

    # -- updating in place -------------------------------------------------------------------------------
    def _update(self, node: Node, layer: LayerDef | None) -> None:
        document = self._bridge.document
        result = document.shapes.results.get(node.id)
        many = len(self._selection.ids)
        self._selection_note.setText(f"{many} selected" if many > 1 else "")
        if not self._id_edit.hasFocus():
            self._id_edit.setText(node.id)
            self._id_error.hide()
        if not self._label_edit.hasFocus():
            self._label_edit.setText(node.label)
        if not self._notes_edit.hasFocus() and self._notes_edit.toPlainText() != node.notes:
            self._notes_edit.setPlainText(node.notes)
        self._trainable.blockSignals(True)
        self._trainable.setChecked(node.trainable)
        self._trainable.blockSignals(False)
        if not self._lr_mult.hasFocus():
            self._lr_mult.blockSignals(True)
            self._lr_mult.setValue(node.lr_mult)
            self._lr_mult.blockSignals(False)

        field_errors = {d.field: d.message for d in (result.diagnostics if result else []) if d.field}
        for name, field in self.fields.items():
            spec = layer.param_spec(name) if layer else None
            if spec is None:
                continue
            if not field.is_editing():
                field.set_value(node.params.get(name, spec.default))
            message = field_errors.get(name)
            # Strip the "Conv2d 'conv1' param 'x': " prefix: the field already says where.
            field.set_outside_error(message.split("': ", 1)[-1] if message else None)
        if self._more is not None and self._more_has_error():
            self._more.toggle.setChecked(True)  # never hide an error behind a collapsed section
        self._fill_shapes(node, result)
        if self.explanation is not None:
            self.explanation.set_shapes(result)
        if self._body_section is not None:
            self._body_label.setText(self._body_summary(node, result))
        self._fill_problems(node, layer, result)

    def _more_has_error(self) -> bool:
        more = self._more
        if more is None or more.toggle.isChecked():
            return False
        return any(f.error() for f in self.fields.values() if f.spec.advanced)

    def _fill_shapes(self, node: Node, result: NodeShapes | None) -> None:
        form = self._shapes_form
        while form.rowCount():
            form.removeRow(0)
        muted = roles(self._theme).muted
        rows: list[tuple[str, str]] = []
        if result is not None:
            rows += [(f"in  {port}", _spec_text(spec)) for port, spec in result.inputs.items()]
            rows += [(f"out {port}", _spec_text(spec)) for port, spec in result.outputs.items()]
            if not result.ok and not result.outputs:
                rows.append(("out", "unknown until the errors below are fixed"))
        if not rows:
            rows = [("", "none")]
        for name, text in rows:
            value = QLabel(text)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            unknown = text.startswith("unknown") or not name
            value.setStyleSheet(f"color: {muted};" if unknown else "font-family: monospace;")
            key = form_label(name)
            key.setStyleSheet(f"color: {muted}; font-family: monospace;")
            form.addRow(key, value)

    def _body_summary(self, node: Node, result: NodeShapes | None) -> str:
        body = node.body
        if body is None:
            return "empty body"
        layers = [n for n in body if n.type not in (INPUT, OUTPUT)]
        counts = Counter(n.type for n in layers)
        nested = sum(1 for _, n in body.walk() if n.type not in (INPUT, OUTPUT, BLOCK))
        kinds = ", ".join(f"{count}× {kind}" if count > 1 else kind for kind, count in counts.most_common())
        ins = ", ".join(n.id for n in body.input_nodes) or "none"
        outs = ", ".join(n.id for n in body.output_nodes) or "none"
        repeat = node.repeat
        lines = [f"Applied {repeat}× in sequence (each copy has its own weights)." if repeat > 1
                 else "Applied once.",
                 f"{len(layers)} node{'s' if len(layers) != 1 else ''}: {kinds or 'none'}",
                 f"{nested} layers in total, nested blocks included" if nested != len(layers) else "",
                 f"inputs: {ins}  ·  outputs: {outs}"]
        return "\n".join(line for line in lines if line)

    def _fill_problems(self, node: Node, layer: LayerDef | None, result: NodeShapes | None) -> None:
        rows = self._problem_rows
        while rows.count():
            item = rows.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        document = self._bridge.document
        diagnostics: list[Diagnostic] = list(result.diagnostics) if result else []
        # This node's advice runs even while the rest of the graph has errors (lint then reports nothing);
        # lint adds what lies beyond the node: its block body, a body without an Output.
        diagnostics += node_advice(document.graph, node, document.shapes.catalog, result)
        prefix = node.id + "/"
        diagnostics += [d for d in document.lint() if d.node == node.id or d.node.startswith(prefix)]
        rank = {Severity.error: 0, Severity.warning: 1, Severity.hint: 2}
        entries = [(d.severity.value, d.message) for d in sorted(dict.fromkeys(diagnostics),
                                                                 key=lambda d: rank[d.severity])]
        self._messages = entries
        c = roles(self._theme)
        if not entries:
            ok = QLabel("No problems found.")
            ok.setStyleSheet(f"color: {c.ok};")
            rows.addWidget(ok)
            return
        for severity, text in entries:
            rows.addWidget(self._message_row(severity, text))

    def _message_row(self, severity: str, text: str) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        icon = QLabel(row)
        icon.setPixmap(severity_icon(severity, self._theme).pixmap(12, 12))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        icon.setContentsMargins(0, 3, 0, 0)
        label = QLabel(text, row)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setToolTip({"error": "Error: the model cannot be built until this is fixed",
                          "warning": "Warning: legal, but probably not what you meant",
                          "hint": "Hint: a best-practice suggestion"}[severity])
        layout.addWidget(icon)
        layout.addWidget(label, 1)
        return row

    # -- edits -------------------------------------------------------------------------------------------
    def _set_param(self, spec: ParamSpec, value: Any) -> None:
        node = self._node()
        if node is None:
            return
        if same_value(spec, node.params.get(spec.name, spec.default), value):
            return  # nothing changes: no empty undo step
        problem = self._push(SetParam(node.id, spec.name, value, label=f"Set {node.id}.{spec.name}"))
        if problem is not None:
            self.fields[spec.name].set_outside_error(problem)

    def _set_text(self, field_name: str, value: str) -> None:
        node = self._node()
        if node is None or getattr(node, field_name) == value:
            return
        self._push(SetNodeText(node.id, field_name, value, label=f"Edit {field_name} of {node.id}"))

    def _set_trainable(self, on: bool) -> None:
        node = self._node()
        if node is not None and node.trainable != on:
            self._push(SetTrainable(node.id, on, label=("Unfreeze " if on else "Freeze ") + node.id))

    def _set_lr_mult(self, value: float) -> None:
        node = self._node()
        if node is not None and node.lr_mult != value:
            self._push(SetLrMult(node.id, value, label=f"Set learning-rate multiplier of {node.id}"))

    def _rename(self) -> None:
        node = self._node()
        if node is None:
            return
        new = self._id_edit.text().strip()
        problem: str | None = None
        if new == node.id:
            problem = None
        elif not new.isidentifier():
            problem = "use letters, digits and _ only, not starting with a digit"
        elif new in self._bridge.document.graph.nodes:
            problem = f"a node named '{new}' already exists"
        else:
            old = node.id
            self._renaming = True
            try:
                problem = self._push(RenameNode(old, new, label=f"Rename {old} to {new}"))
            finally:
                self._renaming = False
            if problem is None:
                self._selection.set([new if i == old else i for i in self._selection.ids])
                self.refresh()
        self._id_error.setText(problem or "")
        self._id_error.setVisible(problem is not None)
        self._id_edit.setStyleSheet(
            f"QLineEdit {{ border: 1px solid {roles(self._theme).error}; border-radius: 3px; padding: 2px; }}"
            if problem else "")

