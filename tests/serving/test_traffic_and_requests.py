"""The traffic split, the command line's split options and the request checks, without Ray."""

from __future__ import annotations

import random

import numpy as np
import pytest

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.serving.inputs import BadRequest, instances_to_array, parse_predict_body
from neuralforge_desktop.core.serving.spec import InputSpec, Replicas, parse_replicas, plan_traffic
from neuralforge_desktop.core.serving.traffic import TrafficError, TrafficState, key_point, version_at


def test_weighted_draws_follow_the_weights():
    state = TrafficState(weights={"1": 80.0, "2": 20.0}, primary="1")
    rng = random.Random(3)
    picks = [state.pick(None, rng) for _ in range(20_000)]
    assert abs(picks.count("2") / len(picks) - 0.2) < 0.01


def test_a_key_maps_to_the_same_version_every_time_and_keys_spread_by_weight():
    state = TrafficState(weights={"1": 50.0, "2": 50.0}, primary="1")
    rng = random.Random(0)
    for key in ("a", "customer-9", "ü"):
        assert len({state.pick(key, rng) for _ in range(10)}) == 1
    assert key_point("customer-9") == key_point("customer-9")  # SHA-256: the same in every process
    share = sum(state.pick(f"k{i}", rng) == "2" for i in range(4000)) / 4000
    assert abs(share - 0.5) < 0.03


def test_slices_follow_the_order_of_the_weights_and_skip_versions_without_traffic():
    weights = {"1": 0.0, "2": 30.0, "3": 70.0}
    assert version_at(weights, 0.0) == "2"
    assert version_at(weights, 0.2999) == "2"
    assert version_at(weights, 0.3) == "3"
    assert version_at(weights, 0.999999) == "3"


def test_promote_sends_everything_to_the_canary_and_rollback_undoes_it_step_by_step():
    state = TrafficState(weights={"1": 90.0, "2": 10.0}, primary="1")
    assert state.promote() == "2"
    assert state.weights == {"1": 0.0, "2": 100.0} and state.history == ["1"]
    assert state.rollback() == "1"
    assert state.weights == {"1": 100.0, "2": 0.0}
    with pytest.raises(TrafficError, match="nothing to roll back to"):
        state.rollback()


def test_rollback_during_a_canary_stops_the_canary():
    state = TrafficState(weights={"1": 90.0, "2": 10.0}, primary="1")
    assert state.rollback() == "1"
    assert state.weights == {"1": 100.0, "2": 0.0}


def test_promote_in_an_ab_split_needs_the_version():
    state = TrafficState(weights={"1": 40.0, "2": 30.0, "3": 30.0}, primary="1")
    with pytest.raises(TrafficError, match="name the version"):
        state.promote()
    with pytest.raises(TrafficError, match="'9' is not served"):
        state.promote("9")
    assert state.promote("3") == "3"


@pytest.mark.parametrize(("weights", "message"), [
    ({"1": 60.0, "2": 30.0}, "add up to 100, got 90"),
    ({"1": 110.0, "2": -10.0}, "version 2: traffic weight must not be negative"),
    ({}, "no version"),
])
def test_bad_weights_are_refused(weights, message):
    with pytest.raises(TrafficError, match=message):
        TrafficState(weights=weights, primary=next(iter(weights), "1"))


def test_plans_from_the_command_line():
    canary = plan_traffic("mnist@production", "mnist@2", 20, None)
    assert canary.refs == ("mnist@production", "mnist@2") and canary.percents == (80.0, 20.0)
    assert plan_traffic("mnist", "mnist@2", None, None).percents == (90.0, 10.0)
    ab = plan_traffic("mnist", None, None, "mnist@1=50,mnist@2=50")
    assert ab.refs == ("mnist@1", "mnist@2") and ab.percents == (50.0, 50.0)
    assert plan_traffic("mnist@3", None, None, None).refs == ("mnist@3",)


@pytest.mark.parametrize(("args", "message"), [
    (("m", "m@2", 10, "m@1=50,m@2=50"), "cannot be used together"),
    (("m", None, 10, None), "--canary-percent needs --canary"),
    (("m", "other@2", 10, None), "names model 'other'"),
    (("m", "m", 10, None), "--canary needs a version"),
    (("m", "m@2", 100, None), "between 0 and 100"),
    (("m", None, None, "m@1=50,m@2"), "expected NAME@VERSION=PERCENT, got 'm@2'"),
    (("m", None, None, "m@1=fifty,m@2=50"), "got 'm@1=fifty'"),
    (("m", None, None, "m@1=100"), "two versions or more"),
    (("m", None, None, "m@1=50,m@2=40"), "add up to 100, got 90"),
])
def test_bad_split_options_are_refused_naming_the_option(args, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        plan_traffic(*args)


def test_replicas_become_a_fixed_count_or_autoscaling_by_ongoing_requests():
    from ray.serve.config import AutoscalingConfig

    from neuralforge_desktop.core.serving.application import scaling_options

    assert scaling_options(Replicas(2, 2)) == {"num_replicas": 2}
    autoscaling = scaling_options(Replicas(1, 4, target_ongoing_requests=6))["autoscaling_config"]
    checked = AutoscalingConfig(**autoscaling)  # Serve's own validation of the settings
    assert (checked.min_replicas, checked.max_replicas, checked.target_ongoing_requests) == (1, 4, 6)


def test_replicas_option():
    assert parse_replicas("2") == (2, 2)
    assert parse_replicas("1:4") == (1, 4)
    for bad in ("0", "3:1", "a:b", "1:2:3"):
        with pytest.raises(UserError, match="--replicas"):
            parse_replicas(bad)


SPEC = InputSpec(name="pixels", shape=(2, None), dtype="float32")


def test_instances_become_one_batch_of_the_model_dtype():
    batch = instances_to_array([[[1, 2, 3], [4, 5, 6]], [[0, 0, 0], [1, 1, 1]]], SPEC)
    assert batch.shape == (2, 2, 3) and batch.dtype == np.float32


@pytest.mark.parametrize(("instances", "message"), [
    ([[[1, 2], [3, 4]], [[1, 2]]], "instances[1]: expected shape (2, any) for input 'pixels', received (1, 2)"),
    ([[[1, 2], [3, "four"]]], "instances[0]: expected float32 numbers"),
    ([[1, 2, 3]], "instances[0]: expected shape (2, any)"),
])
def test_instances_that_do_not_fit_name_the_instance(instances, message):
    with pytest.raises(BadRequest) as refused:
        instances_to_array(instances, SPEC)
    assert message in str(refused.value)


@pytest.mark.parametrize(("body", "message"), [
    (b"\xff\xfe", "not valid JSON"),
    (b"[1, 2]", 'must be a JSON object with an "instances" list, got a list'),
    (b'{"data": 1}', 'field "instances" is missing (fields received: data)'),
    (b'{"instances": {"a": 1}}', 'field "instances" must be a non-empty list, got an object'),
    (b'{"instances": [1], "key": ["k"]}', 'field "key" must be a string, got a list'),
])
def test_malformed_bodies_name_the_field(body, message):
    with pytest.raises(BadRequest) as refused:
        parse_predict_body(body)
    assert message in str(refused.value)


def test_a_body_with_a_key():
    parsed = parse_predict_body(b'{"instances": [[1]], "key": "user-1"}')
    assert parsed.instances == [[1]] and parsed.key == "user-1"
