"""Render docs/screenshots/team-access.png: the Registry view refusing an approval to a contributor.

    python docs/make_users_screenshot.py [--out DIR]        # offscreen; about a minute on a CPU

It builds the registry of docs/make_registry_screenshot.py as maria (so she owns the project), closes the project
with a viewer, a contributor and an approver, then opens the Registry view as the contributor, tom, tries to
approve version 2, and grabs the view with the refusal in its status line.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_registry_screenshot import SIZE, build_registry, settle

from neuralforge_desktop.core.team.identity import USER_ENV
from neuralforge_desktop.ui.app import create_application
from neuralforge_desktop.ui.theme import apply_theme


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "screenshots"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    app = create_application([])
    apply_theme("dark", app)
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.team.users import add_user, grant
    from neuralforge_desktop.ui.registry import RegistryView

    os.environ[USER_ENV] = "maria"
    path = build_registry(Path(tempfile.mkdtemp(prefix="nf-users-")))
    with Store(path) as store:
        project = store.list_projects()[0].name
        for name, display, role in (("sam", "Sam Okafor", "viewer"), ("tom", "Tom Becker", "contributor"),
                                    ("priya", "Priya Nair", "approver")):
            add_user(store, name, display)
            grant(store, name, project, role)
    os.environ[USER_ENV] = "tom"
    view = RegistryView(path)
    view.resize(*SIZE)
    view.show()
    view.select_version(2)
    view.approve("looks good to me")
    settle(app)
    view.grab().save(str(out / "team-access.png"))
    print(out / "team-access.png", view.status.text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
