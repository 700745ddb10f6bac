"""The comment-thread panel: a target's comments as threads (replies indented under what they answer), each
with its author, how long ago, a Reply button and, on a thread's first comment, Resolve / Reopen; ``@name``
mentions highlighted; a box at the bottom to comment or reply.

Every read and write is one short store transaction on the UI thread (a comment is a few hundred bytes), through
:mod:`neuralforge_desktop.core.team.comments`.
"""

from __future__ import annotations

import hashlib
import html
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.team.comments import Comment, mention_spans, relative_time, threads

INDENT = 22  # pixels per reply level
_AVATAR_COLORS = ("#5c6bc0", "#26a69a", "#ef6c00", "#8e24aa", "#43a047", "#d81b60", "#1e88e5", "#6d4c41")
MENTION_STYLE = "color: #2f8ff0; background-color: rgba(30, 136, 229, 0.16); font-weight: 600;"


def avatar_color(name: str) -> str:
    """A colour per user, the same on every machine (not Python's salted hash)."""
    return _AVATAR_COLORS[hashlib.sha256(name.encode()).digest()[0] % len(_AVATAR_COLORS)]


def body_html(body: str) -> str:
    """The body as rich text: escaped, line breaks kept, each ``@name`` highlighted."""
    parts, last = [], 0
    for start, end in mention_spans(body):
        parts.append(html.escape(body[last:start]))
        parts.append(f'<span style="{MENTION_STYLE}">{html.escape(body[start:end])}</span>')
        last = end
    parts.append(html.escape(body[last:]))
    return "".join(parts).replace("\n", "<br>")


class CommentCard(QFrame):
    """One comment: avatar, author, time, body, and its buttons."""

    def __init__(self, comment: Comment, depth: int, panel: CommentThreadPanel) -> None:
        super().__init__()
        self.comment = comment
        self.setObjectName("comment_card")
        self.setProperty("comment_id", comment.id)
        faded = "color: palette(mid);" if comment.resolved else ""
        self.setStyleSheet("#comment_card { background: palette(base); border: 1px solid palette(midlight); "
                           "border-radius: 6px; }")
        avatar = QLabel(comment.author[:1].upper())
        avatar.setFixedSize(24, 24)
        avatar.setAlignment(Qt.AlignmentFlag.AlignCenter)
        avatar.setStyleSheet(f"background: {avatar_color(comment.author)}; color: white; border-radius: 12px; "
                             "font-weight: 700;")
        pinned = f" · on <i>{html.escape(comment.anchor)}</i>" if comment.anchor and depth == 0 and \
            panel.anchor is None and panel.target_kind == "graph" else ""
        head = QLabel(f"<b>{html.escape(comment.author)}</b> <span style='color: gray;'>· "
                      f"{relative_time(comment.created)}{pinned}</span>")
        head.setObjectName("comment_head")
        head.setToolTip(f"comment #{comment.id}")
        self.body = QLabel(body_html(comment.body))
        self.body.setObjectName("comment_body")
        self.body.setTextFormat(Qt.TextFormat.RichText)
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        if faded:
            self.body.setStyleSheet(faded)
        self.reply_button = QToolButton()
        self.reply_button.setText("Reply")
        self.reply_button.setObjectName("comment_reply")
        self.reply_button.setAutoRaise(True)
        self.reply_button.clicked.connect(lambda: panel.reply_to(comment.id))
        top = QHBoxLayout()
        top.setSpacing(8)
        top.addWidget(avatar)
        top.addWidget(head, 1)
        top.addWidget(self.reply_button)
        self.resolve_button: QToolButton | None = None
        if depth == 0:
            button = QToolButton()
            button.setObjectName("comment_resolve")
            button.setAutoRaise(True)
            button.setText("Reopen" if comment.resolved else "Resolve")
            button.setToolTip("Open the thread again" if comment.resolved else "Mark the thread as resolved")
            button.clicked.connect(lambda: panel.resolve(comment.id, not comment.resolved))
            top.addWidget(button)
            self.resolve_button = button
        column = QVBoxLayout(self)
        column.setContentsMargins(10, 8, 10, 8)
        column.setSpacing(4)
        column.addLayout(top)
        column.addWidget(self.body)
        if comment.resolved and depth == 0:
            note = QLabel(f"✓ Resolved by {html.escape(comment.resolved_by or '?')}")
            note.setStyleSheet("color: #2e7d32;")
            column.addWidget(note)


