"""The pipeline file: every mistake is named by stage and key before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.pipeline.context import StageFailure, resolve
from neuralforge_desktop.core.pipeline.spec import PipelineFileError, load_pipeline

GOOD = """\
name: digits-release
stages:
  - name: train
    kind: train
    inputs: {graph: mlp.nfg, dataset: digits}
    options: {epochs: 1, limit: 200}
  - name: check
    kind: validate
    inputs: {run: "${train.run_id}"}
    pass: ["val/acc >= 0.9"]
  - name: onnx
    kind: export
    inputs: {run: "${check.run_id}"}
    options: {format: onnx}
  - name: bundle
    kind: package
    inputs: {model: "${onnx.path}", run: "${train.run_id}"}
    pass: ["size_mb <= 2", "files > 1"]
  - name: reg
    kind: register
    inputs: {run: "${train.run_id}"}
    options: {name: digits}
  - name: serving
    kind: serve
    inputs: {model: "${reg.name}@${reg.version}"}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(PipelineFileError) as caught:
        load_pipeline(write(tmp_path, text))
    return str(caught.value)


def test_a_good_file_is_read_with_defaults_and_conditions(tmp_path: Path) -> None:
    spec = load_pipeline(write(tmp_path, GOOD))
    assert spec.name == "digits-release"
    assert [s.kind for s in spec.stages] == ["train", "validate", "export", "package", "register", "serve"]
    train = spec.stage("train")
    assert train.options["epochs"] == 1 and train.options["batch_size"] == 64  # given, and the kind's default
    assert spec.stage("onnx").options == {"format": "onnx", "precision": "fp32", "verify": True}
    (condition,) = spec.stage("check").conditions
    assert (condition.output, condition.op, condition.threshold) == ("val/acc", ">=", 0.9)
    assert condition.check({"val/acc": 0.93})["passed"] is True
    failed = condition.check({"val/acc": 0.5})
    assert failed["passed"] is False and failed["actual"] == 0.5
    missing = condition.check({"val/loss": 0.1})
    assert missing["passed"] is False and "no such output" in missing["reason"] and "val/loss" in missing["reason"]


def test_fingerprints_change_from_the_edited_stage_on(tmp_path: Path) -> None:
    before = load_pipeline(write(tmp_path, GOOD))
    after = load_pipeline(write(tmp_path, GOOD.replace("val/acc >= 0.9", "val/acc >= 0.5")))
    same = [a.fingerprint == b.fingerprint for a, b in zip(before.stages, after.stages, strict=True)]
    assert same == [True, False, False, False, False, False]
    (tmp_path / "mlp.nfg").write_text("{}", encoding="utf-8")  # the train stage's graph file is part of it
    assert load_pipeline(tmp_path / "pipeline.yaml").stages[0].fingerprint != after.stages[0].fingerprint


@pytest.mark.parametrize(("edit", "expected"), [
    (("kind: validate", "kind: evaluate"), "stage 'check': key 'kind': unknown stage kind 'evaluate'"),
    (("options: {format: onnx}", "options: {format: onnx, opset: 17}"),
     "stage 'onnx': unknown key 'options.opset'; it takes format, precision, verify, file_name"),
    (("    pass: [\"val/acc >= 0.9\"]", "    passes: [\"val/acc >= 0.9\"]"), "stage 'check': unknown key 'passes'"),
    (("val/acc >= 0.9", "val/acc is high"), "stage 'check': key 'pass[0]': 'val/acc is high' is not a condition"),
    (("${check.run_id}", "${later.run_id}"), "stage 'onnx': key 'run' refers to ${later.run_id}, but no earlier "
                                             "stage is called 'later'"),
    (("${onnx.path}", "${bundle.path}"), "stage 'bundle': key 'model' refers to ${bundle.path}"),
    (("${onnx.path}", "${onnx}"), "stage 'bundle': key 'model': ${onnx} is not a reference"),
    (("options: {epochs: 1, limit: 200}", "options: {epochs: one}"),
     "stage 'train': key 'options.epochs' must be a whole number, got 'one'"),
    (("inputs: {graph: mlp.nfg, dataset: digits}", "inputs: {graph: mlp.nfg}"),
     "stage 'train': key 'inputs.dataset' is missing"),
    (("options: {name: digits}", "options: {}"), "stage 'reg': key 'options.name' is missing"),
    (("name: check", "name: train"), "stage 'train': key 'name': another stage already has this name"),
    (("name: onnx", "name: 'on nx'"), "stage 3: key 'name' must be letters"),
])
def test_each_mistake_names_the_stage_and_the_key(tmp_path: Path, edit: tuple[str, str], expected: str) -> None:
    old, new = edit
    assert old in GOOD
    assert expected in error_of(tmp_path, GOOD.replace(old, new, 1))


