"""Keras 3 text the catalog's :class:`~.spec.KerasCall` entries share: padding expressions and the sources of the
helper classes and functions pasted into generated Keras code (they use ``keras``, ``layers``, ``ops``, ``np``).

Each helper reproduces what its PyTorch counterpart computes, in PyTorch's tensor layout, and knows how to take
that counterpart's weights (``load_torch_state``) where ``set_weights`` alone cannot say it.
"""

from __future__ import annotations

from collections.abc import Sequence

from neuralforge_desktop.core.ir.types import TensorSpec


def keras_pad(padding: Sequence[int], value: str = "", extra: Sequence[int] = ()) -> str:
    """``ops.pad({x}, …)`` padding the spatial axes of a channels-first tensor by ``padding`` on both sides
    (and ``extra`` more at the end); ``value`` is the fill's source text ("" for zeros)."""
    ends = extra or (0,) * len(padding)
    widths = ", ".join(f"({p}, {p + e})" for p, e in zip(padding, ends, strict=True))
    fill = f", constant_values={value}" if value else ""
    return f"ops.pad({{x}}, ((0, 0), (0, 0), {widths}){fill})"


def fixed_sizes(spec: TensorSpec, axes: Sequence[int]) -> list[int] | None:
    """The sizes at ``axes`` when all are numbers, else None (a named size such as T)."""
    sizes = [spec.shape[axis] for axis in axes]
    fixed = [size for size in sizes if isinstance(size, int)]
    return fixed if len(fixed) == len(sizes) else None


RECURRENT_WEIGHTS_SOURCE = '''def recurrent_weights(kind, w_ih, w_hh, b_ih=None, b_hh=None):
    """Keras weights of one recurrent layer from torch's (numpy arrays). LSTM gates are i, f, g, o in both
    frameworks and torch's two biases add up; a GRU's are r, z, n in torch and z, r, h in Keras, whose
    reset_after=True form keeps torch's two biases apart."""
    if kind == "GRU":
        def gates(w):
            r, z, n = np.split(w, 3)
            return np.concatenate([z, r, n])

        weights = [gates(w_ih).T, gates(w_hh).T]
        return weights if b_ih is None else [*weights, np.stack([gates(b_ih), gates(b_hh)])]
    weights = [w_ih.T, w_hh.T]
    return weights if b_ih is None else [*weights, b_ih + b_hh]
'''

STACKED_RECURRENT_SOURCE = '''class StackedRecurrent(keras.layers.Layer):
    """torch.nn.LSTM, GRU or RNN: num_layers recurrent layers stacked (dropout between them while training), each
    optionally reading both ways. Returns the output sequence and the final states shaped like torch's,
    (num_layers · directions, N, units)."""

    def __init__(self, kind, units, num_layers=1, bidirectional=False, batch_first=True, dropout=0.0,
                 use_bias=True, activation="tanh", **kwargs):
        super().__init__(**kwargs)
        self.kind = kind
        self.batch_first = batch_first
        self.stack = []
        for _ in range(num_layers):
            options = {"return_sequences": True, "return_state": True, "use_bias": use_bias}
            if kind == "LSTM":
                layer = layers.LSTM(units, **options)
            elif kind == "GRU":
                layer = layers.GRU(units, **options)
            else:
                layer = layers.SimpleRNN(units, activation=activation, **options)
            self.stack.append(layers.Bidirectional(layer) if bidirectional else layer)
        self.dropout = layers.Dropout(dropout)

    def call(self, x):
        if not self.batch_first:
            x = ops.swapaxes(x, 0, 1)
        hidden, cells = [], []
        for i, layer in enumerate(self.stack):
            if i:
                x = self.dropout(x)
            x, *states = layer(x)
            per_direction = 2 if self.kind == "LSTM" else 1
            hidden += states[::per_direction]
            cells += states[1::per_direction]
        if not self.batch_first:
            x = ops.swapaxes(x, 0, 1)
        if self.kind == "LSTM":
            return x, ops.stack(hidden), ops.stack(cells)
        return x, ops.stack(hidden)

    def load_torch_state(self, state, prefix=""):
        """Weights of the torch module whose state_dict keys start with prefix (numpy arrays)."""
        for i, layer in enumerate(self.stack):
            if isinstance(layer, layers.Bidirectional):
                directions = ((layer.forward_layer, ""), (layer.backward_layer, "_reverse"))
            else:
                directions = ((layer, ""),)
            for direction, suffix in directions:
                names = (f"{prefix}{name}_l{i}{suffix}" for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
                direction.set_weights(recurrent_weights(self.kind, *(state[n] for n in names if n in state)))
'''

KERAS_POSITIONAL_SOURCE = '''class PositionalEmbedding(keras.layers.Layer):
    """Adds a learned vector for each position 0…T−1 to a (N, T, dim) sequence."""

    def __init__(self, max_len, dim, init_std=1.0, **kwargs):
        super().__init__(**kwargs)
        self.weight = self.add_weight(
            shape=(max_len, dim), initializer=keras.initializers.RandomNormal(stddev=init_std), name="weight"
        )

    def call(self, x):
        return x + self.weight[: ops.shape(x)[1]]
'''

KERAS_PADDING_MASK_SOURCE = '''def padding_mask(attention_mask):
    """Keras attention mask (N, 1, S), True where a key position may be attended to, from an (N, S) mask that
    marks real tokens with 1 (or True) and padding with 0. A sequence with no real token at all keeps every
    position, as the PyTorch model does."""
    keep = ops.cast(attention_mask, "bool")
    keep = ops.logical_or(keep, ops.logical_not(ops.any(keep, axis=1, keepdims=True)))
    return ops.expand_dims(keep, 1)
'''

