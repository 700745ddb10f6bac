"""The search space file: every key checked against the graph and the training settings before anything runs."""

from __future__ import annotations

import pytest

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.sweeps.space import SpaceError, parse_space_text
from neuralforge_desktop.core.training.config import TrainConfig

from training_graphs import digits_mlp


def parse(text: str, graph=None):
    return parse_space_text(text, graph or digits_mlp(), TrainConfig(dataset="digits"), source="space.yaml")


def test_training_and_graph_settings_with_every_kind_of_range():
    space = parse("lr: {log_uniform: [1e-4, 1e-2]}\nbatch_size: [16, 32]\noptimizer: [adam, sgd]\n"
                  "fc1.out_features: {int: [8, 64]}\ndrop.p: {uniform: [0.0, 0.5]}\n")
    by_name = {d.name: d for d in space.dimensions}
    assert by_name["lr"].kind == "log_uniform" and (by_name["lr"].low, by_name["lr"].high) == (1e-4, 1e-2)
    assert by_name["batch_size"].choices == (16, 32) and not by_name["batch_size"].is_graph
    assert (by_name["fc1.out_features"].node, by_name["fc1.out_features"].field) == ("fc1", "out_features")
    assert by_name["drop.p"].kind == "uniform"
    assert [d.name for d in space.graph_dimensions] == ["fc1.out_features", "drop.p"]


def test_a_block_repeat_is_a_graph_setting():
    space = parse("h.repeat: [1, 2]\n", graph=zoo.build("gpt2-tiny"))
    assert space.dimensions[0].node == "h" and space.dimensions[0].field == "repeat"


def test_a_typo_in_a_node_id_names_it_and_lists_the_nodes():
    with pytest.raises(SpaceError) as info:
        parse("lr: [0.01]\nfcc1.out_features: [16, 32]\n")
    text = str(info.value)
    assert "space.yaml:2" in text and "'fcc1'" in text and "fc1, relu, drop, fc2" in text


def test_a_typo_in_a_field_names_it_and_lists_the_fields():
    with pytest.raises(SpaceError) as info:
        parse("fc1.out_feature: [16, 32]\n")
    assert "Linear 'fc1' has no field 'out_feature'" in str(info.value)
    assert "out_features" in str(info.value) and "space.yaml:1" in str(info.value)


def test_an_unknown_training_setting_lists_the_searchable_ones():
    with pytest.raises(SpaceError, match=r"no training setting 'learning_rate'.*batch_size, lr, optimizer"):
        parse("learning_rate: [0.1]\n")
    with pytest.raises(SpaceError, match="dataset is fixed for every trial"):
        parse("dataset: [digits, iris]\n")


@pytest.mark.parametrize("text, message", [
    ("lr: {uniform: [0.1, 0.01]}\n", "an empty range"),
    ("lr: {log_uniform: [0.01, 0.01]}\n", "an empty range"),
    ("fc1.out_features: {int: [64, 8]}\n", "an empty range"),
    ("batch_size: []\n", "an empty list"),
    ("lr: {log_uniform: [0, 1]}\n", "log_uniform needs lo above 0"),
    ("lr: {normal: [0, 1]}\n", "unknown range 'normal'"),
    ("lr: {uniform: [0.1]}\n", "takes two numbers"),
    ("lr: 0.1\n", "give a list of choices"),
    ("fc1.out_features: [16, 0]\n", "0 is not valid for Linear 'fc1'"),
    ("optimizer: [adam, lbfgs]\n", "'lbfgs' is not a valid value"),
    ("[1, 2]\n", "expected a mapping"),
    ("lr: [0.1\n", "not valid YAML"),
])
def test_bad_spaces_are_refused_with_the_reason(text, message):
    with pytest.raises(SpaceError, match=message):
        parse(text)


def test_numbers_yaml_reads_as_strings_are_numbers():
    space = parse("lr: [1e-3, 1e-2]\nweight_decay: {log_uniform: [1e-5, 1e-3]}\n")
    assert space.dimensions[0].choices == (0.001, 0.01)
    assert space.dimensions[1].low == pytest.approx(1e-5)


def test_a_grid_takes_choices_and_int_ranges_but_not_float_ranges():
    space = parse("batch_size: [16, 32]\nfc1.out_features: {int: [8, 10]}\n")
    assert space.grid() == {"batch_size": [16, 32], "fc1.out_features": [8, 9, 10]}
    assert space.grid_size() == 6
    with pytest.raises(SpaceError, match="a grid search needs a list of values"):
        parse("lr: {log_uniform: [1e-4, 1e-2]}\n").grid()


def test_importing_the_sweep_modules_loads_no_optuna_torch_or_qt():
    import subprocess
    import sys

    probe = ("import sys\nimport neuralforge_desktop.core.sweeps.driver, neuralforge_desktop.core.sweeps.results\n"
             "import neuralforge_desktop.cli.sweep_cmd, neuralforge_desktop.core.sweeps.follow\n"
             "import neuralforge_desktop.core.sweeps.suggest\n"
             "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
             "{'optuna', 'yaml', 'torch', 'PySide6', 'sqlalchemy'})))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
