"""Causal self-attention and the pre-norm Transformer block (notebook 08), written from ``keras.ops``.

Eq. (AR.5): Attention(Q, K, V) = softmax(QKᵀ/√d + M) V, where M is 0 where a query may look and
-∞ where it may not; the causal mask lets position t see positions ≤ t only, so one forward
pass over a window predicts every next character at once (teacher forcing) without any
position seeing its own target. Eq. (AR.6): h heads, each attending in its own d/h-dimensional
projection, concatenated and projected back to d.

Incremental decoding keeps each layer's keys and values in a cache of fixed capacity (the
model's context): a cache is a tuple ``(keys, values, length)`` with ``keys`` and ``values`` of
shape ``(batch, heads, capacity, head_dim)`` and ``length`` (an int32 scalar) the number of
positions filled. :meth:`CausalSelfAttention.call_cached` writes the new positions' keys and
values at ``length …`` and attends over everything filled so far; the shapes never change, so
a ``tf.function`` around a decoding step is traced once.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops


def causal_mask(length):
    """M of Eq. (AR.5) for a window of ``length``: ``M[i, j] = 0`` for j ≤ i and -∞ above the diagonal.

    ``length`` is an int (or a scalar tensor, inside a traced function); the result is a float32
    tensor of shape ``(length, length)``.
    """
    if isinstance(length, (bool, float)) or (isinstance(length, (int, np.integer)) and length < 1):
        raise ValueError(f"length={length!r}: a causal mask is for a whole number >= 1 of positions.")
    positions = ops.arange(length, dtype="int32")
    return ops.where(positions[None, :] <= positions[:, None], 0.0, -np.inf)


def causal_average(length) -> np.ndarray:
    """The toy before attention: ``W[i, j] = 1 / (i + 1)`` for j ≤ i, else 0, so ``W @ X`` replaces each
    row of ``X`` by the average of the rows up to it. float64 ``(length, length)``, rows summing to 1."""
    return np.tril(np.ones((length, length))) / np.arange(1, length + 1)[:, None]


def causal_softmax(scores) -> np.ndarray:
    """Weights from scores ``(..., L, L)``: each row's softmax over the keys j ≤ i, 0 above the
    diagonal (NumPy, float64). All-zero scores give :func:`causal_average`."""
    scores = np.asarray(scores, "float64")
    length = scores.shape[-1]
    scores = np.where(np.tril(np.ones((length, length), bool)), scores, -np.inf)
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return weights / weights.sum(axis=-1, keepdims=True)


def scaled_dot_product_attention(q, k, v, mask=None):
    """Eq. (AR.5): ``softmax(q kᵀ / √d + mask) v`` over the last two axes.

    ``q`` is ``(..., Lq, d)``, ``k`` ``(..., Lk, d)``, ``v`` ``(..., Lk, dv)``; ``mask`` is an
    additive mask broadcastable to ``(..., Lq, Lk)`` (0 to keep, -∞ to drop, e.g.
    :func:`causal_mask`) or a boolean one (True to keep). Returns ``(outputs (..., Lq, dv),
    weights (..., Lq, Lk))``; each row of ``weights`` sums to 1.
    """
    q, k, v = (ops.convert_to_tensor(x, dtype="float32") for x in (q, k, v))
    scores = ops.matmul(q, ops.swapaxes(k, -1, -2)) / math.sqrt(q.shape[-1])
    if mask is not None:
        mask = ops.convert_to_tensor(mask)
        if mask.dtype == "bool":
            mask = ops.where(mask, 0.0, -np.inf)
        scores = scores + ops.cast(mask, scores.dtype)
    weights = ops.softmax(scores, axis=-1)
    return ops.matmul(weights, v), weights


@keras.saving.register_keras_serializable(package="genai_tf")
class CausalSelfAttention(keras.layers.Layer):
    """Multi-head causal self-attention, Eq. (AR.6), with its own query, key, value and output projections.

    ``call(x)`` maps ``(batch, L, d_model)`` to the same shape, position t attending to positions
    ≤ t; ``call(x, return_weights=True)`` also returns the weights ``(batch, heads, L, L)``.
    ``call_cached(x_new, cache)`` is the same computation for new positions appended to a cache
    (see the module docstring).
    """

    def __init__(self, d_model, num_heads, **kwargs):
        super().__init__(**kwargs)
        if d_model % num_heads:
            raise ValueError(f"d_model={d_model} is not divisible by num_heads={num_heads}; each head gets "
                             f"d_model / num_heads dimensions.")
        self.d_model, self.num_heads = int(d_model), int(num_heads)
        self.head_dim = self.d_model // self.num_heads
        self.query, self.key, self.value, self.output_projection = (
            keras.layers.Dense(self.d_model, name=name) for name in ("query", "key", "value", "output"))

    def build(self, input_shape):
        for dense in (self.query, self.key, self.value, self.output_projection):
            dense.build((None, None, self.d_model))
        self.built = True

    def _heads(self, x):
        """(batch, L, d_model) -> (batch, heads, L, head_dim)."""
        batch, length = ops.shape(x)[0], ops.shape(x)[1]
        return ops.transpose(ops.reshape(x, (batch, length, self.num_heads, self.head_dim)), (0, 2, 1, 3))

    def _merge(self, x):
        """(batch, heads, L, head_dim) -> (batch, L, d_model), then the output projection."""
        batch, length = ops.shape(x)[0], ops.shape(x)[2]
        return self.output_projection(ops.reshape(ops.transpose(x, (0, 2, 1, 3)), (batch, length, self.d_model)))

    def call(self, x, return_weights=False):
        q, k, v = self._heads(self.query(x)), self._heads(self.key(x)), self._heads(self.value(x))
        outputs, weights = scaled_dot_product_attention(q, k, v, causal_mask(ops.shape(x)[1]))
        outputs = self._merge(outputs)
        return (outputs, weights) if return_weights else outputs

    def empty_cache(self, batch, capacity):
        """A cache with room for ``capacity`` positions, none filled."""
        shape = (batch, self.num_heads, capacity, self.head_dim)
        return ops.zeros(shape), ops.zeros(shape), ops.convert_to_tensor(0, dtype="int32")

    def call_cached(self, x_new, cache):
        """The outputs for ``x_new`` (``(batch, T, d_model)``, the positions after the cached ones)
        and the cache with their keys and values appended: ``(y_new, cache)``.

        Query i (absolute position ``length + i``) attends to every cached position and to the
        new ones up to itself. The caller keeps ``length + T`` within the capacity.
        """
        keys, values, length = cache
        new = int(x_new.shape[1])
        capacity = int(keys.shape[2])
        q, k, v = self._heads(self.query(x_new)), self._heads(self.key(x_new)), self._heads(self.value(x_new))
        positions = ops.arange(capacity, dtype="int32")
        # slot j takes new entry j - length when length <= j < length + T, else keeps its value
        written = ops.logical_and(positions >= length, positions < length + new)[None, None, :, None]
        source = ops.clip(positions - length, 0, new - 1)
        keys = ops.where(written, ops.take(k, source, axis=2), keys)
        values = ops.where(written, ops.take(v, source, axis=2), values)
        visible = positions[None, :] <= (length + ops.arange(new, dtype="int32"))[:, None]  # (T, capacity)
        outputs, _ = scaled_dot_product_attention(q, keys, values, visible)
        return self._merge(outputs), (keys, values, length + new)

    def get_config(self):
        config = super().get_config()
        config.update({"d_model": self.d_model, "num_heads": self.num_heads})
        return config


@keras.saving.register_keras_serializable(package="genai_tf")
class TransformerBlock(keras.layers.Layer):
    """A pre-norm decoder block: x + Attn(LN(x)), then x + MLP(LN(x)) with a 4×-wide GELU MLP."""

    def __init__(self, d_model, num_heads, mlp_ratio=4, **kwargs):
        super().__init__(**kwargs)
        self.d_model, self.num_heads, self.mlp_ratio = int(d_model), int(num_heads), int(mlp_ratio)
        self.attention_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="attention_norm")
        self.attention = CausalSelfAttention(self.d_model, self.num_heads, name="attention")
        self.mlp_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="mlp_norm")
        self.hidden = keras.layers.Dense(self.mlp_ratio * self.d_model, activation="gelu", name="hidden")
        self.mlp_output = keras.layers.Dense(self.d_model, name="mlp_output")

    def build(self, input_shape):
        shape = (None, None, self.d_model)
        for layer in (self.attention_norm, self.attention, self.mlp_norm, self.hidden):
            layer.build(shape)
        self.mlp_output.build((None, None, self.mlp_ratio * self.d_model))
        self.built = True

    def _mlp(self, x):
        return x + self.mlp_output(self.hidden(self.mlp_norm(x)))

    def call(self, x, return_weights=False):
        attended = self.attention(self.attention_norm(x), return_weights=return_weights)
        if return_weights:
            attended, weights = attended
            return self._mlp(x + attended), weights
        return self._mlp(x + attended)

    def call_cached(self, x_new, cache):
        """:meth:`call` for new positions after a cache (see :meth:`CausalSelfAttention.call_cached`)."""
        attended, cache = self.attention.call_cached(self.attention_norm(x_new), cache)
        return self._mlp(x_new + attended), cache

    def get_config(self):
        config = super().get_config()
        config.update({"d_model": self.d_model, "num_heads": self.num_heads, "mlp_ratio": self.mlp_ratio})
        return config


@keras.saving.register_keras_serializable(package="genai_tf")
class PositionalEmbedding(keras.layers.Layer):
    """Adds a learned vector per position: ``x[:, i] + table[offset + i]`` for ``max_length`` positions."""

    def __init__(self, max_length, d_model, **kwargs):
        super().__init__(**kwargs)
        self.max_length, self.d_model = int(max_length), int(d_model)

    def build(self, input_shape):
        self.table = self.add_weight(shape=(self.max_length, self.d_model), name="table",
                                     initializer=keras.initializers.RandomNormal(stddev=0.02))
        self.built = True

    def call(self, x, offset=0):
        length = x.shape[1]
        if isinstance(offset, int) and length is not None and offset + length > self.max_length:
            raise ValueError(f"Positions {offset}..{offset + length - 1} are past the {self.max_length} this "
                             f"model has embeddings for; give it at most {self.max_length} characters at once.")
        return x + ops.take(self.table, offset + ops.arange(ops.shape(x)[1], dtype="int32"), axis=0)

    def get_config(self):
        config = super().get_config()
        config.update({"max_length": self.max_length, "d_model": self.d_model})
        return config
