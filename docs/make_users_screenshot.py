"""Render docs/screenshots/users-and-roles.png (Team ▸ Users and Roles…, a project's members) and
docs/screenshots/team-access.png (the Registry view refusing an approval to a contributor).

    python docs/make_users_screenshot.py [--out DIR] [--view-only]   # offscreen; about a minute on a CPU

The first needs no training: three projects with runs, two of them closed with members.

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
    parser.add_argument("--view-only", action="store_true", help="only users-and-roles.png (no training)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    app = create_application([])
    apply_theme("dark", app)
    users_view_shot(app, out)
    if args.view_only:
        return 0
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


PEOPLE = (("maria", "Maria Lopez"), ("sam", "Sam Okafor"), ("tom", "Tom Becker"), ("priya", "Priya Nair"),
          ("jonas", "Jonas Berg"), ("lea", "Lea Schmitt"))


def users_view_shot(app: object, out: Path) -> None:
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.team.users import add_user, grant
    from neuralforge_desktop.ui.team_access import UsersView

    path = Path(tempfile.mkdtemp(prefix="nf-users-view-")) / "store.db"
    os.environ[USER_ENV] = "maria"
    with Store(path) as store:
        for project, experiment in (("vision", "resnet-ablation"), ("forecasting", "demand-lstm"),
                                    ("nlp-sentiment", "distilbert-reviews")):
            store.create_run(experiment, project=project, environment={})
        for name, display in PEOPLE:
            add_user(store, name, display)
        for name, role in (("sam", "viewer"), ("tom", "contributor"), ("jonas", "contributor"),
                           ("priya", "approver"), ("lea", "admin")):
            grant(store, name, "vision", role)
        grant(store, "tom", "forecasting", "approver")
    view = UsersView(path)
    view.resize(1100, 560)
    view.show()
    view.project_list.setCurrentRow([p.name for p, _ in view.projects].index("vision"))
    view.name_edit.setText("jonas")
    view.role_box.setCurrentText("approver")
    view.grant()
    view.members.selectRow(5)
    settle(app)  # type: ignore[arg-type]
    view.grab().save(str(out / "users-and-roles.png"))
    print(out / "users-and-roles.png", view.status.text())


if __name__ == "__main__":
    raise SystemExit(main())
