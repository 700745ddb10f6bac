"""The Qt undo stack over the core's invertible edits: one labelled command per user intent; consecutive
moves of the same nodes merge into one step."""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand, QUndoStack

from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.edit.edits import Edit, MoveNodes

_MOVE_ID = 1001


class EditCommand(QUndoCommand):
    def __init__(self, stack: EditStack, edit: Edit) -> None:
        super().__init__(edit.label)
        self._stack = stack
        self.edit = edit
        self.inverse: Edit | None = None
        self._first = True

    def redo(self) -> None:
        if self._first and self._stack.pending_inverse is not None:
            # push() already applied the edit (to surface errors before the command exists)
            self.inverse, self._stack.pending_inverse = self._stack.pending_inverse, None
        else:
            self.inverse = self._stack.document.apply(self.edit)
        self._first = False

    def undo(self) -> None:
        assert self.inverse is not None
        self.edit = self._stack.document.apply(self.inverse)

    def id(self) -> int:  # Qt names this method
        return _MOVE_ID if isinstance(self.edit, MoveNodes) else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # Qt names this method
        if not isinstance(other, EditCommand) or not isinstance(self.edit, MoveNodes):
            return False
        if not isinstance(other.edit, MoveNodes) or set(other.edit.positions) != set(self.edit.positions):
            return False
        # keep our inverse (the positions before the first move), take the latest positions
        self.edit = other.edit
        return True


class EditStack(QUndoStack):
    """Apply edits through here so every change is undoable."""

    def __init__(self, document_getter, parent=None) -> None:
        super().__init__(parent)
        self._get_document = document_getter
        self.pending_inverse: Edit | None = None

    @property
    def document(self) -> Document:
        return self._get_document()

    def push_edit(self, edit: Edit) -> None:
        """Apply ``edit`` now and record it; raises (and records nothing) if the edit is refused."""
        self.pending_inverse = self.document.apply(edit)
        self.push(EditCommand(self, edit))
