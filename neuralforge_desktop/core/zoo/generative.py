"""Generative models: an MNIST autoencoder and GPT-2 small."""

from __future__ import annotations

from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.zoo.entry import ZooEntry, body

AUTOENCODER_WIDTHS = (256, 64)
AUTOENCODER_CODE = 32


def autoencoder() -> Graph:
    c = Composer("autoencoder")
    x = c.input("image", [1, 28, 28])
    x = c.layer("Flatten", x, "flatten")
    enc, h = body("encoder", [784])
    for i, width in enumerate(AUTOENCODER_WIDTHS, start=1):
        h = enc.layer("ReLU", enc.layer("Linear", h, f"fc{i}", out_features=width), f"relu{i}")
    enc.output(enc.layer("Linear", h, "code", out_features=AUTOENCODER_CODE), "y")
    x = c.block("encoder", enc.done(), x, label=f"encoder 784→{AUTOENCODER_CODE}")
    dec, h = body("decoder", [AUTOENCODER_CODE])
    for i, width in enumerate(reversed(AUTOENCODER_WIDTHS), start=1):
        h = dec.layer("ReLU", dec.layer("Linear", h, f"fc{i}", out_features=width), f"relu{i}")
    h = dec.layer("Linear", h, f"fc{len(AUTOENCODER_WIDTHS) + 1}", out_features=784)
    dec.output(dec.layer("Sigmoid", h, "sigmoid", notes="pixel intensities in [0, 1]"), "y")
    x = c.block("decoder", dec.done(), x, label=f"decoder {AUTOENCODER_CODE}→784")
    x = c.layer("Reshape", x, "unflatten", shape=[1, 28, 28])
    c.output(x, "reconstruction")
    target = c.input("target", [1, 28, 28], role="target")
    c.layer("MSELoss", {"input": x, "target": target}, "loss")
    return c.done()


GPT2_VOCAB = 50_257
GPT2_CONTEXT = 1024
GPT2_SEQ_LEN = 128  # the example length bound to T; the model accepts up to GPT2_CONTEXT tokens
GPT2_DIM = 768
GPT2_LAYERS = 12
GPT2_HEADS = 12
GPT2_DROPOUT = 0.1
LN_EPS = 1e-5


def gpt2_layer() -> Graph:
    c, x = body("gpt2-block", ["T", GPT2_DIM])
    a = c.layer("LayerNorm", x, "ln_1", eps=LN_EPS)
    a = c.layer("MultiheadAttention", a, "attn", num_heads=GPT2_HEADS, dropout=GPT2_DROPOUT, causal=True,
                notes="causal self-attention: each position sees itself and earlier ones")
    a = c.layer("Dropout", a, "attn_dropout", p=GPT2_DROPOUT)
    x = c.layer("Add", [x, a], "attn_add", num_inputs=2)
    m = c.layer("LayerNorm", x, "ln_2", eps=LN_EPS)
    m = c.layer("Linear", m, "mlp_fc", out_features=4 * GPT2_DIM)
    m = c.layer("GELU", m, "mlp_act", approximate="tanh")
    m = c.layer("Linear", m, "mlp_proj", out_features=GPT2_DIM)
    m = c.layer("Dropout", m, "mlp_dropout", p=GPT2_DROPOUT)
    c.output(c.layer("Add", [x, m], "mlp_add", num_inputs=2), "y")
    return c.done()


def gpt2_small() -> Graph:
    c = Composer("gpt2-small")
    c.graph.set_symbol("T", GPT2_SEQ_LEN)
    x = c.input("input_ids", ["T"], "int64")
    x = c.layer("Embedding", x, "wte", num_embeddings=GPT2_VOCAB, embedding_dim=GPT2_DIM)
    x = c.layer("PositionalEmbedding", x, "wpe", max_len=GPT2_CONTEXT)
    x = c.layer("Dropout", x, "drop", p=GPT2_DROPOUT)
    x = c.block("h", gpt2_layer(), x, repeat=GPT2_LAYERS, label=f"transformer block × {GPT2_LAYERS}")
    x = c.layer("LayerNorm", x, "ln_f", eps=LN_EPS)
    logits = c.layer("Linear", x, "lm_head", out_features=GPT2_VOCAB, bias=False,
                     notes="shares its weight with the token embedding wte")
    c.tie("lm_head", "weight", "wte", "weight")
    c.output(logits, "logits")
    labels = c.input("labels", ["T"], "int64", role="target")
    scores = c.layer("Transpose", logits, "logits_by_class", dim0=1, dim1=2,
                     notes="(N, T, vocab) → (N, vocab, T): the loss wants classes in dimension 1")
    c.layer("CrossEntropyLoss", {"input": scores, "target": labels}, "loss",
            notes="labels are the input ids shifted left by one: each position predicts the next token")
    return c.done()


ENTRIES: list[ZooEntry] = [
    ZooEntry(
        "autoencoder", "MNIST autoencoder", "generative",
        "A dense autoencoder: 784 pixels → 256 → 64 → a 32-number code → 64 → 256 → 784 with a sigmoid, "
        "reshaped to 1×28×28 and trained with mean squared error against the target image.",
        autoencoder, 439_728, "torch.nn: Linear 784-256-64-32-64-256-784",
    ),
    ZooEntry(
        "gpt2-small", "GPT-2 small", "generative",
        f"Radford et al. 2019, 124M: token embeddings (50,257) plus learned positions (up to {GPT2_CONTEXT}), "
        f"{GPT2_LAYERS} pre-norm blocks with causal self-attention ({GPT2_HEADS} heads) and a GELU (tanh) "
        f"MLP of width 3072, final LayerNorm, and an LM head tied to the token embedding. T is bound to "
        f"{GPT2_SEQ_LEN} for cheap example inputs. Trained with next-token cross-entropy.",
        gpt2_small, 124_439_808, "Hugging Face GPT2LMHeadModel (gpt2), LM head tied to wte",
    ),
]
