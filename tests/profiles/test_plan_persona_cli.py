"""`neuralforge plan show|set|list` and `neuralforge persona list|show|set`, through the CLI's main."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.store import Store
from neuralforge_desktop.core.team import choices
from neuralforge_desktop.core.team.profiles import PROFILES, chosen_profile, profile_named
from neuralforge_desktop.core.team.tiers import PRO, current_plan


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def rows(out: str) -> dict[str, list[str]]:
    """The table's rows by their first cell (the limit's name, which has spaces), the other cells split."""
    found = {}
    for line in out.splitlines():
        for name in ("projects", "runs training at once", "GPU-hours this month", "remote hosts"):
            if line.startswith(name):
                found[name] = line[len(name):].split()
    return found


def test_plan_show_lists_each_limit_with_what_the_store_uses(capsys, tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with Store(path) as store:
        for name in ("vision", "nlp"):
            store.get_or_create_project(name)
        run_ = store.create_run("exp", project="vision", environment={})  # running: counts as training now
        store.add_usage(run_.id, gpu_seconds=1.5 * 3600)
    assert run(capsys, "plan", "set", "pro")[0] == 0
    code, out, _ = run(capsys, "plan", "show", "--store", str(path))
    assert code == 0
    assert out.startswith("plan: Pro")
    table = rows(out)
    assert table["projects"] == [str(PRO.projects), "2", str(PRO.projects - 2)]
    assert table["runs training at once"] == [str(PRO.concurrent_runs), "1", str(PRO.concurrent_runs - 1)]
    assert table["GPU-hours this month"] == [f"{PRO.gpu_hours_per_month:g}", "1.5",
                                             f"{PRO.gpu_hours_per_month - 1.5:g}"]
    assert table["remote hosts"] == [str(PRO.remote_hosts), "0", str(PRO.remote_hosts)]
    assert "shared PostgreSQL store: not allowed (Team and above)" in out
    code, out, _ = run(capsys, "plan", "show", "--store", str(path), "--json")
    report = json.loads(out)
    assert report["name"] == "pro" and report["store"] == str(path)
    assert {r["limit"]: r["used"] for r in report["usage"]} == {
        "projects": 2, "runs training at once": 1, "GPU-hours this month": 1.5, "remote hosts": 0}


def test_plan_show_without_a_plan_says_nothing_is_limited(capsys, tmp_path: Path) -> None:
    code, out, _ = run(capsys, "plan", "show", "--store", str(tmp_path / "store.db"))
    assert code == 0 and out.startswith("plan: Local (no plan chosen)")
    assert rows(out)["projects"][0:2] == ["no", "limit"]
    assert "no plan chosen: nothing is limited" in out


def test_plan_set_and_list(capsys) -> None:
    code, out, _ = run(capsys, "plan", "set", "team", "--json")
    assert code == 0 and json.loads(out)["name"] == "team" and current_plan().name == "team"
    code, out, _ = run(capsys, "plan", "list")
    chosen = [line for line in out.splitlines() if line.lstrip().startswith("*")]
    assert len(chosen) == 1 and chosen[0].split()[1] == "team"
    code, out, _ = run(capsys, "plan", "set", "local")
    assert code == 0 and current_plan().name == "local" and "plan" not in choices.read_choices()


def test_an_unknown_plan_is_refused_with_the_names(capsys) -> None:
    code, _out, err = run(capsys, "plan", "set", "platinum")
    assert code == 1
    assert "no plan named 'platinum'" in err and "enterprise" in err and "free" in err


def test_persona_set_show_and_list(capsys) -> None:
    code, out, _ = run(capsys, "persona", "list")
    assert code == 0 and "no profile chosen yet" in out
    assert all(profile.name in out for profile in PROFILES)
    code, out, _ = run(capsys, "persona", "set", "Compliance")
    assert code == 0 and chosen_profile() is profile_named("compliance")
    assert choices.read_choices() == {"persona": "compliance"}
    code, out, _ = run(capsys, "persona", "show")
    assert out.startswith("Compliance (compliance)")
    profile = profile_named("compliance")
    lines = out.splitlines()
    start = lines.index("  start here:")
    assert [line.split(". ", 1)[1].split("   (")[0] for line in lines[start + 1:]] == [i.label for i in profile.start]
    code, out, _ = run(capsys, "persona", "show", "manager", "--json")
    shown = json.loads(out)
    assert shown["name"] == "manager" and shown["docks"]["hidden"] == profile_named("manager").docks.hidden()


@pytest.mark.parametrize("argv", [["persona", "set", "wizard"], ["persona", "show", "wizard"]])
def test_an_unknown_persona_is_refused(capsys, argv: list[str]) -> None:
    code, _out, err = run(capsys, *argv)
    assert code == 1 and "no profile named 'wizard'" in err and "manager" in err


def test_a_damaged_settings_file_is_named(capsys) -> None:
    path = choices.default_choices_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json", encoding="utf-8")
    code, _out, err = run(capsys, "plan", "set", "pro")
    assert code == 1 and str(path) in err and "not valid JSON" in err
