"""The model card editor (Registry view ▸ Model Card…): the human sections as text boxes on the left, the whole
card as it will read on the right, re-rendered a moment after each keystroke; Save writes the sections with the
facts gathered (on a thread) when the editor opened (:func:`neuralforge_desktop.core.cards.generate_card`),
Export… writes Markdown, HTML or PDF."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core import cards
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.ui.ui_thread import emitter

PREVIEW_DELAY_MS = 250  # long enough to skip re-rendering on every key of a word, short enough to feel live


class CardEditor(QWidget):
    saved = Signal(str)  # the version's ref, after a save
    facts_ready = Signal(object)  # (facts, when gathered) or an error message, from the gathering thread

    def __init__(self, store_path: str | os.PathLike[str], ref: str, required: list[str] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card_editor")
        self.store_path = Path(store_path)
        self.required = list(required or cards.DEFAULT_REQUIRED)
        self.boxes: dict[str, QPlainTextEdit] = {}
        self.previews = 0  # how many times the preview was rendered (the tests watch it)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PREVIEW_DELAY_MS)
        self._timer.timeout.connect(self.update_preview)
        self.fresh: tuple[dict[str, Any], float] | None = None  # facts gathered since the editor opened
        self.facts_ready.connect(self._facts_arrived)
        self._load(ref)
        self._build()
        self.update_preview()
        self._gather()

    def _load(self, ref: str) -> None:
        from neuralforge_desktop.core.registry import resolve
        from neuralforge_desktop.core.store.sqlite_store import Store

        with Store(self.store_path) as store:
            version = resolve(store, ref)
            card = cards.get_card(store, version.ref)
        # The stored card's facts show at once (a version without one shows what the registry row holds)
        # while the facts are gathered afresh on a thread: that loads the dataset and the statistics library.
        self.facts = card.facts if card is not None else {
            "model": version.name, "version": version.version, "ref": version.ref, "stage": version.stage,
            "description": version.description, "registered": version.created,
            "registered_by": version.created_by, "run_id": version.run_id}
        self.fields = dict(card.fields) if card is not None else {}
        self.ref = version.ref
        self.setWindowTitle(f"Model Card — {self.ref}")

    def _gather(self) -> None:
        # The thread holds nothing of the editor's but an emitter (weakly): a closed editor is not kept alive
        store_path, ref, facts_ready = self.store_path, self.ref, emitter(self, "facts_ready")

        def work() -> None:
            from neuralforge_desktop.core.cards.facts import gather_facts
            from neuralforge_desktop.core.registry import resolve
            from neuralforge_desktop.core.store.sqlite_store import Store

            try:
                with Store(store_path) as store:
                    started = time.time()
                    result: object = (gather_facts(store, resolve(store, ref)), started)
            except (UserError, OSError) as exc:
                result = str(exc)
            facts_ready(result)  # not delivered if the editor has been closed meanwhile

        threading.Thread(target=work, name="card-facts", daemon=True).start()

    def _facts_arrived(self, result: object) -> None:
        if isinstance(result, str):
            self.status.setText(f"The card's facts could not be gathered: {result}")
            return
        self.fresh = result  # type: ignore[assignment]
        self.facts = self.fresh[0]
        self.save_button.setEnabled(True)
        self.update_preview()

    def _build(self) -> None:
        form = QWidget()
        column = QVBoxLayout(form)
        for human in cards.HUMAN_FIELDS:
            title = human.title + (" *" if human.key in self.required else "")
            label = QLabel(f"<b>{title}</b>")
            box = QPlainTextEdit(self.fields.get(human.key, ""))
            box.setObjectName(f"card_{human.key}")
            box.setPlaceholderText(human.hint)
            box.setToolTip(human.hint)
            box.setMinimumHeight(70)
            box.textChanged.connect(self._timer.start)
            label.setBuddy(box)
            column.addWidget(label)
            column.addWidget(box, 1)
            self.boxes[human.key] = box
        column.addWidget(QLabel("* required by the policy before production"))
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(form)

        self.preview = QTextBrowser()
        self.preview.setObjectName("card_preview")
        self.preview.setOpenLinks(False)
        # The card reads as the exported page does (dark text on white), whatever the app's theme.
        self.preview.setStyleSheet("QTextBrowser { background: white; color: #222; }")
        self.status = QLabel()
        self.status.setObjectName("card_status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        save = self.save_button = QPushButton("Save")
        save.setObjectName("card_save")
        save.setToolTip("Save the sections with the card's facts as gathered when the editor opened")
        save.setEnabled(False)  # until the facts are gathered
        save.clicked.connect(lambda _checked=False: self.save())
        export = QPushButton("Export…")
        export.setObjectName("card_export")
        export.setToolTip("Write the card as Markdown, HTML or PDF")
        export.clicked.connect(lambda _checked=False: self.export())
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(save)
        buttons.addWidget(export)

        splitter = QSplitter()
        splitter.addWidget(scroll)
        splitter.addWidget(self.preview)
        splitter.setSizes([420, 680])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)

    def current_fields(self) -> dict[str, str]:
        return {key: box.toPlainText().strip() for key, box in self.boxes.items()}

    def markdown(self) -> str:
        return cards.render_markdown(self.facts, self.current_fields())

    def update_preview(self) -> None:
        self._timer.stop()
        bar = self.preview.verticalScrollBar()
        keep = bar.value()  # typing should not throw the reader back to the top
        self.preview.setHtml(cards.render_html(self.markdown(), f"Model card {self.ref}"))
        bar.setValue(keep)
        self.previews += 1
        missing = [k for k in self.required if not self.current_fields().get(k)]
        self.status.setText(("" if self.fresh else "Gathering the card's facts… ") +
                            ("Required fields still empty: " + ", ".join(missing) if missing else
                             "Every required field is written."))

    def save(self) -> bool:
        from neuralforge_desktop.core.store.sqlite_store import Store

        if self.fresh is None:
            self.status.setText("Not saved yet: the card's facts are still being gathered")
            return False
        try:
            with Store(self.store_path) as store:
                card = cards.save_fields(store, self.ref, self.current_fields(), self.fresh)
        except UserError as exc:
            self.status.setText(f"Not saved: {exc}")
            return False
        self.facts, self.fields = card.facts, card.fields
        self.update_preview()
        self.status.setText(f"Saved {self.ref}'s card. " + self.status.text())
        self.saved.emit(self.ref)
        return True

    def export(self, path: str | os.PathLike[str] | None = None) -> Path | None:
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(self, "Export model card", f"{self.ref.replace('@', '-v')}.md",
                                                    "Markdown (*.md);;HTML (*.html);;PDF (*.pdf)")
            if not chosen:
                return None
            path = chosen
        target = Path(path)
        from neuralforge_desktop.core.ir.atomic import write_text_atomic

        markdown = self.markdown()
        try:
            if target.suffix.lower() == ".pdf":
                cards.write_pdf(cards.render_html(markdown, f"Model card {self.ref}"), target)
            elif target.suffix.lower() in (".html", ".htm"):
                write_text_atomic(target, cards.render_html(markdown, f"Model card {self.ref}"))
            else:
                write_text_atomic(target, markdown)
        except (UserError, OSError) as exc:
            self.status.setText(f"Not exported: {exc}")
            return None
        self.status.setText(f"Exported {target}")
        return target


def open_card_editor(parent: Any, store_path: str | os.PathLike[str], ref: str,
                     required: list[str] | None = None) -> CardEditor:
    """The editor for ``ref``'s card in its own window."""
    editor = CardEditor(store_path, ref, required, parent)
    editor.setWindowFlag(Qt.WindowType.Window)
    editor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    editor.resize(1200, 760)
    editor.show()
    return editor
