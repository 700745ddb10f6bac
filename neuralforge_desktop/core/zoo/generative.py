"""Generative models: an MNIST autoencoder and GPT-2 (small, and a tiny one that trains on a CPU)."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class GPT2Config:
    layers: int
    dim: int
    heads: int
    vocab: int
    context: int  # positions the model accepts
    seq_len: int  # the example length bound to T
    dropout: float = 0.1
    tied: bool = True  # the LM head shares the token embedding's weight


GPT2_SMALL = GPT2Config(layers=12, dim=768, heads=12, vocab=50_257, context=1024, seq_len=128)
# Small enough to train an epoch of the built-in stories on a laptop CPU in seconds; its vocabulary is the
# size of the byte-level BPE a text corpus is tokenised with by default. Its LM head has weights of its own.
GPT2_TINY = GPT2Config(layers=2, dim=128, heads=4, vocab=2048, context=256, seq_len=64, tied=False)
LN_EPS = 1e-5
# GPT-2 starts its token and position tables at N(0, 0.02²); torch's N(0, 1) would make the tied head's first
# logits about √dim too large (gpt2-small's first loss ~460 instead of ln 50,257 ≈ 10.8).
INIT_STD = 0.02


def gpt2_layer(cfg: GPT2Config) -> Graph:
    c, x = body("gpt2-block", ["T", cfg.dim])
    a = c.layer("LayerNorm", x, "ln_1", eps=LN_EPS)
    a = c.layer("MultiheadAttention", a, "attn", num_heads=cfg.heads, dropout=cfg.dropout, causal=True,
                notes="causal self-attention: each position sees itself and earlier ones")
    a = c.layer("Dropout", a, "attn_dropout", p=cfg.dropout)
    x = c.layer("Add", [x, a], "attn_add", num_inputs=2)
    m = c.layer("LayerNorm", x, "ln_2", eps=LN_EPS)
    m = c.layer("Linear", m, "mlp_fc", out_features=4 * cfg.dim)
    m = c.layer("GELU", m, "mlp_act", approximate="tanh")
    m = c.layer("Linear", m, "mlp_proj", out_features=cfg.dim)
    m = c.layer("Dropout", m, "mlp_dropout", p=cfg.dropout)
    c.output(c.layer("Add", [x, m], "mlp_add", num_inputs=2), "y")
    return c.done()


def gpt2(name: str, cfg: GPT2Config) -> Graph:
    c = Composer(name)
    c.graph.set_symbol("T", cfg.seq_len)
    x = c.input("input_ids", ["T"], "int64")
    x = c.layer("Embedding", x, "wte", num_embeddings=cfg.vocab, embedding_dim=cfg.dim, init_std=INIT_STD)
    x = c.layer("PositionalEmbedding", x, "wpe", max_len=cfg.context, init_std=INIT_STD)
    x = c.layer("Dropout", x, "drop", p=cfg.dropout)
    x = c.block("h", gpt2_layer(cfg), x, repeat=cfg.layers, label=f"transformer block × {cfg.layers}")
    x = c.layer("LayerNorm", x, "ln_f", eps=LN_EPS)
    logits = c.layer("Linear", x, "lm_head", out_features=cfg.vocab, bias=False,
                     notes="shares its weight with the token embedding wte" if cfg.tied else
                     "a score for every token of the vocabulary")
    if cfg.tied:
        c.tie("lm_head", "weight", "wte", "weight")
    c.output(logits, "logits")
    labels = c.input("labels", ["T"], "int64", role="target")
    scores = c.layer("Transpose", logits, "logits_by_class", dim0=1, dim1=2,
                     notes="(N, T, vocab) → (N, vocab, T): the loss wants classes in dimension 1")
    c.layer("CrossEntropyLoss", {"input": scores, "target": labels}, "loss",
            notes="labels are the input ids shifted left by one: each position predicts the next token; "
                  "padding after the text's end is labelled -100 (ignore_index) and adds no loss")
    return c.done()


def gpt2_small() -> Graph:
    return gpt2("gpt2-small", GPT2_SMALL)


def gpt2_tiny() -> Graph:
    return gpt2("gpt2-tiny", GPT2_TINY)


def _gpt2_params(cfg: GPT2Config) -> int:
    """Trainable parameters: tied embedding + positions + blocks (2 LayerNorms, attention 4·d² + 4·d, MLP
    8·d² + 5·d) + final LayerNorm."""
    d = cfg.dim
    block = 2 * 2 * d + (4 * d * d + 4 * d) + (8 * d * d + 5 * d)
    head = 0 if cfg.tied else cfg.vocab * d
    return cfg.vocab * d + cfg.context * d + cfg.layers * block + 2 * d + head


ENTRIES: list[ZooEntry] = [
    ZooEntry(
        "autoencoder", "MNIST autoencoder", "generative",
        "A dense autoencoder: 784 pixels → 256 → 64 → a 32-number code → 64 → 256 → 784 with a sigmoid, "
        "reshaped to 1×28×28 and trained with mean squared error against the target image.",
        autoencoder, 439_728, "torch.nn: Linear 784-256-64-32-64-256-784",
    ),
    ZooEntry(
        "gpt2-small", "GPT-2 small", "generative",
        f"Radford et al. 2019, 124M: token embeddings (50,257) plus learned positions (up to "
        f"{GPT2_SMALL.context}), {GPT2_SMALL.layers} pre-norm blocks with causal self-attention "
        f"({GPT2_SMALL.heads} heads) and a GELU (tanh) MLP of width 3072, final LayerNorm, and an LM head tied to "
        f"the token embedding. T is bound to {GPT2_SMALL.seq_len} for cheap example inputs. Trained with "
        "next-token cross-entropy.",
        gpt2_small, 124_439_808, "Hugging Face GPT2LMHeadModel (gpt2), LM head tied to wte",
    ),
    ZooEntry(
        "gpt2-tiny", "GPT-2 tiny", "generative",
        f"GPT-2's architecture at toy size: {GPT2_TINY.layers} blocks, width {GPT2_TINY.dim}, {GPT2_TINY.heads} "
        f"heads, a {GPT2_TINY.vocab:,}-token vocabulary (the default size of the BPE a text corpus is tokenised "
        f"with), up to {GPT2_TINY.context} positions (T = {GPT2_TINY.seq_len}) and an LM head of its own (not "
        "tied). Trains an epoch of the "
        "built-in synthetic-stories corpus on a CPU in seconds; next-token cross-entropy, perplexity reported.",
        gpt2_tiny, _gpt2_params(GPT2_TINY),
        "GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=128, n_head=4, vocab_size=2048, n_positions=256, "
        "tie_word_embeddings=False))",
    ),
]
