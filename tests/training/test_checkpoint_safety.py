"""A checkpoint is data: resuming never unpickles or runs anything from it, refuses a damaged or old-format
one with a message naming the file, and keeps every value of the resume state exact."""

from __future__ import annotations

import json
import math
import pickle

import pytest
import torch

from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.checkpoints import (
    CheckpointError,
    latest_checkpoint,
    load_state,
    save_checkpoint,
)
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.engine import Trainer
from neuralforge_desktop.core.training.events import FailedEvent, FinishedEvent
from neuralforge_desktop.core.training.runner import prepare_run

from training_graphs import digits_mlp


class _CreatesFile:
    """Unpickling this opens (so creates) the marker file: proof that the pickle ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _config(epochs):
    return TrainConfig(dataset="digits", epochs=epochs, batch_size=64, lr=3e-3, seed=3, threads=1, limit=256)


@pytest.fixture
def trained_run(tmp_path):
    """A run of one epoch, checkpointed, and a trainer that would continue it to two epochs."""
    store = Store(tmp_path / "store.db")
    graph = digits_mlp()
    run_id, folder = prepare_run(graph, _config(1), store, "tests")
    assert Trainer(graph, _config(1), run_id, folder, lambda e: None, store).run().status == "finished"
    events = []
    resumer = Trainer(digits_mlp(), _config(2), run_id, folder, events.append, store)
    return folder / "checkpoints", resumer, events


def test_a_pickle_in_an_old_format_checkpoint_never_runs(trained_run, tmp_path):
    checkpoints, resumer, events = trained_run
    tag = latest_checkpoint(checkpoints)
    marker = tmp_path / "pwned"
    for side in (f"{tag}.state.json", f"{tag}.state.safetensors"):  # as a previous version left a checkpoint
        (checkpoints / side).unlink(missing_ok=True)
    torch.save({"optimizer": _CreatesFile(marker)}, checkpoints / f"{tag}.state.pt")
    assert resumer.run(resume=True).status == "failed"
    assert not marker.exists()
    failed = events[-1]
    assert isinstance(failed, FailedEvent) and failed.user_error
    assert str(checkpoints / f"{tag}.state.pt") in failed.error and "older version" in failed.error


@pytest.mark.parametrize("side", ["state.json", "state.safetensors"])
def test_a_pickle_in_place_of_the_state_files_is_refused_and_never_runs(trained_run, tmp_path, side):
    checkpoints, resumer, events = trained_run
    tag = latest_checkpoint(checkpoints)
    marker = tmp_path / "pwned"
    (checkpoints / f"{tag}.{side}").write_bytes(pickle.dumps({"optimizer": _CreatesFile(marker)}))
    assert resumer.run(resume=True).status == "failed"
    assert not marker.exists()
    assert events[-1].user_error and str(checkpoints / f"{tag}.{side}") in events[-1].error


def test_a_state_that_does_not_fit_the_run_is_refused_by_name(trained_run):
    checkpoints, resumer, events = trained_run
    tag = latest_checkpoint(checkpoints)
    path = checkpoints / f"{tag}.state.json"
    document = json.loads(path.read_text())
    document["state"] = {"dict": [["optimizer", {"dict": []}], ["loop", {"dict": []}]]}
    path.write_text(json.dumps(document))
    assert resumer.run(resume=True).status == "failed"
    assert events[-1].user_error and events[-1].error.startswith(f"{path}: does not fit this run")


def test_an_intact_checkpoint_resumes(trained_run):
    _, resumer, events = trained_run
    assert resumer.run(resume=True).status == "finished"
    assert isinstance(events[-1], FinishedEvent) and events[0].resumed_from > 0


@pytest.mark.parametrize("document", [
    "not json", '{"format": "neuralforge-checkpoint-state/1", "state": {"dict": [[["a list"], 1]]}}',
    '{"format": "neuralforge-checkpoint-state/1", "state": {"tensor": "t99"}}',
    '{"format": "neuralforge-checkpoint-state/1", "state": {"eval": "1 + 1"}}',
    '{"format": "neuralforge-checkpoint-state/1", "state": ' + "[" * 100_000 + "]" * 100_000 + "}",
    '{"format": "pickle", "state": {}}',
])
def test_a_damaged_state_file_is_a_user_error_naming_it(tmp_path, document):
    save_checkpoint(tmp_path, "epoch-0001", torch.nn.Linear(2, 2), {"epoch": 1, "rng_cpu": torch.get_rng_state()})
    (tmp_path / "epoch-0001.state.json").write_text(document)
    with pytest.raises(CheckpointError, match=str(tmp_path / "epoch-0001.state.json")):
        load_state(tmp_path, "epoch-0001")


@pytest.mark.parametrize("marker", ['{"tag": "../../elsewhere/model"}', '{"tag": 3}', "{", '{"no": "tag"}'])
def test_a_latest_marker_that_names_no_tag_is_refused(tmp_path, marker):
    (tmp_path / "latest.json").write_text(marker)
    with pytest.raises(CheckpointError, match="latest.json"):
        latest_checkpoint(tmp_path)


def test_the_resume_state_reads_back_exactly(tmp_path):
    model = torch.nn.Linear(4, 3)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.8, 0.99))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=10)
    for _ in range(2):
        model(torch.randn(5, 4)).pow(2).sum().backward()
        optimizer.step()
        scheduler.step()
    state = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "scaler": {},
             "rng_cpu": torch.get_rng_state(), "rng_cuda": None,
             "loop": {"best": 1 / 3, "sums": [math.nan, 7, 2**70], "flag": True}}
    save_checkpoint(tmp_path, "step-00000002", model, state)
    loaded = load_state(tmp_path, "step-00000002")
    _assert_same(loaded, state)


def _assert_same(actual, expected):
    assert type(actual) is type(expected)
    if isinstance(expected, torch.Tensor):
        assert actual.dtype == expected.dtype and torch.equal(actual, expected.cpu())
    elif isinstance(expected, dict):
        assert list(actual) == list(expected)  # same keys (int keys stay ints), same order
        for key in expected:
            _assert_same(actual[key], expected[key])
    elif isinstance(expected, list | tuple):
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected, strict=True):
            _assert_same(a, e)
    elif isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(actual)
    else:
        assert actual == expected