ATTENTION_WEIGHTS_SOURCE = '''def attention_weights(state, prefix, num_heads):
    """Keras MultiHeadAttention weights from torch nn.MultiheadAttention's tensors under prefix (numpy arrays):
    torch's projections are (out, in) matrices, Keras' are split per head."""
    if prefix + "in_proj_weight" in state:
        projections = np.split(state[prefix + "in_proj_weight"], 3)
    else:
        projections = [state[prefix + f"{name}_proj_weight"] for name in ("q", "k", "v")]
    out = state[prefix + "out_proj.weight"]
    embed = out.shape[0]
    head = embed // num_heads
    bias = state.get(prefix + "in_proj_bias")
    weights = []
    for i, projection in enumerate(projections):
        weights.append(projection.T.reshape(-1, num_heads, head))
        if bias is not None:
            weights.append(bias[i * embed:(i + 1) * embed].reshape(num_heads, head))
    weights.append(out.T.reshape(num_heads, head, embed))
    if bias is not None:
        weights.append(state[prefix + "out_proj.bias"])
    return weights
'''

TRANSFORMER_ENCODER_SOURCE = '''class TransformerEncoderLayer(keras.layers.Layer):
    """torch.nn.TransformerEncoderLayer (batch first): self-attention, then a two-layer feed-forward block, each
    added to its input and layer-normalised (after the sum, or before the block with norm_first)."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, norm_first=False, bias=True, **kwargs):
        super().__init__(**kwargs)
        self.norm_first = norm_first
        self.activation = activation
        self.self_attn = layers.MultiHeadAttention(nhead, d_model // nhead, dropout=dropout, use_bias=bias)
        self.linear1 = layers.Dense(dim_feedforward, use_bias=bias)
        self.linear2 = layers.Dense(d_model, use_bias=bias)
        self.norms = [layers.LayerNormalization(epsilon=layer_norm_eps, center=bias) for _ in range(2)]
        self.dropouts = [layers.Dropout(dropout) for _ in range(3)]

    def call(self, x, attention_mask=None, use_causal_mask=False):
        mask = None if attention_mask is None else padding_mask(attention_mask)
        norm1, norm2 = self.norms
        if self.norm_first:
            x = x + self.attend(norm1(x), mask, use_causal_mask)
            return x + self.feed_forward(norm2(x))
        x = norm1(x + self.attend(x, mask, use_causal_mask))
        return norm2(x + self.feed_forward(x))

    def attend(self, x, mask, causal):
        return self.dropouts[0](self.self_attn(x, x, attention_mask=mask, use_causal_mask=causal))

    def feed_forward(self, x):
        hidden = self.linear1(x)
        hidden = ops.relu(hidden) if self.activation == "relu" else ops.gelu(hidden, approximate=False)
        return self.dropouts[2](self.linear2(self.dropouts[1](hidden)))

    def load_torch_state(self, state, prefix=""):
        """Weights of the torch module whose state_dict keys start with prefix (numpy arrays)."""
        self.self_attn.set_weights(attention_weights(state, prefix + "self_attn.", self.self_attn.num_heads))
        load_dense_and_norms(self, state, prefix)


def load_dense_and_norms(layer, state, prefix):
    """A Transformer layer's linear1, linear2 and norm1, norm2 … from torch's tensors under prefix."""
    for name in ("linear1", "linear2"):
        weights = [state[f"{prefix}{name}.weight"].T]
        if f"{prefix}{name}.bias" in state:
            weights.append(state[f"{prefix}{name}.bias"])
        getattr(layer, name).set_weights(weights)
    for i, norm in enumerate(layer.norms, start=1):
        names = (f"{prefix}norm{i}.weight", f"{prefix}norm{i}.bias")
        norm.set_weights([state[name] for name in names if name in state])
'''

TRANSFORMER_DECODER_SOURCE = '''class TransformerDecoderLayer(TransformerEncoderLayer):
    """torch.nn.TransformerDecoderLayer (batch first): self-attention, attention to the encoder's output
    (memory), then the feed-forward block, each added to its input and layer-normalised."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, norm_first=False, bias=True, **kwargs):
        super().__init__(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, norm_first, bias,
                         **kwargs)
        self.multihead_attn = layers.MultiHeadAttention(nhead, d_model // nhead, dropout=dropout, use_bias=bias)
        self.norms.append(layers.LayerNormalization(epsilon=layer_norm_eps, center=bias))
        self.dropouts.append(layers.Dropout(dropout))

    def call(self, x, memory, attention_mask=None, memory_attention_mask=None, use_causal_mask=False):
        mask = None if attention_mask is None else padding_mask(attention_mask)
        memory_mask = None if memory_attention_mask is None else padding_mask(memory_attention_mask)
        norm1, norm2, norm3 = self.norms
        if self.norm_first:
            x = x + self.attend(norm1(x), mask, use_causal_mask)
            x = x + self.attend_memory(norm2(x), memory, memory_mask)
            return x + self.feed_forward(norm3(x))
        x = norm1(x + self.attend(x, mask, use_causal_mask))
        x = norm2(x + self.attend_memory(x, memory, memory_mask))
        return norm3(x + self.feed_forward(x))

    def attend_memory(self, x, memory, mask):
        return self.dropouts[3](self.multihead_attn(x, memory, attention_mask=mask))

    def load_torch_state(self, state, prefix=""):
        """Weights of the torch module whose state_dict keys start with prefix (numpy arrays)."""
        heads = self.self_attn.num_heads
        self.self_attn.set_weights(attention_weights(state, prefix + "self_attn.", heads))
        self.multihead_attn.set_weights(attention_weights(state, prefix + "multihead_attn.", heads))
        load_dense_and_norms(self, state, prefix)
'''
