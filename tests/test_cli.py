"""The command line as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.serialize import save_graph


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_summary_resnet18_json_reports_reference_params_and_macs(capsys):
    status, out, _ = run(capsys, "summary", "zoo:resnet18", "--json")
    assert status == 0
    data = json.loads(out)
    assert data["params"] == 11_689_512
    assert 1.81e9 <= data["macs"] <= 1.83e9
    assert data["batch_size"] == 1
    for key in ("trainable_params", "flops", "activation_bytes", "training_memory_bytes", "latency_ms",
                "uncounted", "nodes"):
        assert key in data
    assert data["uncounted"] == []
    assert data["flops"] >= 2 * data["macs"]


def test_summary_json_memory_is_what_autograd_keeps(capsys):
    """saved_activation_bytes at the batch size asked is what torch keeps for backward in a training step."""
    from neuralforge_desktop.core import zoo
    from neuralforge_desktop.core.analysis.memory_check import measure_training_step
    from neuralforge_desktop.core.analysis.shapes import infer_shapes

    status, out, _ = run(capsys, "summary", "zoo:mnist-cnn", "--json", "--batch-size", "4")
    data = json.loads(out)
    assert status == 0 and data["batch_size"] == 4
    graph = zoo.build("mnist-cnn")
    shapes = infer_shapes(graph)
    assert data["saved_activation_bytes"] == measure_training_step(graph, shapes, 4)  # model and loss
    assert 0 < data["peak_inference_activation_bytes"] < data["activation_bytes"]
    assert data["training_memory_bytes"] == (data["weight_bytes"] + data["gradient_bytes"] + data["optimizer_bytes"]
                                             + data["saved_activation_bytes"])
    status, out, _ = run(capsys, "summary", "zoo:mnist-cnn", "--batch-size", "4")
    assert "kept for backward" in out and "at inference" in out


def test_summary_scales_with_batch_size_and_device(capsys):
    _, out1, _ = run(capsys, "summary", "zoo:mnist-cnn", "--json", "--batch-size", "1", "--device", "t4")
    _, out8, _ = run(capsys, "summary", "zoo:mnist-cnn", "--json", "--batch-size", "8", "--device", "t4")
    _, outh, _ = run(capsys, "summary", "zoo:mnist-cnn", "--json", "--batch-size", "8", "--device", "h100")
    one, eight, h100 = json.loads(out1), json.loads(out8), json.loads(outh)
    assert eight["macs"] == 8 * one["macs"]
    assert eight["params"] == one["params"]
    assert h100["latency_ms"] < eight["latency_ms"]


def test_summary_table_reads_well(capsys):
    status, out, _ = run(capsys, "summary", "zoo:mnist-cnn")
    assert status == 0
    assert "conv1" in out and "Conv2d" in out and "1×32×28×28" in out
    assert "params" in out and "421,642" in out and "latency estimate" in out


def _rank_mismatch_file(tmp_path):
    c = Composer("broken")
    x = c.input("image", [1, 28, 28])
    x = c.layer("Flatten", x, "flat")
    x = c.layer("Conv2d", x, "conv3", out_channels=8)
    c.output(x, "out")
    path = tmp_path / "broken.nfg"
    save_graph(c.done(), path)
    return path


def test_validate_rank_mismatch_exits_1_naming_node_and_shapes(capsys, tmp_path):
    status, out, err = run(capsys, "validate", str(_rank_mismatch_file(tmp_path)))
    assert status == 1
    assert "Conv2d 'conv3' input 'x': expected rank 4 (N, C, H, W), received (N, 784)" in out
    assert "1 error" in err


def test_validate_json_lists_every_error(capsys, tmp_path):
    c = Composer("two")
    x = c.input("v", [10])
    c.output(c.layer("Conv2d", x, "conv_a"), "a")
    c.output(c.layer("MaxPool2d", x, "pool_b"), "b")
    path = tmp_path / "two.nfg"
    save_graph(c.done(), path)
    status, out, _ = run(capsys, "validate", str(path), "--json")
    data = json.loads(out)
    assert status == 1 and not data["ok"]
    assert {e["node"] for e in data["errors"]} == {"conv_a", "pool_b"}
    assert all(e["received"] == "(N, 10)" for e in data["errors"])


def test_new_validate_codegen_round_trip_runs(capsys, tmp_path):
    nfg = tmp_path / "mnist.nfg"
    assert run(capsys, "new", "--template", "mnist-cnn", "-o", str(nfg))[0] == 0
    status, out, _ = run(capsys, "validate", str(nfg))
    assert status == 0 and "ok" in out
    code = tmp_path / "mnist_model.py"
    assert run(capsys, "codegen", str(nfg), "--framework", "pytorch", "-o", str(code))[0] == 0
    ns: dict = {}
    exec(compile(code.read_text(), str(code), "exec"), ns)
    model = ns["build_model"]().eval()
    assert tuple(model(ns["example_input"]()).shape) == (2, 10)


def test_new_refuses_to_overwrite_and_unknown_template(capsys, tmp_path):
    nfg = tmp_path / "m.nfg"
    nfg.write_text("keep me")
    status, _, err = run(capsys, "new", "--template", "mnist-cnn", "-o", str(nfg))
    assert status == 2 and "exists" in err and nfg.read_text() == "keep me"
    status, _, err = run(capsys, "new", "--template", "resnet19", "-o", str(tmp_path / "x.nfg"))
    assert status == 2 and "no zoo template 'resnet19'" in err and "resnet18" in err


def test_missing_file_and_bad_zoo_name_are_one_clear_line(capsys):
    status, _, err = run(capsys, "summary", "nope.nfg")
    assert status == 2 and err.strip() == "neuralforge: nope.nfg: no such file"
    status, _, err = run(capsys, "summary", "zoo:nope")
    assert status == 2 and "no zoo model 'nope'" in err


def test_an_error_the_user_can_fix_is_one_line_whatever_command_raises_it(capsys, monkeypatch):
    from neuralforge_desktop.cli import train_cmds
    from neuralforge_desktop.core.training.datasets.types import DatasetError

    def resume_a_run_whose_dataset_is_gone(args):
        raise DatasetError("dataset folder ~/data/cats is gone; pass --dataset again")

    monkeypatch.setattr(train_cmds, "cmd_resume", resume_a_run_whose_dataset_is_gone)
    status, _, err = run(capsys, "resume", "r1")
    assert status == 1 and err == "neuralforge: dataset folder ~/data/cats is gone; pass --dataset again\n"
    # an error that is ours to fix (a bug) is one line and a saved report: tests/test_cli_misuse.py


def test_zoo_list_json_has_all_templates(capsys):
    status, out, _ = run(capsys, "zoo", "list", "--json")
    names = {e["name"] for e in json.loads(out)}
    assert status == 0
    assert {"mnist-cnn", "lenet5", "resnet18", "resnet50", "mobilenet-v2", "vgg11", "unet-small", "autoencoder",
            "lstm-text", "transformer-text", "bert-tiny", "bert-base", "gpt2-small"} <= names


@pytest.mark.parametrize("argv", [[], ["summary"], ["validate"], ["codegen"], ["zoo", "list"], ["new"],
                                  ["layers"], ["start"]])
def test_help_is_available_everywhere(argv):
    proc = subprocess.run([sys.executable, "-m", "neuralforge_desktop", *argv, "--help"], capture_output=True,
                          text=True)
    assert proc.returncode == 0
    assert "usage: neuralforge" in proc.stdout


def test_layers_shows_one_layer(capsys):
    status, out, _ = run(capsys, "layers", "Linear")
    assert status == 0 and "matrix multiply + bias" in out and "out_features" in out
    status, _, err = run(capsys, "layers", "linear2")
    assert status == 2 and "Linear" in err


def test_bare_command_without_a_display_says_so_in_one_line():
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.run([sys.executable, "-m", "neuralforge_desktop"], capture_output=True, text=True, env=env,
                          timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "no display" in lines[0] and "neuralforge demo" in lines[0]


def test_demo_stops_at_the_first_failing_step_with_its_one_line_error(capsys, tmp_path, monkeypatch):
    from neuralforge_desktop.cli import train_cmds
    from neuralforge_desktop.cli.graph_source import CliError

    def dataset_not_downloaded(spec):
        raise CliError(f"dataset {spec} is not available here: download it first")

    monkeypatch.setattr(train_cmds, "check_dataset", dataset_not_downloaded)
    status, out, err = run(capsys, "demo", "--out", str(tmp_path / "demo"), "--store", str(tmp_path / "store.db"))
    assert status == 2
    assert err.strip() == "neuralforge: dataset mnist-10k is not available here: download it first"
    assert "421,642" in out and "wrote " + str(tmp_path / "demo" / "mnist_cnn_model.py") in out  # steps 1-3 ran
    assert "$ neuralforge train " + str(tmp_path / "demo" / "mnist-cnn.nfg") in out
    assert "5. The run" not in out


def test_start_has_no_template_option(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["start", "--template", "resnet18"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --template" in capsys.readouterr().err
