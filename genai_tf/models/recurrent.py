"""A character LSTM (notebook 08): embedding → stacked LSTMs → logits, sampled by carrying the state.

Training reads windows of ``context`` characters, each from a zero state, so the model learns
p(x_{t+1} | up to ``context`` previous characters); scoring uses the same windows
(:meth:`~genai_tf.models.char_lm.CharLM.score`). Generation with ``use_cache=True`` feeds the
prompt's last ``context`` characters one at a time through the LSTM cells and then carries
their state on, one character per step: the state summarises everything generated so far,
with no window limit (the same logits as recomputing while prompt + output fit in
``context``). ``use_cache=False`` reruns the last ``context`` characters from a zero state
for every new one. The step is a ``tf.function`` of fixed shapes, traced once.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from genai_tf.models import registry
from genai_tf.models.char_lm import CharLM, compiled, family_build


@keras.saving.register_keras_serializable(package="genai_tf")
class CharLSTM(CharLM):
    """Embedding(V, ``embedding_dim``) → ``num_layers`` LSTMs of ``units`` → Dense(V)."""

    config_names = ("characters", "context", "embedding_dim", "units", "num_layers")

    def __init__(self, characters, context, embedding_dim=64, units=512, num_layers=1, **kwargs):
        super().__init__(characters, context, **kwargs)
        self.embedding_dim, self.units, self.num_layers = int(embedding_dim), int(units), int(num_layers)
        self.embedding = keras.layers.Embedding(self.vocabulary.size, self.embedding_dim, name="embedding")
        self.lstms = [keras.layers.LSTM(self.units, return_sequences=True, name=f"lstm_{i}")
                      for i in range(self.num_layers)]
        self.output_layer = keras.layers.Dense(self.vocabulary.size, name="logits")
        self._build_now()

    def call(self, ids, training=False):
        """Logits ``(batch, L, V)`` for ids ``(batch, L)``, every sequence starting from a zero state."""
        hidden = self.embedding(ids)
        for lstm in self.lstms:
            hidden = lstm(hidden, training=training)
        return self.output_layer(hidden)

    def zero_state(self, batch=1):
        """Every layer's ``[h, c]``, all zeros."""
        return [[ops.zeros((batch, self.units)), ops.zeros((batch, self.units))] for _ in self.lstms]

    def _step(self, new_id, states):
        """One character through every cell: the next character's logits ``(V,)`` and the new states."""
        hidden = self.embedding(ops.reshape(new_id, (1,)))
        updated = []
        for lstm, state in zip(self.lstms, states, strict=True):
            hidden, state = lstm.cell(hidden, state, training=False)
            updated.append(list(state))
        return self.output_layer(hidden)[0], updated

    def _logit_stream(self, ids, use_cache):
        if not use_cache:
            yield from super()._logit_stream(ids, use_cache)
            return
        step = self._function("step", self._step, jit_compile=True)
        states = self.zero_state()
        for character in ids:
            logits, states = step(tf.constant(int(character), "int32"), states)
        while True:
            chosen = int((yield ops.convert_to_numpy(logits)))
            logits, states = step(tf.constant(chosen, "int32"), states)


def build_lstm(spec, embedding_dim=64, units=512, num_layers=1, learning_rate=2e-3):
    """The course's LSTM for a :class:`~genai_tf.data.text.TextSpec`, compiled with :func:`char_lm.adam`."""
    model = CharLSTM(spec.vocabulary.characters, spec.context, embedding_dim=embedding_dim, units=units,
                     num_layers=num_layers, name="lstm")
    return compiled(model, learning_rate)



# --- the registry entry (genai_tf.models.registry) ------------------------------------------
FAMILIES = {
    # Adam with the gradient norm clipped at 1, the usual guard against an LSTM's exploding
    # gradients; no weight decay (a short run does not overfit).
    "lstm": registry.Family(
        "lstm", family_build("lstm", build_lstm), CharLSTM, latent_dim=0, data="text", context=128,
        title="LSTM", description="character LSTM (embedding 64, one LSTM of 512 units), Adam 2e-3 with clipping, cosine decay; "
                    "samples by carrying the state",
        reconstructs=False, batch_size=32, decay_start=0.0, decay_shape="cosine", decay_final_fraction=0.1),
}
