"""BERT encoders (Devlin et al. 2018) laid out like Hugging Face's ``BertModel``.

Embeddings: word + token type (summed with Add) + learned positions, then LayerNorm and dropout. The
encoder is one Block whose body is a post-norm transformer layer, repeated L times (each copy its own
weights): self-attention → dropout → residual Add → LayerNorm → Linear 4H → GELU → Linear H → dropout →
residual Add → LayerNorm. The pooler takes the first ([CLS]) position through Linear + Tanh.

The ``attention_mask`` input (1 on tokens, 0 on padding, as a tokenizer gives it) reaches every layer's
self-attention, so padding is never attended to. A repeated block hands each output to the next copy's input
of the same place, so the body passes the mask through unchanged as its second output.
"""

from __future__ import annotations

from dataclasses import dataclass

from neuralforge_desktop.core.ir.compose import Composer, Ref
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.zoo.entry import ZooEntry, body, classification_loss

BERT_SEQ_LEN = 128  # the example length bound to T; position embeddings allow up to max_positions
LN_EPS = 1e-12
INIT_STD = 0.02  # BERT's initializer_range: its embedding tables start at N(0, 0.02²), not torch's N(0, 1)


@dataclass(frozen=True)
class BertConfig:
    layers: int
    hidden: int
    heads: int
    intermediate: int
    vocab: int = 30_522
    max_positions: int = 512
    type_vocab: int = 2
    dropout: float = 0.1


BERT_TINY = BertConfig(layers=2, hidden=128, heads=2, intermediate=512)
BERT_BASE = BertConfig(layers=12, hidden=768, heads=12, intermediate=3072)


def bert_layer(cfg: BertConfig) -> Graph:
    c, x = body("bert-layer", ["T", cfg.hidden])
    mask = c.input("attention_mask", ["T"], "int64")
    a = c.layer("MultiheadAttention", {"query": x, "attention_mask": mask}, "attention", num_heads=cfg.heads,
                dropout=cfg.dropout, notes="self-attention: key and value default to the query; padding "
                "(attention_mask 0) is not attended to")
    a = c.layer("Dropout", a, "attention_dropout", p=cfg.dropout)
    a = c.layer("Add", [x, a], "attention_add", num_inputs=2)
    a = c.layer("LayerNorm", a, "attention_norm", eps=LN_EPS)
    h = c.layer("Linear", a, "intermediate", out_features=cfg.intermediate)
    h = c.layer("GELU", h, "intermediate_act")
    h = c.layer("Linear", h, "output_dense", out_features=cfg.hidden)
    h = c.layer("Dropout", h, "output_dropout", p=cfg.dropout)
    h = c.layer("Add", [a, h], "output_add", num_inputs=2)
    c.output(c.layer("LayerNorm", h, "output_norm", eps=LN_EPS), "y")
    c.output(mask, "mask_out")  # unchanged, for the next copy's attention_mask
    return c.done()


def bert_backbone(c: Composer, cfg: BertConfig) -> tuple[Ref, Ref]:
    """Embeddings, encoder and pooler; returns (last hidden state, pooled [CLS] output)."""
    c.graph.set_symbol("T", BERT_SEQ_LEN)
    ids = c.input("input_ids", ["T"], "int64")
    types = c.input("token_type_ids", ["T"], "int64")
    mask = c.input("attention_mask", ["T"], "int64")
    words = c.layer("Embedding", ids, "word_embeddings", num_embeddings=cfg.vocab, embedding_dim=cfg.hidden,
                    padding_idx=0, init_std=INIT_STD)
    segments = c.layer("Embedding", types, "token_type_embeddings", num_embeddings=cfg.type_vocab,
                       embedding_dim=cfg.hidden, init_std=INIT_STD)
    x = c.layer("Add", [words, segments], "embeddings_sum", num_inputs=2)
    x = c.layer("PositionalEmbedding", x, "position_embeddings", max_len=cfg.max_positions, init_std=INIT_STD)
    x = c.layer("LayerNorm", x, "embeddings_norm", eps=LN_EPS)
    x = c.layer("Dropout", x, "embeddings_dropout", p=cfg.dropout)
    hidden = c.block("encoder", bert_layer(cfg), [x, mask], repeat=cfg.layers,
                     label=f"encoder layer × {cfg.layers}")
    cls = c.layer("Select", hidden, "cls", dim=1, index=0, notes="the [CLS] position")
    pooled = c.layer("Linear", cls, "pooler", out_features=cfg.hidden)
    pooled = c.layer("Tanh", pooled, "pooler_act")
    return hidden, pooled


def bert_tiny() -> Graph:
    c = Composer("bert-tiny")
    hidden, pooled = bert_backbone(c, BERT_TINY)
    c.output(hidden, "last_hidden_state")
    x = c.layer("Dropout", pooled, "dropout", p=BERT_TINY.dropout)
    logits = c.layer("Linear", x, "classifier", out_features=2)
    c.output(logits, "logits")
    classification_loss(c, logits)
    return c.done()


def bert_base() -> Graph:
    c = Composer("bert-base")
    hidden, pooled = bert_backbone(c, BERT_BASE)
    c.output(hidden, "last_hidden_state")
    c.output(pooled, "pooler_output")
    return c.done()


ENTRIES: list[ZooEntry] = [
    ZooEntry(
        "bert-tiny", "BERT-Tiny classifier", "nlp",
        "BERT with L=2 layers, hidden size 128, 2 attention heads, feed-forward 512 (Turc et al. 2019), "
        "with the pooler and a 2-way sequence-classification head trained with cross-entropy. Inputs: "
        "input_ids, token_type_ids and attention_mask (int64, length T = 128 here, up to 512 positions; "
        "attention_mask 0 marks padding, which is not attended to).",
        bert_tiny, 4_386_178,
        "Hugging Face BertForSequenceClassification from google/bert_uncased_L-2_H-128_A-2 with num_labels=2 "
        "(BertModel with pooler 4,385,920 + classifier 258)",
    ),
    ZooEntry(
        "bert-base", "BERT-Base", "nlp",
        "BERT-Base (uncased): 12 layers, hidden size 768, 12 heads, feed-forward 3072, WordPiece vocabulary "
        "30,522. Returns the last hidden state and the pooled [CLS] output. Inputs: input_ids, "
        "token_type_ids and attention_mask (int64, length T = 128 here, up to 512 positions; attention_mask 0 "
        "marks padding, which is not attended to).",
        bert_base, 109_482_240, "Hugging Face BertModel (bert-base-uncased) with pooler",
    ),
]
