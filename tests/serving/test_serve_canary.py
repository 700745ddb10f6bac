"""Real Ray Serve on this machine: two versions of a tiny model with a 20 % canary, one local Ray instance for
the module. Each request goes through the HTTP proxy, the router and a model replica."""

from __future__ import annotations

import functools
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .http import free_port, get, post
from .models import expected_prediction, export_scaled_sum
from .recorder_double import ListRecorder, feedback_path, read_records

pytestmark = pytest.mark.slow

FACTORS = {"1": 1.0, "2": 2.0}
INSTANCE = [1.0, 2.0, 3.0, 4.0]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from ray import cloudpickle

    from neuralforge_desktop.core.serving.lifecycle import RayServe, cpus_needed
    from neuralforge_desktop.core.serving.resolve import resolve_plan
    from neuralforge_desktop.core.serving.spec import plan_traffic

    from . import recorder_double

    folder = tmp_path_factory.mktemp("serve")
    files = {v: export_scaled_sum(folder / f"v{v}.onnx", f) for v, f in FACTORS.items()}
    config = resolve_plan(plan_traffic("toy@1", "toy@2", 20, None), onnx_files=files, port=free_port(), seed=7)
    records = folder / "records.jsonl"
    # the double runs in the router's process, which cannot import the test package: send its code along
    cloudpickle.register_pickle_by_value(recorder_double)
    ray_temp = Path(tempfile.mkdtemp(prefix="nfray", dir="/tmp"))  # short: Ray's socket paths have a limit
    serve = RayServe(host="127.0.0.1", port=config.port, num_cpus=2, temp_dir=ray_temp)
    serve.start(cpus_needed(config))
    try:
        url = serve.deploy(config, functools.partial(ListRecorder, str(records)))
        yield {"predict": url, "base": serve.base_url(), "records": records}
    finally:
        serve.stop()
        shutil.rmtree(ray_temp, ignore_errors=True)


def _predict(url: str, key: str | None = None, in_body: bool = False) -> tuple[int, dict]:
    body: dict = {"instances": [INSTANCE]}
    headers = {}
    if key is not None and in_body:
        body["key"] = key
    elif key is not None:
        headers["X-Request-Key"] = key
    return post(url, body, headers)


def test_canary_gets_its_share_and_each_version_answers_with_its_own_model(server):
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: _predict(server["predict"]), range(1000)))
    assert all(status == 200 for status, _ in answers), [a for a in answers if a[0] != 200][:3]
    versions = [body["model_version"] for _, body in answers]
    assert set(versions) == {"1", "2"}
    canary_share = versions.count("2") / len(versions)
    assert 0.16 <= canary_share <= 0.24, canary_share
    for _, body in answers:
        assert body["predictions"] == [expected_prediction(FACTORS[body["model_version"]], INSTANCE)]
    assert len({body["prediction_id"] for _, body in answers}) == 1000


def test_a_request_key_always_gets_the_same_version(server):
    for key in ("customer-17", "customer-42", "ünïcode-key"):
        header_versions = {_predict(server["predict"], key)[1]["model_version"] for _ in range(15)}
        body_versions = {_predict(server["predict"], key, in_body=True)[1]["model_version"] for _ in range(5)}
        assert len(header_versions | body_versions) == 1, (key, header_versions, body_versions)
    # different keys still split between the versions
    spread = {_predict(server["predict"], f"user-{i}")[1]["model_version"] for i in range(60)}
    assert spread == {"1", "2"}


@pytest.mark.parametrize(("body", "named"), [
    (b'{"instances": [[1, 2, 3, 4]', "not valid JSON"),
    (b'{"inputs": [[1, 2, 3, 4]]}', '"instances" is missing'),
    (b'{"instances": []}', '"instances" must be a non-empty list'),
    (b'{"instances": [[1, 2, 3, 4], [1, 2, 3]]}', "instances[1]: expected shape (4,)"),
    (b'{"instances": [[1, 2, "x", 4]]}', "instances[0]"),
    (b'{"instances": [[1, 2, 3, 4]], "key": 5}', '"key" must be a string'),
])
def test_a_malformed_request_gets_400_naming_the_field_and_the_next_one_succeeds(server, body, named):
    status, answer = post(server["predict"], body, {"Content-Type": "application/json"})
    assert status == 400
    assert named in answer["error"]
    status, answer = _predict(server["predict"])
    assert status == 200 and answer["predictions"] == [expected_prediction(FACTORS[answer["model_version"]],
                                                                           INSTANCE)]


def test_metadata_readiness_health_and_unknown_models(server):
    status, meta = get(server["base"] + "/v1/models/toy")
    assert status == 200 and meta["ready"] is True
    assert meta["input_shape"] == [4]
    assert meta["traffic"]["weights"] == {"1": 80.0, "2": 20.0}
    assert [v["version"] for v in meta["model_version_status"]] == ["1", "2"]
    assert {v["state"] for v in meta["model_version_status"]} == {"AVAILABLE"}
    assert get(server["base"] + "/healthz") == (200, {"status": "ok"})
    status, answer = post(server["base"] + "/v1/models/other:predict", {"instances": [INSTANCE]})
    assert status == 404 and "'toy'" in answer["error"]


def test_every_request_is_recorded_with_its_version_outcome_and_id(server):
    status, answer = _predict(server["predict"], key="recorded-key")
    assert status == 200
    bad_status, bad = post(server["predict"], b"{oops")
    assert bad_status == 400
    records = {r["id"]: r for r in read_records(server["records"])}
    good = records[answer["prediction_id"]]
    assert (good["version"], good["ok"], good["status"], good["request_key"]) == \
        (answer["model_version"], True, 200, "recorded-key")
    assert good["inputs"] == [INSTANCE] and good["predictions"] == answer["predictions"]
    assert good["latency_ms"] > 0
    failed = records[bad["prediction_id"]]
    assert (failed["ok"], failed["status"], failed["inputs"]) == (False, 400, None)


@pytest.mark.parametrize(("body", "named"), [
    ({"label": 3}, '"prediction_id" is missing'),
    ({"prediction_id": "abc"}, '"label" is missing'),
    ({"prediction_id": "not an id!", "label": 3}, "prediction_id"),
    (b"[1, 2]", "JSON object"),
    (b"{oops", "not valid JSON"),
])
def test_bad_feedback_gets_400_naming_the_field(server, body, named):
    status, answer = post(server["predict"].replace(":predict", ":feedback"), body)
    assert status == 400 and named in answer["error"]


def test_a_label_sent_back_reaches_the_recorder(server):
    status, answer = _predict(server["predict"])
    assert status == 200
    status, reply = post(server["predict"].replace(":predict", ":feedback"),
                         {"prediction_id": answer["prediction_id"], "label": 7})
    assert status == 200 and reply == {"prediction_id": answer["prediction_id"], "matched": True}
    sent = read_records(feedback_path(server["records"]))
    assert {"prediction_id": answer["prediction_id"], "label": 7} in sent
