"""The Review Queue (Team ▸ Review Queue…): pending review requests on model versions, oldest first, with
Approve and Reject, and the selected version's comments beside them. Approving records a registry approval
(:func:`neuralforge_desktop.core.team.reviews.decide`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.team.comments import relative_time
from neuralforge_desktop.core.team.reviews import ReviewRequest
from neuralforge_desktop.ui.comments.thread_panel import CommentThreadPanel

COLUMNS = ("#", "Version", "Asked by", "Reviewer", "Asked", "Note")


class ReviewQueueView(QWidget):
    work_done = Signal(str)

    def __init__(self, store_path: str | os.PathLike[str] | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from neuralforge_desktop.core.team.identity import current_user

        self.setObjectName("review_queue_view")
        self.setWindowTitle("Review Queue")
        self.store_path = Path(store_path) if store_path is not None else None
        self.user = current_user()
        self.requests: list[ReviewRequest] = []

        self.only_mine = QCheckBox(f"Only requests for me ({self.user})")
        self.only_mine.toggled.connect(lambda _on: self.refresh())
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("review_table")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._selected)
        self.approve_button = QPushButton("Approve…")
        self.approve_button.setObjectName("review_approve")
        self.approve_button.setToolTip("Approve the version: the registry records your approval")
        self.approve_button.clicked.connect(lambda: self.approve())
        self.reject_button = QPushButton("Reject…")
        self.reject_button.setObjectName("review_reject")
        self.reject_button.setToolTip("Reject the request, saying why")
        self.reject_button.clicked.connect(lambda: self.reject())
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        self.status = QLabel()
        self.status.setObjectName("review_status")
        self.status.setWordWrap(True)
        self.comments = CommentThreadPanel(self.store_path)

        buttons = QHBoxLayout()
        for widget in (self.approve_button, self.reject_button, refresh):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(QLabel("<b>Pending review requests</b>, oldest first"))
        column.addWidget(self.only_mine)
        column.addWidget(self.table, 1)
        column.addLayout(buttons)
        column.addWidget(self.status)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self.comments)
        splitter.setSizes([640, 420])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self.refresh()

    def _store(self) -> Any:
        from neuralforge_desktop.core.store.sqlite_store import Store

        return Store(self.store_path)

    def refresh(self) -> None:
        from neuralforge_desktop.core.team.reviews import review_queue

        keep = self.selected()
        with self._store() as store:
            self.requests = review_queue(store, self.user if self.only_mine.isChecked() else None)
        self.table.setRowCount(len(self.requests))
        for row, request in enumerate(self.requests):
            cells = (str(request.id), request.ref, request.requested_by, request.reviewer,
                     relative_time(request.created), request.note)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, request.id)
                self.table.setItem(row, column, item)
        ids = [r.id for r in self.requests]
        if keep is not None and keep.id in ids:
            self.table.selectRow(ids.index(keep.id))
        elif ids:
            self.table.selectRow(0)
        self._selected()

    def selected(self) -> ReviewRequest | None:
        if not hasattr(self, "table"):
            return None
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.requests):
            return None
        return self.requests[rows[0].row()]

    def _selected(self) -> None:
        request = self.selected()
        mine = request is not None and request.requested_by == self.user
        self.approve_button.setEnabled(request is not None and not mine)
        self.approve_button.setToolTip("You asked for this review: someone else approves it" if mine else
                                       "Approve the version: the registry records your approval")
        self.reject_button.setEnabled(request is not None)
        if request is None:
            self.comments.show_target(None, None, title="Comments on the selected version")
        else:
            self.comments.show_target("model_version", request.ref, title=f"{request.ref}: comments")

    def approve(self, note: str | None = None) -> ReviewRequest | None:
        request = self.selected()
        if request is None:
            return None
        if note is None:
            note, ok = QInputDialog.getText(self, "Approve", f"Approve {request.ref}; note (optional):")
            if not ok:
                return None
        return self._decide(request, True, note)

    def reject(self, note: str | None = None) -> ReviewRequest | None:
        request = self.selected()
        if request is None:
            return None
        if note is None:
            note, ok = QInputDialog.getText(self, "Reject", f"Reject {request.ref}; why?")
            if not ok:
                return None
        return self._decide(request, False, note)

    def _decide(self, request: ReviewRequest, approve: bool, note: str) -> ReviewRequest | None:
        from neuralforge_desktop.core.team.reviews import decide

        try:
            with self._store() as store:
                decided = decide(store, request.id, approve, note)
        except UserError as exc:
            self._say(str(exc), ok=False)
            return None
        self.refresh()
        extra = "; the registry records the approval" if approve else ""
        self._say(f"{decided.status} review request {decided.id} ({decided.ref}){extra}")
        return decided

    def _say(self, text: str, ok: bool = True) -> None:
        self.status.setStyleSheet("" if ok else "color: #c62828;")
        self.status.setText(text)
        self.work_done.emit(text)


def open_review_queue_view(window: Any) -> ReviewQueueView:
    """The Review Queue of ``window``'s store in its own window (Team ▸ Review Queue…)."""
    view = ReviewQueueView(window.store_path, window)
    view.setWindowFlag(Qt.WindowType.Window)
    view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    view.resize(1100, 640)
    view.show()
    window.review_queue_view = view
    return view
