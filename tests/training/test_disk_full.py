"""A full disk during training: the run ends "failed" with the reason, the last good checkpoint stays usable,
and the store stays consistent.

On one shared disk the checkpoint is what fills it (its files are by far the largest writes) and its
half-written temporary file is removed, which leaves room for the store to record the failure. The event
log and the store filling first are tried on their own: the log through ``/dev/full``, the store on a disk
of its own with the run folder elsewhere. Size-limited disks are tmpfs mounts, which need root on Linux.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.serialize import save_graph
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.checkpoints import latest_checkpoint
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.events import FailedEvent, StartedEvent
from neuralforge_desktop.core.training.runner import TrainingProcess, prepare_run

from training_graphs import digits_mlp

MiB = 1 << 20


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "neuralforge_desktop", *argv], capture_output=True, text=True,
                          timeout=300)


def _integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture
def small_disk(tmp_path: Path) -> Callable[[str, int], Path]:
    """``small_disk(name, bytes)``: a tmpfs of that size at tmp_path/name, unmounted after the test."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("a size-limited disk here is a tmpfs mount, which needs root on Linux")
    mounted: list[Path] = []

    def mount(name: str, size: int) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                              capture_output=True, text=True)
        if proc.returncode:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _grow(disk: Path, size: int) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(disk)], check=True)


def _wide_digits(path: Path) -> Path:
    """A digits classifier with a 2048-unit layer: ~0.6 MB of weights, ~1.8 MB per resumable checkpoint."""
    c = Composer("wide-digits")
    x = c.layer("Flatten", c.input("image", [1, 8, 8]), "flat")
    x = c.layer("ReLU", c.layer("Linear", x, "fc1", out_features=2048), "relu")
    logits = c.layer("Linear", x, "fc2", out_features=10)
    c.output(logits, "logits")
    c.layer("CrossEntropyLoss", {"input": logits, "target": c.input("label", [], dtype="int64", role="target")},
            "loss")
    save_graph(c.done(), path)
    return path


@pytest.mark.slow
def test_a_disk_filled_by_checkpoints_fails_the_run_and_keeps_the_last_good_checkpoint(tmp_path, small_disk):
    disk = small_disk("disk", 6 * MiB)  # room for two epochs' checkpoints, not for six
    store = disk / "store.db"
    proc = _cli("train", str(_wide_digits(tmp_path / "wide.nfg")), "--dataset", "digits", "--epochs", "6",
                "--limit", "400", "--seed", "1", "--store", str(store))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    run_id = proc.stdout.split()[1].rstrip(":")
    failed = re.fullmatch(rf"neuralforge: run {run_id} failed: disk full while writing (checkpoint epoch-(\d{{4}}) "
                          rf"in \S+|the best checkpoint in \S+) \(No space left on device\); free some space or "
                          rf"use another location\n", proc.stderr)
    assert failed, proc.stderr
    assert _integrity(store) == "ok"
    shown = _cli("runs", "show", run_id, "--store", str(store)).stdout.splitlines()
    assert "[failed]" in shown[0] and shown[1].startswith("  failed: disk full while writing ")
    # The checkpoint latest.json names is complete, and is the one before the checkpoint that did not fit.
    checkpoints = disk / "runs" / run_id / "checkpoints"
    last_good = latest_checkpoint(checkpoints)
    assert last_good is not None and last_good.startswith("epoch-")
    if failed.group(2):
        assert int(last_good.removeprefix("epoch-")) == int(failed.group(2)) - 1 >= 1
    # With room again, the run resumes from it and finishes.
    _grow(disk, 64 * MiB)
    resumed = _cli("resume", run_id, "--json", "--store", str(store))
    assert resumed.returncode == 0, resumed.stderr
    events = [json.loads(line) for line in resumed.stdout.splitlines()]
    saved_step = json.loads((checkpoints / "latest.json").read_text())
    assert events[0]["event"] == "started" and events[0]["resumed_from"] is not None
    assert events[-1]["event"] == "finished" and events[-1]["epochs"] == 6
    assert saved_step["tag"] == "epoch-0006"
    listed = json.loads(_cli("runs", "list", "--json", "--store", str(store)).stdout)
    assert listed[0]["status"] == "finished" and "reason" not in listed[0]["tags"]
    assert _integrity(store) == "ok"


def test_an_event_log_on_a_full_disk_fails_the_run_with_the_reason(tmp_path):
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full (a device whose writes always find the disk full) on this system")
    store = Store(tmp_path / "store.db")
    run_id, folder = prepare_run(digits_mlp(), TrainConfig(dataset="digits", epochs=2, threads=1), store, "full")
    (folder / "events.jsonl").symlink_to("/dev/full")
    process = TrainingProcess(folder).start()
    events = list(process.events())
    assert process.wait() == 1
    # The first event reached stdout; the write to the log that failed with it ended the run.
    assert isinstance(events[0], StartedEvent) and isinstance(events[-1], FailedEvent)
    reason = f"disk full while writing the event log {folder / 'events.jsonl'} (No space left on device)"
    assert events[-1].user_error and events[-1].error.startswith(reason) and events[-1].traceback == ""
    run = store.get_run(run_id)
    assert run.status == "failed" and run.tags["reason"] == events[-1].error
    assert (folder / "worker.log").read_text() == ""  # no traceback anywhere
    store.close()


@pytest.mark.slow
def test_a_store_on_a_full_disk_reports_the_reason_and_stays_consistent(tmp_path, small_disk):
    disk = small_disk("store-disk", 1 * MiB)  # the store's own disk ...
    (tmp_path / "runs").mkdir()
    (disk / "runs").symlink_to(tmp_path / "runs")  # ... and the run folders (checkpoints) elsewhere
    store = disk / "store.db"
    Store(store).close()
    room = os.statvfs(disk)
    (disk / "filler").write_bytes(bytes(room.f_bavail * room.f_frsize - 160 * 1024))  # 160 KiB left to fill
    graph = tmp_path / "digits.nfg"
    save_graph(digits_mlp(), graph)
    proc = _cli("train", str(graph), "--dataset", "digits", "--epochs", "200", "--batch-size", "8", "--limit", "400",
                "--store", str(store))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1
    assert f"failed: disk full while writing the store {store} (database or disk is full)" in proc.stderr
    assert _integrity(store) == "ok"
    run_id = proc.stdout.split()[1].rstrip(":")
    # When the store could not take the final status either (the usual case: the status needs new pages too),
    # the run shows as crashed once its worker is gone; otherwise as failed with the reason.
    _grow(disk, 16 * MiB)
    listed = json.loads(_cli("runs", "list", "--json", "--store", str(store)).stdout)
    if "the store could not record the failure" in proc.stderr:
        assert [(r["id"], r["status"]) for r in listed] == [(run_id, "crashed")]
    else:
        assert [(r["id"], r["status"]) for r in listed] == [(run_id, "failed")]
        assert listed[0]["tags"]["reason"].startswith("disk full while writing the store")
    with Store(store) as reopened:
        reopened.create_run("after", environment={})
    assert _integrity(store) == "ok"
