"""The command line misused, as a careless user (or a file from a stranger) would: every mistake ends in one
line on standard error that names what is wrong, before any work is done, and never in a traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from neuralforge_desktop import __version__
from neuralforge_desktop.cli import summary_cmd
from neuralforge_desktop.cli.graph_source import MAX_GRAPH_FILE_BYTES
from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.ir.serialize import save_graph

from training_graphs import digits_mlp

ROOT = Path(__file__).resolve().parent.parent


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """``neuralforge ARGV`` in this process: its status (argparse's exit included), output and errors."""
    try:
        status = main(list(argv))
    except SystemExit as exc:  # a refused command line exits from inside argparse, as it does for a user
        status = int(exc.code or 0)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def fresh_home(tmp_path, monkeypatch) -> Path:
    """A home of its own, so that reports and stores land under tmp_path (platformdirs reads these)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    return home


# -- option values -----------------------------------------------------------------------------------------
TRAIN = ("train", "zoo:lenet5", "--dataset", "digits")
BAD_VALUES = [
    (TRAIN, "--lr", "inf"), (TRAIN, "--lr", "nan"), (TRAIN, "--lr", "-1"), (TRAIN, "--lr", "0"),
    (TRAIN, "--lr", "1e999"), (TRAIN, "--lr", "fast"),
    (TRAIN, "--seed", "-1"), (TRAIN, "--seed", str(2**32)), (TRAIN, "--seed", "1.5"),
    (TRAIN, "--epochs", "0"), (TRAIN, "--epochs", "-3"), (TRAIN, "--epochs", str(10**12)),
    (TRAIN, "--batch-size", "0"), (TRAIN, "--batch-size", "2.5"),
    (TRAIN, "--limit", "-5"), (TRAIN, "--limit", "0"),
    (TRAIN, "--val-fraction", "1.5"), (TRAIN, "--val-fraction", "1"), (TRAIN, "--val-fraction", "-0.1"),
    (TRAIN, "--val-fraction", "nan"),
    (TRAIN, "--grad-clip", "-1"), (TRAIN, "--grad-clip", "0"), (TRAIN, "--grad-clip", "inf"),
    (TRAIN, "--weight-decay", "-1"), (TRAIN, "--weight-decay", "nan"),
    (TRAIN, "--warmup-steps", "-1"), (TRAIN, "--early-stopping", "0"),
    (("summary", "zoo:lenet5"), "--batch-size", "0"), (("summary", "zoo:lenet5"), "--batch-size", "many"),
    (("datasets", "show", "digits"), "--val-fraction", "1.5"), (("datasets", "show", "digits"), "--test-fraction", "1"),
    (("datasets", "show", "digits"), "--seed", "-1"), (("datasets", "show", "digits"), "--limit", "0"),
    (("runs", "list"), "--limit", "0"),
    (("demo",), "--epochs", "0"),
]


@pytest.mark.parametrize(("command", "option", "value"), BAD_VALUES,
                         ids=[f"{c[0]}{o}={v}" for c, o, v in BAD_VALUES])
def test_a_bad_option_value_is_refused_in_one_line_before_any_work(capsys, tmp_path, command, option, value):
    store = tmp_path / "store.db"
    extra = ("--out", str(tmp_path / "demo")) if command[0] == "demo" else ()
    if command[0] in ("train", "runs", "demo"):
        extra += ("--store", str(store))
    status, out, err = run(capsys, *command, option, value, *extra)
    assert status == 2 and out == ""
    line = one_line(err)
    assert f"argument {option}" in line and repr(value) in line, line
    assert not store.exists() and not (tmp_path / "demo").exists()  # no run, no store, no file


@pytest.mark.parametrize(("option", "good"), [("--lr", "0.01"), ("--seed", str(2**32 - 1)), ("--val-fraction", "0"),
                                              ("--grad-clip", "1.5"), ("--weight-decay", "0")])
def test_the_edges_of_what_is_allowed_pass_the_check(capsys, tmp_path, option, good):
    # an unknown dataset stops the command right after the options were accepted, before any work
    status, _, err = run(capsys, "train", "zoo:lenet5", "--dataset", "nope", option, good, "--store",
                         str(tmp_path / "s.db"))
    assert status == 2 and "no dataset 'nope'" in one_line(err)


@pytest.mark.parametrize("argv", [("train", "", "--dataset", "digits"), ("train", "zoo:lenet5", "--dataset", ""),
                                  ("train", "zoo:lenet5", "--dataset", "digits", "--store", ""),
                                  ("resume", ""), ("datasets", "show", ""), ("demo", "--out", "")])
def test_an_empty_name_is_refused(capsys, tmp_path, argv):
    status, _, err = run(capsys, *argv)
    assert status == 2 and "is empty" in one_line(err)


def test_an_unknown_dataset_lists_the_ones_there_are(capsys, tmp_path):
    status, _, err = run(capsys, "train", "zoo:lenet5", "--dataset", "mnist-11k", "--store", str(tmp_path / "s.db"))
    line = one_line(err)
    assert status == 2 and "no dataset 'mnist-11k'" in line and "mnist-10k" in line and "digits" in line
    assert not (tmp_path / "s.db").exists()


# -- graph files ---------------------------------------------------------------------------------------------
@pytest.mark.timeout(60)  # a device or a pipe read as a file would never end
@pytest.mark.parametrize("command", ["summary", "validate", "codegen"])
def test_what_is_not_a_graph_file_is_refused_without_reading_it(capsys, tmp_path, command):
    fifo = tmp_path / "pipe.nfg"
    os.mkfifo(fifo)
    cases = {"": "GRAPH is empty", str(tmp_path): f"{tmp_path} is a folder, not a graph file",
             str(tmp_path / "gone.nfg"): f"{tmp_path / 'gone.nfg'}: no such file",
             "/dev/zero": "/dev/zero is not a regular file", str(fifo): f"{fifo} is not a regular file"}
    for graph, message in cases.items():
        status, out, err = run(capsys, command, graph)
        assert status == 2 and out == "" and message in one_line(err), (graph, err)


def test_a_graph_file_over_the_limit_is_refused_with_the_limit_named(capsys, tmp_path):
    huge = tmp_path / "huge.nfg"
    with huge.open("wb") as handle:  # sparse: the size is there, the disk space is not used
        handle.truncate(MAX_GRAPH_FILE_BYTES + 1)
    status, _, err = run(capsys, "summary", str(huge))
    assert status == 2 and f"{huge} is too large for a graph file" in one_line(err) and "limit is 64 MiB" in err
    at_limit = tmp_path / "at-limit.nfg"
    save_graph(digits_mlp(), at_limit)
    status, out, _ = run(capsys, "summary", str(at_limit))
    assert status == 0 and "digits-mlp" in out


# -- output files --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [("codegen", "zoo:lenet5", "-o"), ("new", "--template", "lenet5", "-o")])
def test_an_output_into_a_missing_folder_or_onto_a_folder_is_refused(capsys, tmp_path, argv):
    missing = tmp_path / "no-such-folder" / "model.nfg"
    status, _, err = run(capsys, *argv, str(missing))
    assert status == 2 and f"the folder {missing.parent} does not exist" in one_line(err)
    assert not missing.parent.exists()  # not created quietly
    status, _, err = run(capsys, *argv, str(tmp_path))
    assert status == 2 and f"{tmp_path} is a folder" in one_line(err)
    status, _, err = run(capsys, *argv, "")
    assert status == 2 and "-o/--output: is empty" in one_line(err)


def test_an_output_into_an_existing_folder_is_written(capsys, tmp_path):
    status, out, _ = run(capsys, "codegen", "zoo:lenet5", "-o", str(tmp_path / "lenet.py"))
    assert status == 0 and (tmp_path / "lenet.py").read_text().startswith('"""')


# -- errors that are not the user's ---------------------------------------------------------------------------
def _break_summary(monkeypatch, error: BaseException) -> None:
    def summary_with_a_bug(args):
        raise error

    monkeypatch.setattr(summary_cmd, "cmd_summary", summary_with_a_bug)


def test_an_internal_error_is_one_line_and_a_saved_report(capsys, monkeypatch, fresh_home):
    _break_summary(monkeypatch, RuntimeError("the cost model\nlost its place"))
    status, out, err = run(capsys, "summary", "zoo:lenet5")
    line = one_line(err)
    assert status == 2 and out == ""
    prefix = "neuralforge: internal error: RuntimeError: the cost model lost its place — a report was saved to "
    assert line.startswith(prefix) and line.endswith("; please attach it to a bug report")
    report = Path(line[len(prefix):].split("; please")[0])
    assert report.is_relative_to(fresh_home) and "neuralforge" in report.parts
    text = report.read_text()
    assert "Traceback (most recent call last)" in text and "summary_with_a_bug" in text
    assert "RuntimeError: the cost model" in text and "command  neuralforge summary zoo:lenet5" in text
    assert f"neuralforge {__version__}" in text and "python 3." in text and "platform " in text


@pytest.mark.parametrize("argv", [("--debug", "summary", "zoo:lenet5"), ("summary", "zoo:lenet5", "--debug")])
def test_debug_shows_the_traceback_instead(capsys, monkeypatch, fresh_home, argv):
    _break_summary(monkeypatch, RuntimeError("boom"))
    status, _, err = run(capsys, *argv)
    assert status == 2
    assert "Traceback (most recent call last)" in err and "summary_with_a_bug" in err and "RuntimeError: boom" in err
    assert not list(fresh_home.rglob("crash-*"))


def test_a_report_that_cannot_be_saved_still_ends_in_one_line(capsys, monkeypatch, fresh_home):
    (fresh_home / ".local").write_text("a file where the log folder's parent should be")
    _break_summary(monkeypatch, RuntimeError("boom"))
    status, _, err = run(capsys, "summary", "zoo:lenet5")
    line = one_line(err)
    assert status == 2 and "internal error: RuntimeError: boom" in line and "no report could be saved" in line
    assert "--debug" in line


def test_a_file_the_system_refuses_is_the_users_to_fix(capsys, monkeypatch, fresh_home):
    _break_summary(monkeypatch, PermissionError(13, "Permission denied", "/srv/shared/model.nfg"))
    status, _, err = run(capsys, "summary", "zoo:lenet5")
    assert status == 1 and one_line(err) == "neuralforge: /srv/shared/model.nfg: Permission denied"
    assert not list(fresh_home.rglob("crash-*"))


def test_ctrl_c_inside_a_command_is_one_line_and_status_130(capsys, monkeypatch, fresh_home):
    _break_summary(monkeypatch, KeyboardInterrupt())
    status, out, err = run(capsys, "summary", "zoo:lenet5")
    assert status == 130 and out == "" and err == "neuralforge: interrupted\n"


def test_version_and_help(capsys):
    status, out, _ = run(capsys, "--version")
    assert status == 0 and out.strip() == f"neuralforge {__version__}"
    status, out, _ = run(capsys, "--help")
    assert status == 0 and "--debug" in out


# -- as a user runs it: a real process, a fresh home ---------------------------------------------------------
def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    return {**env, "HOME": str(home), "PYTHONPATH": str(ROOT)}


def _neuralforge() -> list[str]:
    script = Path(sys.executable).parent / "neuralforge"
    return [str(script)] if script.exists() else [sys.executable, "-m", "neuralforge_desktop"]


@pytest.mark.parametrize(("argv", "expected"), [
    (("train", "zoo:lenet5", "--dataset", "digits", "--lr", "nan"), "argument --lr: must be a finite number"),
    (("summary", "/dev/zero"), "/dev/zero is not a regular file"),
    (("codegen", "zoo:lenet5", "-o", "/no/such/folder/model.py"), "the folder /no/such/folder does not exist"),
])
def test_misuse_in_a_real_process(tmp_path, argv, expected):
    done = subprocess.run([*_neuralforge(), *argv], capture_output=True, text=True, env=_env(tmp_path),
                          timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert expected in one_line(done.stderr)


_CHILD = """
import pathlib, sys, time
from neuralforge_desktop.cli import main, summary_cmd

def summary_with_a_bug(args):
    raise RuntimeError("injected")

def slow_summary(args):
    pathlib.Path(sys.argv[2]).touch()  # now inside the command: the test may press Ctrl+C
    time.sleep(120)

summary_cmd.cmd_summary = {"bug": summary_with_a_bug, "slow": slow_summary}[sys.argv[1]]
sys.exit(main.main(sys.argv[3:]))
"""


def test_an_internal_error_in_a_real_process_saves_its_report_in_the_users_log_folder(tmp_path):
    done = subprocess.run([sys.executable, "-c", _CHILD, "bug", "-", "summary", "zoo:lenet5"], capture_output=True,
                          text=True, env=_env(tmp_path), timeout=120)
    assert done.returncode == 2
    assert "internal error: RuntimeError: injected — a report was saved to" in one_line(done.stderr)
    reports = list((tmp_path / ".local" / "state" / "neuralforge" / "log").glob("crash-*.txt"))
    assert len(reports) == 1 and "RuntimeError: injected" in reports[0].read_text()


def test_ctrl_c_in_a_real_process_is_one_line_and_status_130(tmp_path):
    inside = tmp_path / "inside"
    child = subprocess.Popen([sys.executable, "-c", _CHILD, "slow", str(inside), "summary", "zoo:lenet5"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(tmp_path))
    deadline = time.monotonic() + 60
    while not inside.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130 and out == "" and err == "neuralforge: interrupted\n"


@pytest.mark.slow
def test_ctrl_c_during_training_stops_after_a_checkpoint_without_a_traceback(tmp_path):
    graph, store = tmp_path / "digits.nfg", tmp_path / "store.db"
    save_graph(digits_mlp(), graph)
    # its own session, so that Ctrl+C reaches the command and its worker together, as a terminal sends it
    child = subprocess.Popen([*_neuralforge(), "train", str(graph), "--dataset", "digits", "--epochs", "500",
                              "--store", str(store)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=_env(tmp_path), start_new_session=True)
    assert child.stdout is not None
    first = child.stdout.readline()  # "run ID: training digits-mlp on digits (500 epochs) in a worker process"
    run_id = first.split(":")[0].removeprefix("run ")
    for line in child.stdout:
        if line.startswith("epoch 1/500"):
            break
    os.killpg(child.pid, signal.SIGINT)
    rest, err = child.communicate(timeout=120)
    assert child.returncode == 0 and "Traceback" not in err, err
    assert "stopping after the current step (a checkpoint is written)" in err
    assert rest.strip().splitlines()[-1].startswith(f"run {run_id} stopped:")
    assert (store.parent / "runs" / run_id / "checkpoints" / "latest.json").exists()
    listed = subprocess.run([*_neuralforge(), "runs", "list", "--json", "--store", str(store)], capture_output=True,
                            text=True, env=_env(tmp_path), timeout=120)
    assert json.loads(listed.stdout)[0]["status"] == "stopped"
