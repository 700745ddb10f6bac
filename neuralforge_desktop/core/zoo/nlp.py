"""Text classifiers: an LSTM and a small transformer encoder over token ids."""

from __future__ import annotations

from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.zoo.entry import ZooEntry, body, classification_loss

TEXT_VOCAB = 20_000
TEXT_LEN = 200


def lstm_text() -> Graph:
    c = Composer("lstm-text")
    c.graph.set_symbol("T", TEXT_LEN)
    x = c.input("tokens", ["T"], "int64")
    x = c.layer("Embedding", x, "embedding", num_embeddings=TEXT_VOCAB, embedding_dim=128)
    x = c.layer("LSTM", x, "lstm", hidden_size=128)
    x = c.layer("Select", x, "last", dim=1, index=-1, notes="the LSTM's output at the last time step")
    logits = c.layer("Linear", x, "fc", out_features=2)
    c.output(logits, "logits")
    classification_loss(c, logits)
    return c.done()


TRANSFORMER_DIM = 128
TRANSFORMER_LAYERS = 2


def transformer_text() -> Graph:
    c = Composer("transformer-text")
    c.graph.set_symbol("T", TEXT_LEN)
    x = c.input("tokens", ["T"], "int64")
    x = c.layer("Embedding", x, "embedding", num_embeddings=TEXT_VOCAB, embedding_dim=TRANSFORMER_DIM)
    x = c.layer("PositionalEmbedding", x, "pos_embedding", max_len=512)
    layer, h = body("encoder", ["T", TRANSFORMER_DIM])
    h = layer.layer("TransformerEncoderLayer", h, "layer", nhead=4, dim_feedforward=512, dropout=0.1,
                    activation="gelu", norm_first=True)
    layer.output(h, "y")
    x = c.block("encoder", layer.done(), x, repeat=TRANSFORMER_LAYERS,
                label=f"transformer encoder layer × {TRANSFORMER_LAYERS}")
    x = c.layer("LayerNorm", x, "norm", notes="final norm of a pre-norm encoder stack")
    x = c.layer("Mean", x, "pool", dim=[1], keepdim=False, notes="average over the sequence")
    logits = c.layer("Linear", x, "fc", out_features=2)
    c.output(logits, "logits")
    classification_loss(c, logits)
    return c.done()


ENTRIES: list[ZooEntry] = [
    ZooEntry(
        "lstm-text", "LSTM text classifier", "nlp",
        "Token ids (vocabulary 20,000, length T = 200) → 128-d embeddings → a 128-unit LSTM; the output at "
        "the last step feeds a 2-way classifier (sentiment, say), trained with cross-entropy.",
        lstm_text, 2_692_354, "torch.nn: Embedding(20000,128), LSTM(128,128), Linear(128,2)",
    ),
    ZooEntry(
        "transformer-text", "Transformer text classifier", "nlp",
        f"Token ids (vocabulary 20,000, length T = 200) → 128-d embeddings plus learned positions → "
        f"{TRANSFORMER_LAYERS} pre-norm transformer encoder layers (4 heads, feed-forward 512, GELU) → final "
        "LayerNorm → mean over the sequence → 2-way classifier.",
        transformer_text, 3_022_594,
        "torch.nn: Embedding(20000,128) + a 512×128 position table + 2× TransformerEncoderLayer(128, 4, 512, "
        "norm_first=True) + LayerNorm(128) + Linear(128,2)",
    ),
]
