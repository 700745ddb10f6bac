"""`neuralforge explain` writes the images, prints JSON, and refuses what does not fit in one line."""

from __future__ import annotations

import json

from neuralforge_desktop.cli.main import main


def test_explain_writes_the_overlay_png(mnist_run, tmp_path, capsys):
    out = tmp_path / "explained"
    status = main(["explain", mnist_run["run"], "--sample", "4", "--method", "ig", "-o", str(out),
                   "--store", str(mnist_run["store"])])
    printed = capsys.readouterr().out
    assert status == 0
    png = out / "ig-sample4.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {png}" in printed and "convergence_delta" in printed and "predicted" in printed


def test_explain_json_for_a_global_explanation(mnist_run, tmp_path, capsys):
    status = main(["explain", mnist_run["run"], "--method", "gradcam", "--global", "8", "-o", str(tmp_path),
                   "--json", "--store", str(mnist_run["store"])])
    result = json.loads(capsys.readouterr().out)
    assert status == 0
    assert result["method"] == "gradcam" and result["examples"] == 8 and result["sample"] is None
    assert result["images"] == [str(tmp_path / "gradcam-global.png")]


def test_explain_refuses_shap_on_the_cnn_naming_the_fitting_methods(mnist_run, tmp_path, capsys):
    status = main(["explain", mnist_run["run"], "--method", "shap", "-o", str(tmp_path),
                   "--store", str(mnist_run["store"])])
    error = capsys.readouterr().err
    assert status != 0
    errors = [line for line in error.splitlines() if line.startswith("neuralforge:")]
    assert len(errors) == 1 and errors[0].endswith("methods that fit it: ig, saliency, occlusion, gradcam")


def test_explain_names_an_unknown_run(mnist_run, tmp_path, capsys):
    status = main(["explain", "nope", "--method", "ig", "-o", str(tmp_path), "--store", str(mnist_run["store"])])
    assert status != 0 and "no run 'nope'" in capsys.readouterr().err
