"""ML 101: small explained examples of the ideas deep learning is built from (Help ▸ ML 101 in the app).

Each example is a small, valid graph made of catalog layers around the one layer it is about, with the
catalog's own plain-language and math description of that layer (what Concept Mode shows) and a short "why it
matters". The app shows each with a preview and opens it on the canvas as a new document.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from neuralforge_desktop.core.catalog.registry import get_layer
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import Graph


@dataclass(frozen=True)
class Example:
    key: str
    title: str
    layer: str  # the catalog layer the example is about
    why: str  # why it matters, in two or three sentences
    build: Callable[[], Graph]

    @property
    def plain(self) -> str:
        """What the layer does, in plain language (the catalog's Concept Mode text)."""
        return get_layer(self.layer).description

    @property
    def math(self) -> str:
        """The layer's formula (the catalog's, in TeX-like notation)."""
        return get_layer(self.layer).math

    def graph(self) -> Graph:
        graph = self.build()
        graph.meta["ml101"] = self.key
        return graph


def _convolution() -> Graph:
    c = Composer("ML 101: convolution")
    x = c.input("image", [1, 28, 28])
    x = c.layer("Conv2d", x, "conv", out_channels=8, kernel_size=3, padding=1,
                notes="8 learned 3×3 filters, each slid over the whole image")
    x = c.layer("ReLU", x, "relu")
    c.output(x, "feature_maps")
    return c.done()


def _pooling() -> Graph:
    c = Composer("ML 101: pooling")
    x = c.input("image", [1, 28, 28])
    x = c.layer("Conv2d", x, "conv", out_channels=8, kernel_size=3, padding=1)
    x = c.layer("ReLU", x, "relu")
    x = c.layer("MaxPool2d", x, "pool", kernel_size=2, notes="each 2×2 window becomes its largest value")
    c.output(x, "smaller_maps")
    return c.done()


def _dropout() -> Graph:
    c = Composer("ML 101: dropout")
    x = c.input("features", [64])
    x = c.layer("Linear", x, "hidden", out_features=128)
    x = c.layer("ReLU", x, "relu")
    x = c.layer("Dropout", x, "dropout", p=0.5, notes="half the values switched off at random while training")
    x = c.layer("Linear", x, "scores", out_features=10)
    c.output(x, "logits")
    return c.done()


def _lstm() -> Graph:
    c = Composer("ML 101: LSTM")
    x = c.input("tokens", [32], dtype="int64")
    x = c.layer("Embedding", x, "embed", num_embeddings=1000, embedding_dim=64)
    x = c.layer("LSTM", x, "lstm", hidden_size=128, notes="reads the 32 vectors one after another")
    x = c.layer("Linear", x, "scores", out_features=2)
    c.output(x, "per_step_scores")
    return c.done()


def _attention() -> Graph:
    c = Composer("ML 101: attention")
    x = c.input("sequence", [16, 64])
    attended = c.layer("MultiheadAttention", {"query": x, "key": x, "value": x}, "attention", num_heads=4,
                       notes="every position takes a weighted average of all 16 positions")
    c.output(attended, "attended")
    return c.done()


EXAMPLES: tuple[Example, ...] = (
    Example("convolution", "Convolution: finding patterns in images", "Conv2d",
            "A small filter slid over the whole image finds an edge or a stroke wherever it is, with a few dozen "
            "weights instead of one per pixel. Stacks of convolutions are how networks see.", _convolution),
    Example("pooling", "Pooling: keeping the strongest signal", "MaxPool2d",
            "Pooling halves the width and height of the feature maps, so later layers look at a wider part of "
            "the image for the same cost, and a pattern moved by a pixel or two still gives the same answer.",
            _pooling),
    Example("dropout", "Dropout: not relying on any one value", "Dropout",
            "A network that memorises its training examples does badly on new ones (overfitting). Switching "
            "random values off while training forces it to spread what it learns; at test time nothing is "
            "dropped.", _dropout),
    Example("lstm", "LSTM: reading a sequence with memory", "LSTM",
            "Text, audio and time series come in order. An LSTM carries a memory from step to step and learns "
            "what to keep and what to forget, so a word can depend on words long before it.", _lstm),
    Example("attention", "Attention: every position looks at every other", "MultiheadAttention",
            "Attention lets each position pick out the positions that matter to it, however far away, in one "
            "step. It is the heart of Transformers, the models behind today's language and vision systems.",
            _attention),
)


def example(key: str) -> Example:
    for found in EXAMPLES:
        if found.key == key:
            return found
    raise KeyError(key)
