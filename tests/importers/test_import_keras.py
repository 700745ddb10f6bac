"""Importing Keras 3 models: a Sequential CNN and MLP and a small functional model saved as .keras, a factory in
a .py file, a layer without a catalog form, and bad files. The generated PyTorch code, loaded strictly with the
written weights, must compute what Keras' model.predict computes."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")

from keras import layers  # noqa: E402

from neuralforge_desktop.cli.main import main  # noqa: E402
from neuralforge_desktop.core.codegen.pytorch import generate_pytorch  # noqa: E402
from neuralforge_desktop.core.ir.serialize import load_graph  # noqa: E402

FACTORY = '''
import keras
from keras import layers


def build():
    keras.utils.set_random_seed(1)
    return keras.Sequential([keras.Input((5,)), layers.Dense(4, activation="relu"), layers.Dense(2)])
'''


def _cnn():
    return keras.Sequential([
        keras.Input((12, 12, 3)), layers.Conv2D(8, 3, padding="same", activation="relu"),
        layers.BatchNormalization(), layers.MaxPooling2D(), layers.Conv2D(16, 3), layers.LeakyReLU(0.1),
        layers.Dropout(0.2), layers.Flatten(), layers.Dense(10, activation="softmax")])


def _mlp():
    return keras.Sequential([keras.Input((7,)), layers.Dense(16, activation="gelu"), layers.LayerNormalization(),
                             layers.Dense(8, activation="tanh"), layers.Dense(3)])


def _functional():
    inp = keras.Input((10, 10, 3))
    a = layers.Conv2D(4, 3, padding="same")(inp)
    b = layers.Conv2D(4, 1, activation="sigmoid")(inp)
    c = layers.Concatenate()([layers.Add()([a, b]), b])
    return keras.Model(inp, layers.Dense(2)(layers.GlobalAveragePooling2D()(c)))


def _flattened():
    """A channels-first flattening read by a Dense layer (its kernel rows reordered) and by a softmax (which
    needs Keras' order back)."""
    inp = keras.Input((6, 6, 2))
    flat = layers.Dropout(0.1)(layers.Flatten()(layers.Conv2D(3, 3)(inp)))
    return keras.Model(inp, layers.Concatenate()([layers.Dense(4)(flat), layers.Activation("softmax")(flat)]))


def _text():
    return keras.Sequential([keras.Input((9,), dtype="int32"), layers.Embedding(30, 8),
                             layers.LSTM(12, return_sequences=True), layers.GRU(10), layers.Dense(3)])


MODELS = {"cnn": _cnn, "mlp": _mlp, "functional": _functional, "flattened": _flattened, "text": _text}


def _batchnorm_stats(model) -> None:
    """Moving statistics other than the init's (0 and 1), so the test sees them carried over."""
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            n = layer.moving_mean.shape[0]
            layer.moving_mean.assign(np.linspace(-0.5, 0.5, n).astype("float32"))
            layer.moving_variance.assign(np.linspace(0.5, 2.0, n).astype("float32"))


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", list(MODELS))
def test_generated_code_and_weights_compute_what_keras_predicts(name, tmp_path, capsys):
    from safetensors.torch import load_file

    keras.utils.set_random_seed(0)
    model = MODELS[name]()
    _batchnorm_stats(model)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    out = tmp_path / "net.nfg"
    assert main(["import", str(path), "-o", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["max_abs_diff"] <= 1e-5 and not report["custom"]
    if name == "cnn":  # channels moved first once, at the input; the Dense after Flatten takes that order
        assert report["types"]["Permute"] == 1
    # torch's LSTM and RNN carry a second bias (the recurrent product's), which the import sets to zero
    second_bias = sum(int(layer.cell.bias.shape[0]) for layer in model.layers
                      if isinstance(layer, layers.LSTM | layers.SimpleRNN) and layer.cell.use_bias)
    assert report["params"] == sum(int(np.prod(w.shape)) for w in model.trainable_weights) + second_bias

    source = tmp_path / f"{name}_gen.py"
    source.write_text(generate_pytorch(load_graph(out)).source)
    built = _load(source, f"keras_generated_{name}").build_model()
    built.load_state_dict(load_file(str(tmp_path / "net.safetensors")), strict=True)
    built.eval()
    rng = np.random.default_rng(5)
    shape = (4, *model.input_shape[1:])
    x = rng.integers(0, 30, shape).astype("int32") if name == "text" else rng.standard_normal(shape).astype("float32")
    want = model.predict(x, verbose=0)
    with torch.no_grad():
        got = built(torch.from_numpy(x)).numpy()
    assert float(np.abs(got - want).max()) <= 1e-5


def test_a_factory_in_a_python_file(tmp_path, capsys):
    factory = tmp_path / "make.py"
    factory.write_text(FACTORY)
    out = tmp_path / "f.nfg"
    assert main(["import", f"{factory}:build", "--framework", "keras", "-o", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["types"] == {"Linear": 2, "ReLU": 1} and report["params"] == 5 * 4 + 4 + 4 * 2 + 2


def test_a_layer_without_a_catalog_form_is_refused_by_name(tmp_path, capsys):
    model = keras.Sequential([keras.Input((4, 4, 2)), layers.UpSampling2D(), layers.Conv2D(2, 3, strides=2,
                              padding="same"), layers.Flatten()], name="odd")
    path = tmp_path / "odd.keras"
    model.save(path)
    out = tmp_path / "odd.nfg"
    assert main(["import", str(path), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "'up_sampling2d' (UpSampling2D)" in err and "pads one side more" in err and err.count("\n") == 1, err
    assert not out.exists() and not out.with_suffix(".safetensors").exists()


@pytest.mark.parametrize("content", [None, b"not a keras file"])
def test_a_bad_file_is_one_clear_error_and_writes_nothing(content, tmp_path, capsys):
    path = tmp_path / "model.keras"
    if content is not None:
        path.write_bytes(content)
    out = tmp_path / "out.nfg"
    assert main(["import", str(path), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert ("no such file" if content is None else "not a Keras model file") in err and err.count("\n") == 1, err
    assert not out.exists() and not out.with_suffix(".safetensors").exists()
