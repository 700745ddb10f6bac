"""``neuralforge registry …`` and ``neuralforge gate`` as a user and a CI job run them: exit status 0 when the
gates pass, 1 when any fails (each listed), 2 when the gate cannot run."""

from __future__ import annotations

import json

import pytest

from neuralforge_desktop.cli.main import main

PASSING = """\
require_approval: false
checks:
  metrics:
    acc: {min: 0.0}
  export_parity: {max_abs_diff: 1.0e-4, samples: 8}
  size: {max_mb: 50}
  latency: {max_ms: 100000, runs: 3}
  targets: [tflite]
"""
FAILING = """\
checks:
  size: {max_mb: 0.01}
  targets: [coreml]
  documents: [model_card, risk_assessment]
"""


@pytest.fixture
def nf(trained, capsys):
    """Run the CLI on the test's store; returns (exit status, stdout, stderr)."""
    def run(*argv: str) -> tuple[int, str, str]:
        status = main([*argv, "--store", str(trained["store"])])
        out, err = capsys.readouterr()
        return status, out, err
    return run


def _policy(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_register_gate_promote_approve_rollback_from_the_command_line(nf, trained, tmp_path):
    status, out, _ = nf("registry", "register", trained["run"], "--name", "mnist", "--description", "digits")
    assert status == 0 and out.startswith(f"registered mnist@1 from run {trained['run']} (stage none; ONNX 1.6 MiB")
    assert nf("registry", "register", trained["run"], "--name", "mnist")[0] == 0

    status, out, _ = nf("registry", "list")
    assert status == 0 and "mnist" in out and "digits" in out
    status, out, _ = nf("registry", "show", "mnist", "--json")
    assert [(v["version"], v["stage"]) for v in json.loads(out)["versions"]] == [(1, "none"), (2, "none")]

    passing = _policy(tmp_path, "pass.yaml", PASSING)
    status, out, _ = nf("gate", "mnist@1", "--policy", passing)
    assert status == 0, out
    assert out.splitlines()[0] == f"gate mnist@1 (run {trained['run']}) under {passing}: passed"
    assert "  pass  export_parity: onnxruntime vs torch on 8 validation examples of mnist-10k" in out

    status, out, err = nf("registry", "promote", "mnist@1", "--to", "production")
    assert (status, out.strip()) == (0, "mnist@1 is now in production"), err
    assert nf("registry", "approve", "mnist@2", "--comment", "looks right")[1].startswith("mnist@2 approved by ")
    assert nf("registry", "promote", "mnist@2", "--to", "production", "--policy", passing)[0] == 0
    status, out, _ = nf("registry", "rollback", "mnist")
    assert (status, out.strip()) == (0, "mnist@1 is back in production; the version it replaces is archived")
    status, out, _ = nf("registry", "show", "mnist@2")
    assert "mnist@2: archived" in out and "approved by" in out and "production → archived" in out
    assert "rolled back to mnist@1" in out

    status, _, err = nf("registry", "rollback", "mnist")
    assert status == 0  # 2 was in production before 1's return: rolling back again restores it
    status, _, err = nf("registry", "promote", "mnist@2", "--to", "production")
    assert status == 1 and "mnist@2 is already in production" in err


def test_a_failing_gate_exits_1_listing_every_failed_check(nf, trained, tmp_path):
    nf("registry", "register", trained["run"], "--name", "mnist")
    failing = _policy(tmp_path, "fail.yaml", FAILING)
    status, out, _ = nf("gate", "mnist@1", "--policy", failing, "--json")
    report = json.loads(out)
    assert status == 1 and not report["passed"]
    assert report["failed"] == ["documents.model_card", "documents.risk_assessment", "size"]
    status, out, _ = nf("gate", "mnist@1", "--policy", failing)
    assert status == 1 and "FAILED (3 of 4 checks)" in out
    assert "  FAIL  size: ONNX file 1.610 MB > budget 0.01 MB" in out
    assert "  pass  targets.coreml" in out
    status, _, err = nf("registry", "promote", "mnist@1", "--to", "production")
    assert status == 1 and "3 failed" in err and "documents.risk_assessment" in err
    assert "is now in production" not in err


def test_a_gate_that_cannot_run_exits_2_saying_why(nf, trained, tmp_path):
    nf("registry", "register", trained["run"], "--name", "mnist")
    passing = _policy(tmp_path, "pass.yaml", PASSING)
    status, _, err = nf("gate", "nope@1", "--policy", passing)
    assert status == 2 and "gate cannot run: no registered model 'nope' (registered: mnist)" in err
    status, _, err = nf("gate", "mnist@7", "--policy", passing)
    assert status == 2 and "model 'mnist' has no version 7 (its versions: 1)" in err
    status, _, err = nf("gate", "mnist@1", "--policy", str(tmp_path / "missing.yaml"))
    assert status == 2 and "missing.yaml: cannot read it" in err
    unknown = _policy(tmp_path, "unknown.yaml", "checks:\n  size: {max_mb: 5}\n  fairness: {max_gap: 0.1}\n")
    status, _, err = nf("gate", "mnist@1", "--policy", unknown)
    assert status == 2 and "unknown check 'fairness'" in err
    broken = _policy(tmp_path, "broken.yaml", "checks: [size\n")
    status, _, err = nf("gate", "mnist@1", "--policy", broken)
    assert status == 2 and "not valid YAML" in err


def test_registering_a_run_without_weights_fails_with_nothing_registered(nf, trained):
    status, _, err = nf("registry", "register", trained["untrained"], "--name", "mnist")
    assert status == 1 and "has no checkpoint" in err
    status, out, _ = nf("registry", "list", "--json")
    assert (status, json.loads(out)) == (0, [])
