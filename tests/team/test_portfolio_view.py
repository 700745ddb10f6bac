"""Team ▸ Portfolio… offscreen on the demo store: tiles, the projects table (sortable, budget bars), the per-user
table with every person's GPU-hours and cost, the month's alerts, read off the UI thread."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt

from neuralforge_desktop.core.store import Store
from neuralforge_desktop.core.team.budgets import money
from neuralforge_desktop.core.team.demo_data import demo_now
from neuralforge_desktop.core.team.spend import parse_period, spend_rows, totals_by
from neuralforge_desktop.ui.portfolio.tables import PERCENT, PROJECT_COLUMNS
from neuralforge_desktop.ui.portfolio.view import PortfolioView


def test_the_view_shows_projects_users_budgets_and_alerts(qtbot: Any, demo_store_path: Path) -> None:
    view = PortfolioView(demo_store_path, now=demo_now())
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: view.portfolio is not None, timeout=60_000)
    assert threading.get_ident() not in view.read_in and view.read_in
    with Store(demo_store_path) as store:
        rows = spend_rows(store, parse_period("2026-12"))
    by_project = {t.key: t for t in totals_by(rows, lambda r: r.project)}
    by_user = {t.key: t for t in totals_by(rows, lambda r: r.user)}

    assert view.title.text() == "Portfolio · 2026-12"
    assert view.tiles["projects"].value.text() == "5" and view.tiles["active"].value.text() == "4"
    assert view.tiles["production"].value.text() == "3"
    assert view.tiles["spend"].value.text() == money(sum(r.cost for r in rows))
    assert view.projects.rowCount() == 5
    vision = view.project_row("vision")
    assert vision["Cost (month)"] == money(by_project["vision"].cost)
    assert vision["GPU-h (month)"] == f"{by_project['vision'].gpu_hours:,.1f}"
    assert vision["Budget"] == "$300.00  (hard stop)" and vision["Owner"] == "alice"
    assert view.project_row("recsys")["Used"] == "no budget"
    used_column = PROJECT_COLUMNS.index("Used")
    percents = {view.projects.item(r, 0).text(): view.projects.item(r, used_column).data(PERCENT)
                for r in range(5)}
    assert percents["fraud-detection"] == pytest.approx(100 * by_project["fraud-detection"].cost / 200.0)

    users = {view.users.item(r, 0).text(): (view.users.item(r, 2).text(), view.users.item(r, 3).text())
             for r in range(view.users.rowCount())}
    assert users == {u: (f"{t.gpu_hours:,.1f}", money(t.cost)) for u, t in by_user.items()}
    assert len(users) >= 2
    alerts = [view.alerts.item(i).text() for i in range(view.alerts.count())]
    assert any("fraud-detection passed 100% of its 2026-12 budget" in a for a in alerts)

    cost = PROJECT_COLUMNS.index("Cost (month)")
    shown = [view.projects.item(r, 0).text() for r in range(5)]
    assert shown == sorted(by_project, key=lambda p: -by_project[p].cost) + ["recsys"]  # costliest first
    view.projects.sortItems(cost, Qt.SortOrder.AscendingOrder)
    assert view.projects.item(0, 0).text() == "recsys"

    view.month_box.setCurrentIndex(view.month_box.findText("2026-09"))
    qtbot.waitUntil(lambda: view.portfolio is not None and view.portfolio.month.label == "2026-09", timeout=60_000)
    assert view.project_row("recsys")["Cost (month)"] == "$180.00"


def test_team_menu_opens_the_view(qtbot: Any, demo_store_path: Path, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtCore import QSettings

    from neuralforge_desktop.ui.main_window import MainWindow
    from neuralforge_desktop.ui.settings import Settings

    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, recovery_dir=tmp_path / "recovery", store_path=demo_store_path)
    qtbot.addWidget(window)
    monkeypatch.setattr(window.files, "ask_save_changes", lambda: "discard")
    window.commands.by_name["team.portfolio"].trigger()
    view = window.portfolio_view
    assert view.isVisible() and view.store_path == demo_store_path and (view.width(), view.height()) == (1280, 800)
    qtbot.waitUntil(lambda: view.portfolio is not None, timeout=60_000)
    assert view.projects.rowCount() == 5
    view.close()
