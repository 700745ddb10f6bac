"""The live Coach: it reports a finding once, again only when it gets worse, at once when the loss turns NaN or
leaps in the first epoch, and keeps what it reported in coach.json."""

from __future__ import annotations

import math

import pytest

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.training.coach.live import LiveCoach, saved_findings
from neuralforge_desktop.core.training.config import TrainConfig
from tests.coach.contexts import healthy_data, healthy_diagnostics


def coach(tmp_path=None, **kwargs) -> LiveCoach:
    diagnostics = healthy_diagnostics()
    return LiveCoach(zoo.build("mnist-cnn"), TrainConfig(), healthy_data(), loss_name="CrossEntropyLoss",
                     steps_per_epoch=140, diagnostics=lambda: diagnostics, folder=tmp_path, **kwargs)


def feed(live: LiveCoach, values: list[float], start: int = 10) -> list:
    found = []
    for i, value in enumerate(values):
        found += live.step(start + 10 * i, value)
    return found


def test_a_healthy_run_hears_nothing(tmp_path):
    live = coach(tmp_path)
    assert feed(live, [2.2 * math.exp(-i / 5) + 0.1 for i in range(14)]) == []
    assert live.epoch_end(140, {"train/loss": 0.6, "train/acc": 0.8, "val/loss": 0.3, "val/acc": 0.9}) == []
    assert live.finish("finished") == [] and live.findings == []


def test_a_divergence_in_the_first_epoch_is_reported_at_once_and_only_once(tmp_path):
    live = coach(tmp_path)
    found = feed(live, [2.3, 1.4e5])
    assert [f.kind for f in found] == ["lr_too_high"] and found[0].step == 20
    assert feed(live, [3e5, 2.5], start=30) == []
    assert [f.kind for f in live.epoch_end(140, {"train/loss": 9e4, "train/acc": 0.1})] == []
    assert [f.kind for f in saved_findings(tmp_path)] == ["lr_too_high"]  # kept as it goes, for a crash


def test_a_nan_loss_is_an_error_at_once():
    live = coach()
    found = feed(live, [2.3, 1.9, math.nan])
    assert [(f.kind, f.severity) for f in found] == [("loss_nan", "error")] and found[0].step == 30


def test_a_plateau_is_reported_once_when_it_covers_half_the_run():
    live = coach()
    falling = [2.5 - 1.5 * i / 29 for i in range(30)]  # 2.5 → 1.0, then flat at 0.5
    flat = [0.5 + 0.001 * (i % 2) for i in range(18)]
    feed(live, falling + flat)
    assert live.epoch_end(480, {"train/loss": 0.5}) == []  # flat for the last third only: how converging looks
    feed(live, flat, start=490)
    feed(live, flat, start=670)
    found = live.epoch_end(850, {"train/loss": 0.5})
    assert [(f.kind, f.severity) for f in found] == [("plateau", "warning")]  # flat for most of the run now
    feed(live, flat[:6], start=860)
    assert live.epoch_end(910, {"train/loss": 0.5}) == []  # the same finding, no worse: nothing new
    assert [f.kind for f in live.findings] == ["plateau"]


def test_a_finding_that_gets_worse_is_new_again():
    live = coach()
    feed(live, [2.2 * math.exp(-i / 5) + 0.1 for i in range(14)])
    live.context.data.leaked = 30  # 3 % of the validation split: a warning …
    first = live.epoch_end(140, {"train/loss": 0.6})
    assert [(f.kind, f.severity) for f in first] == [("data_leakage", "warning")]
    assert live.epoch_end(280, {"train/loss": 0.3}) == []  # the same finding, no worse: nothing new
    live.context.data.leaked = 100  # … 10 %: an error
    again = live.epoch_end(420, {"train/loss": 0.2})
    assert [(f.kind, f.severity) for f in again] == [("data_leakage", "error")]
    assert [f.severity for f in live.findings] == ["error"]


def test_a_resumed_run_does_not_repeat_what_was_reported(tmp_path):
    first = coach(tmp_path)
    feed(first, [2.3, 1.4e5])
    resumed = coach(tmp_path, resumed=True)
    assert feed(resumed, [2.3, 2e5], start=100) == []
    assert [f.kind for f in resumed.findings] == ["lr_too_high"]


@pytest.mark.parametrize("log_every", [2, 50])  # seen at a logged step, or only in the epoch's mean loss
def test_a_run_whose_loss_turns_nan_says_so_and_keeps_the_finding(tmp_path, log_every):
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.training.engine import Trainer
    from neuralforge_desktop.core.training.runner import prepare_run

    from training_graphs import digits_mlp

    store = Store(tmp_path / "store.db")
    config = TrainConfig(dataset="digits", epochs=1, lr=1e20, optimizer="sgd", log_every=log_every, limit=300)
    run_id, folder = prepare_run(digits_mlp(), config, store)
    events = []
    result = Trainer(digits_mlp(), config, run_id, folder, events.append, store).run()
    kinds = [e.kind for e in events]
    assert result.status == "failed" and kinds[-1] == "failed" and events[-1].user_error
    assert "the loss became nan" in events[-1].error
    coach_events = [e.finding for e in events if e.kind == "coach"]
    assert coach_events[0]["kind"] == "loss_nan" and kinds.index("coach") < kinds.index("failed")
    assert "loss_nan" in {f.kind for f in saved_findings(folder)}  # kept for `coach RUN`
    assert not math.isfinite(store.metric_history(run_id, "train/loss_step").values[-1])
