"""A small decoder-only Transformer over characters (notebook 08), with key/value-cache decoding.

Token embedding + learned positional embedding → N pre-norm blocks (causal multi-head
attention, Eqs. AR.5-AR.6, and a GELU MLP; :mod:`genai_tf.attention`) → a final layer norm →
logits over the vocabulary (a Dense layer, or the token embedding's transpose when tied).

Generation with the cache (``generate(..., use_cache=True)``): the prompt's last ``context``
characters are encoded in one pass that fills every layer's key/value cache, then each new
character costs one position attending over the cache. The positions are absolute (learned),
so a full cache cannot slide: when ``context`` characters are cached and one more comes, the
cache is rebuilt from the last ``context // 2`` characters in one pass, and decoding goes on
from there. Each character is thus predicted from between ``context // 2`` and ``context``
previous ones. Without the cache every character is predicted from the last ``context``
ones, recomputed from scratch; the two agree exactly while prompt + output fit in the context.
Both steps are ``tf.function``s of fixed shapes, traced once per model.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from genai_tf.attention import PositionalEmbedding, TransformerBlock
from genai_tf.models import registry
from genai_tf.models.char_lm import CharLM, compiled, family_build, generation_speed

__all__ = ["TransformerLM", "build_transformer", "generation_speed", "FAMILIES"]


@keras.saving.register_keras_serializable(package="genai_tf")
class TransformerLM(CharLM):
    """A decoder-only character Transformer.

    Args:
        characters, context: see :class:`~genai_tf.models.char_lm.CharLM`; ``context`` is also
            the number of positional embeddings (the longest window it reads).
        d_model, num_layers, num_heads: width, depth and heads (d_model divisible by heads).
        tie_embeddings: project to logits with the token embedding's transpose (plus a bias)
            instead of a separate Dense layer.
    """

    config_names = ("characters", "context", "d_model", "num_layers", "num_heads", "tie_embeddings")

    def __init__(self, characters, context, d_model=128, num_layers=4, num_heads=4, tie_embeddings=False, **kwargs):
        super().__init__(characters, context, **kwargs)
        self.d_model, self.num_layers, self.num_heads = int(d_model), int(num_layers), int(num_heads)
        self.tie_embeddings = bool(tie_embeddings)
        size = self.vocabulary.size
        self.token_embedding = keras.layers.Embedding(
            size, self.d_model, embeddings_initializer=keras.initializers.RandomNormal(stddev=0.02), name="tokens")
        self.position_embedding = PositionalEmbedding(self.context, self.d_model, name="positions")
        self.blocks = [TransformerBlock(self.d_model, self.num_heads, name=f"block_{i}") for i in range(self.num_layers)]
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")
        if self.tie_embeddings:
            self.output_bias = self.add_weight(shape=(size,), initializer="zeros", name="output_bias")
        else:
            self.output_layer = keras.layers.Dense(size, name="logits")
        self._build_now()

    @property
    def max_input_length(self):
        return self.context

    def _logits(self, hidden):
        hidden = self.final_norm(hidden)
        if self.tie_embeddings:
            return ops.matmul(hidden, ops.transpose(self.token_embedding.embeddings)) + self.output_bias
        return self.output_layer(hidden)

    def call(self, ids, training=False, return_weights=False):
        """Logits ``(batch, L, V)`` for ids ``(batch, L)``, L ≤ context; with ``return_weights``
        also every layer's attention weights, a list of ``(batch, heads, L, L)``."""
        hidden = self.position_embedding(self.token_embedding(ids))
        weights = []
        for block in self.blocks:
            hidden = block(hidden, return_weights=return_weights)
            if return_weights:
                hidden, layer_weights = hidden
                weights.append(layer_weights)
        logits = self._logits(hidden)
        return (logits, weights) if return_weights else logits

    # --- incremental decoding --------------------------------------------------------------------
    def empty_caches(self, batch=1):
        """One empty key/value cache per block, each with room for ``context`` positions."""
        return [block.attention.empty_cache(batch, self.context) for block in self.blocks]

    def call_cached(self, ids_new, caches):
        """Logits ``(batch, T, V)`` of ``ids_new`` ``(batch, T)``, the positions after those cached,
        and the caches with them appended."""
        length = caches[0][2]
        hidden = self.position_embedding(self.token_embedding(ids_new), offset=length)
        updated = []
        for block, cache in zip(self.blocks, caches, strict=True):
            hidden, cache = block.call_cached(hidden, cache)
            updated.append(cache)
        return self._logits(hidden), updated

    # While decoding, every layer's cache travels as one tensor, ``packed[layer] = (keys, values)``
    # of shape (layers, 2, 1, heads, context, head_dim), with the filled length beside it: a step
    # then has three inputs, not three per layer, and calls it fast (fewer arguments to match).
    def _unpack(self, packed, length):
        return [(packed[i, 0], packed[i, 1], length) for i in range(self.num_layers)]

    @staticmethod
    def _pack(caches):
        return ops.stack([ops.stack([keys, values]) for keys, values, _ in caches])

    def _prefill(self, padded, count):
        """Encode a right-padded ``(1, context)`` window whose first ``count`` ids are real: the next
        character's logits and the packed caches of those ``count`` positions (the later slots
        are overwritten before anything attends to them)."""
        logits, caches = self.call_cached(padded, self.empty_caches())
        return ops.take(logits[0], count - 1, axis=0), self._pack(caches)  # a gather: XLA compiles it once

    def _step(self, new_id, packed, length):
        logits, caches = self.call_cached(ops.reshape(new_id, (1, 1)), self._unpack(packed, length))
        return logits[0, 0], self._pack(caches)

    def _encode(self, history):
        padded = np.zeros((1, self.context), "int32")
        padded[0, :len(history)] = history
        prefill = self._function("prefill", self._prefill, jit_compile=True)
        logits, packed = prefill(padded, tf.constant(len(history), "int32"))
        return ops.convert_to_numpy(logits), packed

    def _logit_stream(self, ids, use_cache):
        if not use_cache:
            yield from super()._logit_stream(ids, use_cache)
            return
        keep = max(1, self.context // 2)  # what a full cache is rebuilt from
        history = list(ids)
        logits, packed = self._encode(history)
        # the traced step itself: calling it skips tf.function's argument matching (~0.5 ms a step)
        scalar = tf.TensorSpec((), "int32")
        step = self._function("step", self._step, jit_compile=True).get_concrete_function(
            scalar, tf.TensorSpec(packed.shape, packed.dtype), scalar)
        while True:
            chosen = int((yield logits))
            history.append(chosen)
            if len(history) > self.context:  # the cache is full: rebuild it from the last `keep` characters
                history = history[-keep:]
                logits, packed = self._encode(history)
            else:  # the new character goes in at position len(history) - 1
                logits, packed = step(tf.constant(chosen, "int32"), packed, tf.constant(len(history) - 1, "int32"))
                logits = ops.convert_to_numpy(logits)


def build_transformer(spec, d_model=192, num_layers=4, num_heads=4, tie_embeddings=False, learning_rate=1e-3):
    """The course's Transformer for a :class:`~genai_tf.data.text.TextSpec`, compiled with :func:`char_lm.adam`."""
    model = TransformerLM(spec.vocabulary.characters, spec.context, d_model=d_model, num_layers=num_layers,
                          num_heads=num_heads, tie_embeddings=tie_embeddings, name="transformer")
    return compiled(model, learning_rate)



# --- the registry entry (genai_tf.models.registry) ------------------------------------------
FAMILIES = {
    # Adam, not AdamW: a 20-minute CPU run sees about one pass over the plays, far from
    # overfitting, so weight decay has nothing to regularise; clipping the gradient's norm at 1
    # keeps the first steps stable without a warm-up.
    "transformer": registry.Family(
        "transformer", family_build("transformer", build_transformer), TransformerLM, latent_dim=0, data="text", context=256,
        title="Transformer", description="decoder-only character Transformer (4 pre-norm blocks, d=192, 4 heads, GELU MLP, learned "
                    "positions), Adam 1e-3 with clipping, cosine decay; key/value-cache sampling",
        reconstructs=False, batch_size=32, decay_start=0.0, decay_shape="cosine", decay_final_fraction=0.1),
}
