"""The trainer as users rely on it: the event stream, the store record, stop/pause, exact resume after a
kill -9, and clear errors when graph and dataset do not fit."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
import torch
from safetensors.torch import load_file

from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.checkpoints import latest_checkpoint
from neuralforge_desktop.core.training.config import ConfigError, TrainConfig
from neuralforge_desktop.core.training.engine import Trainer
from neuralforge_desktop.core.training.events import (
    FailedEvent,
    FinishedEvent,
    PausedEvent,
    ResumedEvent,
    StepEvent,
    read_event_log,
)
from neuralforge_desktop.core.training.loop_state import LoopState
from neuralforge_desktop.core.training.runner import TrainingProcess, prepare_run

from training_graphs import digits_mlp


def config(**overrides):
    base = dict(dataset="digits", epochs=3, batch_size=32, lr=3e-3, seed=7, threads=1, log_every=5)
    base.update(overrides)
    return TrainConfig(**base)


def test_in_process_run_emits_events_and_records_the_run(tmp_path):
    store = Store(tmp_path / "store.db")
    graph = digits_mlp()
    run_id, folder = prepare_run(graph, config(), store, "tests")
    events = []
    result = Trainer(graph, config(), run_id, folder, events.append, store).run()
    kinds = [e.kind for e in events]
    assert kinds[0] == "started" and kinds[-1] == "finished"
    assert kinds.count("epoch") == 3 and kinds.count("checkpoint") == 3 and "step" in kinds
    assert all(e.run_id == run_id for e in events)
    assert result.status == "finished" and result.best_metric > 0.85
    run = store.get_run(run_id)
    assert run.status == "finished" and run.checksum and len(run.checksum) == 64
    assert run.environment["torch"].startswith("2.13")
    assert store.metric_history(run_id, "val/acc").values.shape == (3,)
    final = events[-1].final
    matrix = torch.tensor(final["confusion_matrix"])
    assert matrix.shape == (10, 10) and int(matrix.sum()) == final_split_size(events)
    assert len(final["per_class_acc"]) == 10
    assert {a.name for a in store.list_artifacts(run_id)} == {"graph.nfg", "model.safetensors", "coach.json"}


def final_split_size(events):
    started = events[0].dataset
    return started["val"]


def test_same_seed_same_checksum_different_seed_different(tmp_path):
    store = Store(tmp_path / "store.db")
    sums = []
    for seed in (1, 1, 2):
        graph = digits_mlp()
        cfg = config(epochs=1, seed=seed)
        run_id, folder = prepare_run(graph, cfg, store, "tests")
        Trainer(graph, cfg, run_id, folder, lambda e: None, store).run()
        sums.append(store.get_run(run_id).checksum)
    assert sums[0] == sums[1] != sums[2]


def test_graph_that_does_not_fit_the_dataset_fails_with_a_clear_event(tmp_path):
    c = Composer("wrong")
    x = c.input("image", [1, 28, 28])
    c.output(c.layer("Linear", c.layer("Flatten", x, "flat"), "fc", out_features=10), "logits")
    graph = c.done()
    store = Store(tmp_path / "store.db")
    run_id, folder = prepare_run(graph, config(epochs=1), store, "tests")
    events = []
    result = Trainer(graph, config(epochs=1), run_id, folder, events.append, store).run()
    assert result.status == "failed"
    assert "Input 'image' has shape (1, 28, 28) but dataset digits gives (1, 8, 8)" in events[-1].error
    assert events[-1].user_error and events[-1].traceback == ""
    assert store.get_run(run_id).status == "failed"


def test_a_failure_that_is_not_the_users_keeps_its_traceback(tmp_path):
    store = Store(tmp_path / "store.db")
    run_id, folder = prepare_run(digits_mlp(), config(epochs=1), store, "tests")
    events = []
    result = Trainer(digits_mlp(), config(epochs=1), run_id, folder, events.append, store).run(resume=True)
    failed = events[-1]
    assert result.status == "failed" and isinstance(failed, FailedEvent) and not failed.user_error
    assert failed.error == f"RuntimeError: run {run_id} has no checkpoint to resume from"
    assert "Traceback" in failed.traceback and "raise RuntimeError" in failed.traceback


def test_config_errors_name_the_field():
    with pytest.raises(ConfigError, match="optimizer: one of sgd, adam"):
        TrainConfig(optimizer="adamax").validate()
    with pytest.raises(ConfigError, match="epochs: must be at least 1"):
        TrainConfig(epochs=0).validate()


@pytest.mark.parametrize(("setting", "message"), [
    ({"lr": float("inf")}, "lr: must be a finite number above 0, got inf"),
    ({"lr": float("nan")}, "lr: must be a finite number above 0, got nan"),
    ({"weight_decay": float("nan")}, "weight_decay: must be a finite number ≥ 0"),
    ({"grad_clip": float("inf")}, "grad_clip: must be a finite number above 0, got inf"),
    ({"seed": -1}, "seed: must be from 0 to 4294967295, got -1"),
    ({"seed": 2**32}, "seed: must be from 0 to 4294967295"),
    ({"limit": 0}, "limit: must be at least 1, got 0"),
])
def test_settings_that_no_run_could_use_are_refused(setting, message):
    # the app and a run folder's config.json reach the trainer without the CLI's option checks
    with pytest.raises(ConfigError) as caught:
        TrainConfig(**setting).validate()
    assert str(caught.value).startswith(message)


def test_the_largest_seed_seeds_augmentation():
    from neuralforge_desktop.core.training.engine import _augment

    cfg = TrainConfig(seed=2**32 - 1, augment_flip=True, augment_crop=2).validate()
    batch = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    assert _augment(batch, cfg, epoch=7, step=99).shape == batch.shape


def _final_weights(folder):
    tag = latest_checkpoint(folder / "checkpoints")
    return load_file(str(folder / "checkpoints" / f"{tag}.safetensors"))


@pytest.mark.slow
def test_kill_9_mid_epoch_then_resume_gives_identical_weights(tmp_path):
    store = Store(tmp_path / "store.db")
    cfg = config(epochs=4)
    ref_id, ref_folder = prepare_run(digits_mlp(), cfg, store, "reference")
    ref = TrainingProcess(ref_folder).start()
    assert isinstance(list(ref.events())[-1], FinishedEvent)
    expected = _final_weights(ref_folder)

    run_id, folder = prepare_run(digits_mlp(), cfg, store, "crash")
    proc = TrainingProcess(folder).start()
    for event in proc.events():
        if isinstance(event, StepEvent) and event.epoch == 2:  # mid-epoch, after the epoch-1 checkpoint
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    assert store.mark_crashed_runs() == [run_id]
    assert store.get_run(run_id).status == "crashed"
    with store._db.read() as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    resumed = TrainingProcess(folder, resume=True).start()
    events = list(resumed.events())
    assert events[0].resumed_from > 0 and isinstance(events[-1], FinishedEvent)
    assert store.get_run(run_id).status == "finished"
    actual = _final_weights(folder)
    assert actual.keys() == expected.keys()
    for key in expected:
        assert torch.equal(actual[key], expected[key]), key


@pytest.mark.slow
def test_stop_and_pause_through_the_control_file(tmp_path):
    store = Store(tmp_path / "store.db")
    cfg = config(epochs=50, log_every=1)
    run_id, folder = prepare_run(digits_mlp(), cfg, store, "control")
    proc = TrainingProcess(folder).start()
    seen = []
    for event in proc.events():
        seen.append(event.kind)
        if isinstance(event, StepEvent) and "paused" not in seen and event.step >= 3:
            proc.pause()
        if isinstance(event, PausedEvent):
            assert store.get_run(run_id).status == "paused"
            time.sleep(0.3)
            proc.resume_training()
        if isinstance(event, ResumedEvent):
            proc.stop()
    assert proc.wait() == 0
    assert seen.index("paused") < seen.index("resumed") < seen.index("stopped")
    assert store.get_run(run_id).status == "stopped"
    assert latest_checkpoint(folder / "checkpoints") is not None
    assert json.loads((folder / "control.json").read_text())["command"] == "stop"


def test_checkpoints_written_before_the_loop_state_still_resume():
    # The "loop" entry of a mid-epoch checkpoint as the trainer has always saved it: a plain dict.
    saved = {"epoch": 1, "step_in_epoch": 17, "global_step": 61, "best": 0.82, "best_epoch": 1, "stale_epochs": 0,
             "sums": [30.5, 400, 544]}
    state = LoopState.from_checkpoint(saved)
    assert (state.epoch, state.step_in_epoch, state.global_step, state.best) == (1, 17, 61, 0.82)
    assert (state.carried_loss, state.carried_correct, state.carried_seen) == (30.5, 400, 544)
    assert state.to_checkpoint() == saved


def test_a_worker_given_a_bad_setting_fails_with_a_user_error_event(tmp_path):
    store = Store(tmp_path / "store.db")
    run_id, folder = prepare_run(digits_mlp(), config(epochs=1), store, "tests")
    settings = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**settings, "epochs": 0}))  # edited by hand
    proc = TrainingProcess(folder).start()
    events = list(proc.events())
    assert proc.wait() == 1
    assert len(events) == 1 and isinstance(events[0], FailedEvent)
    assert events[0].user_error and events[0].error == "epochs: must be at least 1, got 0"
    assert events[0].traceback == "" and events[0].run_id == run_id
    assert list(read_event_log(folder / "events.jsonl")) == events
    assert store.get_run(run_id).status == "failed"
