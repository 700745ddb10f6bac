"""`neuralforge users …` and refusals in the CLI: real child processes acting as different users
(NEURALFORGE_USER) on one store file; a refusal is one line on stderr, exit status 1, naming the role needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.team.identity import USER_ENV


def nf(user: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, USER_ENV: user}
    return subprocess.run([sys.executable, "-m", "neuralforge_desktop.cli.main", *args], capture_output=True,
                          text=True, env=env, timeout=120)


@pytest.fixture
def store_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(USER_ENV, "olivia")
    path = tmp_path / "store.db"
    with Store(path) as store:
        run = store.create_run("resnet", "baseline", project="vision", environment={})
        store.set_status(run.id, "finished")
    (tmp_path / "run_id").write_text(run.id)
    return path


def test_grant_then_a_viewer_reads_but_cannot_write_and_a_stranger_sees_nothing(store_path: Path) -> None:
    store = str(store_path)
    run_id = (store_path.parent / "run_id").read_text()
    granted = nf("olivia", "users", "grant", "bob", "vision", "viewer", "--store", store)
    assert granted.returncode == 0 and "bob is now viewer of project 'vision'" in granted.stdout

    shown = nf("bob", "runs", "show", run_id, "--store", store)
    assert shown.returncode == 0 and "baseline" in shown.stdout
    note = nf("bob", "notes", "add", run_id, "too slow", "--store", store)
    assert note.returncode == 1 and note.stdout == ""
    assert note.stderr.strip().splitlines() == [
        "neuralforge: bob is a viewer of project 'vision' and logging to a run needs contributor; ask an admin: "
        "`neuralforge users grant bob vision contributor`"]

    hidden = nf("eve", "runs", "list", "--json", "--store", store)
    assert hidden.returncode == 0 and json.loads(hidden.stdout) == []
    refused = nf("eve", "runs", "show", run_id, "--store", store)
    assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1
    assert "eve is not a member of project 'vision' and reading its runs and metrics needs viewer" in refused.stderr

    usurp = nf("bob", "users", "grant", "bob", "vision", "admin", "--store", store)
    assert usurp.returncode == 1 and "granting or revoking roles needs admin" in usurp.stderr


def test_add_list_share_and_revoke(store_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = str(store_path)
    assert main(["users", "add", "alice", "--display", "Alice Martin", "--store", store]) == 0
    assert "added alice (Alice Martin)" in capsys.readouterr().out
    assert main(["users", "add", "alice", "--store", store]) == 1
    assert "user 'alice' already exists" in capsys.readouterr().err
    assert main(["users", "share", "vision", "alice", "carol", "--store", store]) == 0
    assert main(["users", "grant", "dan", "vision", "approver", "--store", store]) == 0
    capsys.readouterr()

    assert main(["users", "list", "--project", "vision", "--json", "--store", store]) == 0
    listed = {u["name"]: (u["kind"], u["roles"]["vision"]) for u in json.loads(capsys.readouterr().out)}
    assert listed == {"alice": ("named", "viewer"), "carol": ("os", "viewer"), "dan": ("os", "approver"),
                      "olivia": ("os", "admin")}
    assert main(["users", "list", "--store", store]) == 0
    text = capsys.readouterr().out
    assert "Alice Martin" in text and "vision: approver" in text

    assert main(["users", "revoke", "carol", "vision", "--store", store]) == 0
    assert "carol is no longer viewer of project 'vision'" in capsys.readouterr().out
    assert main(["users", "grant", "carol", "vision", "boss", "--store", store]) == 1
    assert "unknown role 'boss'; give one of viewer, contributor, approver, admin" in capsys.readouterr().err
    assert main(["users", "add", "x", "--password-stdin", "--store", store]) == 1
    assert "PostgreSQL" in capsys.readouterr().err


def test_list_on_a_store_without_accounts_says_everything_is_open(tmp_path: Path, capsys) -> None:
    assert main(["users", "list", "--store", str(tmp_path / "store.db")]) == 0
    assert "every project is open" in capsys.readouterr().out