def test_stages_out_of_order_and_top_level_mistakes(tmp_path: Path) -> None:
    swapped = GOOD.replace("kind: export", "kind: serve-later").replace("kind: serve\n", "kind: export\n")
    assert "unknown stage kind 'serve-later'" in error_of(tmp_path, swapped)
    backwards = "stages:\n  - {name: p, kind: package, inputs: {model: m.onnx}}\n  - {name: t, kind: train, " \
                "inputs: {graph: g.nfg, dataset: digits}}\n"
    assert "stage 't': key 'kind': a train stage cannot come after the package stage 'p'" in error_of(tmp_path,
                                                                                                       backwards)
    assert "unknown key 'stage' at the top" in error_of(tmp_path, "stage: []\n")
    assert "`stages` must be a non-empty list" in error_of(tmp_path, "name: x\nstages: []\n")
    assert "line 2, column 12: not valid YAML" in error_of(tmp_path, "stages:\n  - name: x: y\n")
    with pytest.raises(PipelineFileError, match="no such pipeline file"):
        load_pipeline(tmp_path / "missing.yaml")


def test_yaml_tags_that_would_build_objects_are_refused(tmp_path: Path) -> None:
    text = "stages: !!python/object/apply:os.system ['echo hacked']\n"
    assert "not valid YAML" in error_of(tmp_path, text)


def test_references_resolve_to_typed_values_or_text(tmp_path: Path) -> None:
    spec = load_pipeline(write(tmp_path, GOOD))
    serving = spec.stage("serving")
    assert resolve(serving, serving.inputs, {"reg": {"name": "digits", "version": 3}}) == {"model": "digits@3"}
    bundle = spec.stage("bundle")
    resolved = resolve(bundle, bundle.inputs, {"onnx": {"path": "/x/m.onnx"}, "train": {"run_id": "abc"}})
    assert resolved == {"model": "/x/m.onnx", "run": "abc"}
    with pytest.raises(StageFailure, match=r"stage 'serving': key 'model' refers to \$\{reg.version\}, but stage "
                                           r"'reg' gave no output 'version' \(its outputs: name\)"):
        resolve(serving, serving.inputs, {"reg": {"name": "digits"}})


def test_pipeline_check_names_the_stage_and_key_on_the_command_line(tmp_path: Path, capsys) -> None:
    good = write(tmp_path, GOOD)
    assert main(["pipeline", "check", str(good)]) == 0
    assert "6 stage(s), OK" in capsys.readouterr().out
    bad = write(tmp_path, GOOD.replace("format: onnx}", "format: onnx, colour: red}"))
    assert main(["pipeline", "check", str(bad)]) == 1
    assert "stage 'onnx': unknown key 'options.colour'" in capsys.readouterr().err


def test_the_documented_example_is_a_valid_pipeline() -> None:
    spec = load_pipeline(Path(__file__).parents[2] / "docs" / "examples" / "pipeline.yaml")
    assert [s.kind for s in spec.stages] == ["train", "validate", "optimise", "export", "package", "register",
                                             "serve"]
    assert spec.stage("train").inputs == {"graph": "zoo:mnist-cnn", "dataset": "mnist-10k"}
    assert spec.stage("train").options["epochs"] == 1
    assert [c.text for c in spec.stage("validate").conditions] == ["val/acc >= 0.9"]
    assert spec.stage("optimise").options["method"] == "quantize-static-int8"
    assert [c.text for c in spec.stage("optimise").conditions] == ["change/accuracy_points >= -1",
                                                                  "change/size_ratio <= 0.3"]
