"""Render docs/screenshots/cost_view.png: the Cost & Capacity view on a team's twelve weeks of runs.

    python docs/make_cost_screenshot.py [--out DIR]        # offscreen; a few seconds on a CPU

The history is the demo one (``core.team.demo_costs``): five projects, three people, three remote GPU hosts
with their rates and a local machine. It is written into a throw-away store and host list.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: TID251

from neuralforge_desktop.ui.app import create_application
from neuralforge_desktop.ui.theme import apply_theme

SIZE = (1280, 800)


def settle(app: QApplication, seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "screenshots"))
    parser.add_argument("--theme", default="dark")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    app = create_application([])
    apply_theme(args.theme, app)
    from neuralforge_desktop.core.remote.hosts import HostRegistry
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.team.demo_costs import create_cost_demo
    from neuralforge_desktop.ui.cost import CostView

    folder = Path(tempfile.mkdtemp(prefix="nf-cost-"))
    hosts = HostRegistry(folder / "hosts.json")
    with Store(folder / "store.db") as store:
        demo = create_cost_demo(store, hosts)
    view = CostView(folder / "store.db", args.theme, hosts_path=hosts.path)
    view.resize(*SIZE)
    view.show()
    deadline = time.monotonic() + 60
    while view.reports is None and time.monotonic() < deadline:
        settle(app, 0.1)
    settle(app)
    view.grab().save(str(out / "cost_view.png"))
    print(f"{out / 'cost_view.png'}: {demo.runs} runs over {len(demo.projects)} projects")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