class CommentThreadPanel(QWidget):
    """The comments of one target (optionally of one graph node). ``changed`` fires after every add or
    resolve, with the target, so badges and counts elsewhere can follow."""

    changed = Signal(str, str)  # target kind, target id

    def __init__(self, store_path: str | os.PathLike[str] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("comment_thread_panel")
        self.store_path = Path(store_path) if store_path is not None else None
        self.target_kind: str | None = None
        self.target_id: str | None = None
        self.anchor: str | None = None
        self.graph: Any = None
        self.comments: list[Comment] = []
        self.cards: list[CommentCard] = []
        self._rows: list[QWidget] = []
        self.replying_to: int | None = None

        self.title = QLabel("Comments")
        self.title.setObjectName("comment_title")
        self.title.setWordWrap(True)
        self.show_resolved = QCheckBox("Show resolved")
        self.show_resolved.setChecked(True)
        self.show_resolved.toggled.connect(lambda _on: self.refresh())
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.show_resolved)

        self.list_host = QWidget()
        self.list_layout = QVBoxLayout(self.list_host)
        self.list_layout.setContentsMargins(0, 0, 4, 0)
        self.list_layout.setSpacing(6)
        self.list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.list_host)
        self.scroll_area = scroll

        self.reply_label = QLabel()
        self.reply_label.setObjectName("comment_replying")
        self.cancel_reply = QToolButton()
        self.cancel_reply.setText("✕")
        self.cancel_reply.setToolTip("Comment on its own instead of replying")
        self.cancel_reply.setAutoRaise(True)
        self.cancel_reply.clicked.connect(lambda: self.reply_to(None))
        reply_row = QHBoxLayout()
        reply_row.addWidget(self.reply_label, 1)
        reply_row.addWidget(self.cancel_reply)
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("comment_editor")
        self.editor.setPlaceholderText("Write a comment… @name mentions a teammate (Ctrl+Enter sends)")
        self.editor.setFixedHeight(self.fontMetrics().lineSpacing() * 3 + 12)  # three lines
        self.send_button = QPushButton("Comment")
        self.send_button.setObjectName("comment_send")
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(lambda: self.send())
        send_key = QShortcut(QKeySequence("Ctrl+Return"), self.editor)
        send_key.setContext(Qt.ShortcutContext.WidgetShortcut)  # only while writing, not window-wide
        send_key.activated.connect(lambda: self.send())
        self.status = QLabel()
        self.status.setObjectName("comment_status")
        self.status.setWordWrap(True)
        send_row = QHBoxLayout()
        send_row.addWidget(self.status, 1)
        send_row.addWidget(self.send_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(header)
        layout.addWidget(scroll, 1)
        layout.addLayout(reply_row)
        layout.addWidget(self.editor)
        layout.addLayout(send_row)
        self.reply_to(None)
        self._enable()

    # -- what is shown ---------------------------------------------------------------------------------------
    def show_target(self, kind: str | None, target_id: str | None, *, anchor: str | None = None,
                    title: str | None = None, graph: Any = None) -> None:
        """Show the comments on ``kind``/``target_id`` (None: nothing chosen), only those pinned to ``anchor``
        when given; ``graph``: the graph a graph target belongs to (its nodes are checked)."""
        self.target_kind, self.target_id, self.anchor, self.graph = kind, target_id, anchor, graph
        self.replying_to = None
        self.title.setText(f"<b>{html.escape(title)}</b>" if title else "<b>Comments</b>")
        self.reply_to(None)
        self.refresh()

    def show_run(self, run: Any) -> None:
        """The comments on ``run`` (a store Run; None: nothing selected)."""
        self.show_target("run", run.id if run is not None else None,
                         title=f"Run {run.name} ({run.id})" if run is not None else "Comments on the selected run")

    def show_version(self, version: Any) -> None:
        """The comments on a registered model version (None: nothing selected)."""
        self.show_target("model_version", version.ref if version is not None else None,
                         title=version.ref if version is not None else "Comments on the selected version")

    def _store(self) -> Any:
        from neuralforge_desktop.core.store.sqlite_store import Store

        return Store(self.store_path)

    def refresh(self) -> None:
        from neuralforge_desktop.core.team.comments import list_comments

        found: list[Comment] = []
        if self.target_kind is not None and self.target_id is not None:
            with self._store() as store:
                found = list_comments(store, self.target_kind, self.target_id,
                                      include_resolved=self.show_resolved.isChecked())
            if self.anchor is not None:
                found = [c for c in found if c.anchor == self.anchor]
        self.comments = found
        self._fill()
        self._enable()

    def _fill(self) -> None:
        for row in self._rows:
            self.list_layout.removeWidget(row)
            row.setParent(None)
            row.deleteLater()
        self._rows, self.cards = [], []
        for comment, depth in threads(self.comments):
            card = CommentCard(comment, depth, self)
            holder = QWidget()
            line = QHBoxLayout(holder)
            line.setContentsMargins(INDENT * min(depth, 6), 0, 0, 0)
            line.addWidget(card)
            self._add_row(holder)
            self.cards.append(card)
        if not self.comments:
            empty = QLabel("No comments yet." if self.target_id else "Select something to see its comments.")
            empty.setObjectName("comment_empty")
            empty.setStyleSheet("color: gray;")
            empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self._add_row(CommentPlaceholder(empty))

    def _add_row(self, row: QWidget) -> None:
        self.list_layout.insertWidget(self.list_layout.count() - 1, row)
        self._rows.append(row)

    def _enable(self) -> None:
        chosen = self.target_kind is not None and (self.target_id is not None or self.target_kind == "graph")
        self.editor.setEnabled(chosen)
        self.send_button.setEnabled(chosen)

    def card_for(self, comment_id: int) -> CommentCard | None:
        return next((c for c in self.cards if c.comment.id == comment_id), None)

    # -- actions ---------------------------------------------------------------------------------------------
    def reply_to(self, comment_id: int | None) -> None:
        self.replying_to = comment_id
        target = next((c for c in self.comments if c.id == comment_id), None)
        self.reply_label.setText(f"Replying to {target.author}" if target else "")
        self.reply_label.setVisible(target is not None)
        self.cancel_reply.setVisible(target is not None)
        self.send_button.setText("Reply" if target else "Comment")
        if target is not None:
            self.editor.setFocus()

    def send(self, body: str | None = None) -> Comment | None:
        """Add the editor's text (or ``body``) as a comment or as the reply being written; None when refused."""
        from neuralforge_desktop.core.team.comments import add_comment

        text = self.editor.toPlainText() if body is None else body
        if self.target_kind is None:
            return None
        if self.target_id is None:
            self.target_id = self.ensure_target_id()
        if self.target_id is None:
            return None
        try:
            with self._store() as store:
                added = add_comment(store, self.target_kind, self.target_id, text, anchor=self.anchor,
                                    parent_id=self.replying_to, graph=self.graph)
        except UserError as exc:
            self._say(str(exc), ok=False)
            return None
        self.editor.clear()
        self.reply_to(None)
        self.refresh()
        self._say("")
        self.changed.emit(self.target_kind, self.target_id)
        return added

    def ensure_target_id(self) -> str | None:
        """The target's id when it has none yet (a graph never commented on); None: none could be given."""
        return None

    def resolve(self, comment_id: int, resolved: bool = True) -> Comment | None:
        from neuralforge_desktop.core.team.comments import resolve_comment

        try:
            with self._store() as store:
                changed = resolve_comment(store, comment_id, resolved=resolved)
        except UserError as exc:
            self._say(str(exc), ok=False)
            return None
        self.refresh()
        if self.target_kind is not None and self.target_id is not None:
            self.changed.emit(self.target_kind, self.target_id)
        return changed

    def _say(self, text: str, ok: bool = True) -> None:
        self.status.setStyleSheet("" if ok else "color: #c62828;")
        self.status.setText(text)


class CommentPlaceholder(QFrame):
    """What the list shows while a target has no comments."""

    def __init__(self, label: QLabel) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 24, 0, 24)
        layout.addWidget(label)
