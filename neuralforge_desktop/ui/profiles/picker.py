"""The profile picker: one card per persona (who it is for, what choosing it changes), and the plan.

Shown once on the first start (unless a profile was chosen already, e.g. with ``neuralforge persona set``),
and from Team ▸ Profile… at any time. Choosing applies the profile to the window at once. The plan box keeps
the current plan unless the user picks another ("No plan" = no limits; the picker never limits on its own).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.team.profiles import PROFILES, Profile
from neuralforge_desktop.core.team.tiers import LOCAL, PLANS, current_plan, plan_named, set_plan
from neuralforge_desktop.ui.theme import DEFAULT_THEME, roles

if TYPE_CHECKING:
    from neuralforge_desktop.ui.main_window import MainWindow

COLUMNS = 4
CARD_WIDTH = 250


class ProfileCard(QFrame):
    """One profile: its name, who it is for, what it changes. Click to select, double-click to choose."""

    clicked = Signal(str)
    chosen = Signal(str)

    def __init__(self, profile: Profile, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.profile = profile
        self.setObjectName(f"card.{profile.name}")
        self.setProperty("profileCard", True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setMinimumWidth(CARD_WIDTH)
        box = QVBoxLayout(self)
        box.setContentsMargins(14, 12, 14, 12)
        box.setSpacing(6)
        self.title = QLabel(profile.title)
        self.title.setProperty("role", "title")
        self.who = QLabel(profile.who)
        self.who.setWordWrap(True)
        self.who.setProperty("role", "who")
        self.changes = QLabel(profile.changes)
        self.changes.setWordWrap(True)
        self.changes.setProperty("role", "changes")
        tutorial = "First Steps tutorial" if profile.tutorial else "no tutorial"
        palette = "common layers" if profile.palette == "simple" else "every layer"
        self.facts = QLabel(f"{palette} · {tutorial}")
        self.facts.setProperty("role", "facts")
        for label in (self.title, self.who, self.changes):
            box.addWidget(label)
        box.addStretch(1)
        box.addWidget(self.facts)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # Qt names this method
        self.clicked.emit(self.profile.name)
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # Qt names this method
        self.chosen.emit(self.profile.name)
        super().mouseDoubleClickEvent(event)


class ProfilePicker(QDialog):
    """Pick a profile (and optionally a plan). ``profile_chosen(name)`` fires when the user confirms."""

    profile_chosen = Signal(str)

    def __init__(self, current: str | None = None, theme: str = DEFAULT_THEME, parent: QWidget | None = None,
                 *, first_start: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("ProfilePicker")
        self.setWindowTitle("Choose your profile")
        self.theme = theme
        box = QVBoxLayout(self)
        box.setContentsMargins(22, 18, 22, 16)
        box.setSpacing(12)
        self.heading = QLabel("Welcome to NeuralForge: who are you working as?" if first_start else
                              "Choose your profile")
        self.heading.setProperty("role", "heading")
        self.note = QLabel("A profile arranges the panels, the layer palette and the start list for your work. "
                           "Every panel and menu stays available; change the profile any time from "
                           "Team ▸ Profile….")
        self.note.setWordWrap(True)
        self.note.setProperty("role", "note")
        box.addWidget(self.heading)
        box.addWidget(self.note)
        grid = QGridLayout()
        grid.setSpacing(10)
        self.cards: dict[str, ProfileCard] = {}
        for index, profile in enumerate(PROFILES):
            card = ProfileCard(profile)
            card.clicked.connect(self.select)
            card.chosen.connect(self._choose_now)
            grid.addWidget(card, index // COLUMNS, index % COLUMNS)
            self.cards[profile.name] = card
        box.addLayout(grid, 1)
        plan_row = QHBoxLayout()
        plan_label = QLabel("Plan:")
        self.plan_box = QComboBox()
        self.plan_box.setObjectName("plan")
        self.plan_box.addItem("No plan (no limits)", LOCAL.name)
        for plan in PLANS:
            self.plan_box.addItem(f"{plan.title}: {plan.summary}", plan.name)
        self.plan_box.setCurrentIndex(max(0, self.plan_box.findData(current_plan().name)))
        self.plan_hint = QLabel()
        self.plan_hint.setProperty("role", "note")
        plan_row.addWidget(plan_label)
        plan_row.addWidget(self.plan_box)
        plan_row.addWidget(self.plan_hint, 1)
        box.addLayout(plan_row)
        buttons = QDialogButtonBox()
        self.choose_button = buttons.addButton("Use this profile", QDialogButtonBox.ButtonRole.AcceptRole)
        self.later_button = buttons.addButton("Not now" if first_start else "Cancel",
                                              QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        box.addWidget(buttons)
        self.selected: str | None = None
        self.select(current or PROFILES[0].name)
        self.set_theme(theme)

    def select(self, name: str) -> None:
        self.selected = name
        for key, card in self.cards.items():
            card.setProperty("selected", key == name)
            card.style().unpolish(card)
            card.style().polish(card)
        hint = self.cards[name].profile.plan_hint
        self.plan_hint.setText(f"  {self.cards[name].profile.title} users usually work under the "
                               f"{plan_named(hint).title} plan")

    def _choose_now(self, name: str) -> None:
        self.select(name)
        self.accept()

    def accept(self) -> None:
        if self.selected is not None:
            plan = str(self.plan_box.currentData())
            if plan != current_plan().name:
                set_plan(plan)
            self.profile_chosen.emit(self.selected)
        super().accept()

    def set_theme(self, name: str) -> None:
        c = roles(name)
        self.setStyleSheet(
            f"QDialog#ProfilePicker {{ background: {c.window}; }}"
            f"QLabel {{ color: {c.text}; background: transparent; }}"
            f"QLabel[role='heading'] {{ font-size: 18px; font-weight: 600; }}"
            f"QLabel[role='note'] {{ color: {c.muted}; font-size: 12px; }}"
            f"QFrame[profileCard='true'] {{ background: {c.card}; border: 1px solid {c.border}; border-radius: 8px; }}"
            f"QFrame[profileCard='true'][selected='true'] {{ border: 2px solid {c.accent}; }}"
            f"QFrame[profileCard='true'] QLabel {{ border: none; }}"
            f"QLabel[role='title'] {{ font-size: 15px; font-weight: 600; }}"
            f"QLabel[role='who'] {{ color: {c.text}; font-size: 12px; }}"
            f"QLabel[role='changes'] {{ color: {c.text_dim}; font-size: 12px; }}"
            f"QLabel[role='facts'] {{ color: {c.muted}; font-size: 11px; }}")


def open_profile_picker(window: MainWindow, *, first_start: bool = False) -> ProfilePicker:
    """Team ▸ Profile… (and the first start): choosing applies the profile to ``window`` at once."""
    from neuralforge_desktop.ui.profiles.apply import apply_profile, mark_offered, saved_profile_name

    dialog = ProfilePicker(saved_profile_name(window), window.theme, window, first_start=first_start)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.profile_chosen.connect(lambda name: apply_profile(window, name))
    mark_offered(window)
    dialog.resize(1120, max(500, dialog.sizeHint().height()))
    dialog.open()
    window.profile_picker = dialog  # type: ignore[attr-defined]
    return dialog
