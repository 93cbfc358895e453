"""An MLP over a fixed context of k characters (notebook 08; Bengio et al. 2003), run over whole windows.

The model is Bengio's: the embeddings of the last k characters, concatenated (k·e numbers),
→ a tanh hidden layer → logits over the vocabulary. A causal Conv1D with kernel size k over
the embedding sequence is exactly that MLP applied at every position at once: its kernel
``(k, e, hidden)`` is the hidden layer's weight matrix ``(k·e, hidden)`` cut into k slices,
and "causal" padding puts k - 1 zero vectors before the text, so position t sees characters
t-k+1 … t (zeros where the text has not started yet). So one forward pass over a window of any
length trains every position, like the Transformer's, but nothing beyond k characters back
can ever matter: the model's ``context`` is k, whatever the training windows' length.

Scoring is exact (every character with its full min(t, k) previous ones); generation needs no
cache: each step reads only the last k characters (``use_cache`` is accepted and changes nothing).
"""

from __future__ import annotations

import keras

from genai_tf.models import registry
from genai_tf.models.char_lm import CharLM, compiled, family_build

SCORE_WINDOW = 512  # positions per scoring window (any length works; longer wastes fewer overlaps)


@keras.saving.register_keras_serializable(package="genai_tf")
class CharMLP(CharLM):
    """Embedding(V, ``embedding_dim``) → causal Conv1D(``hidden``, kernel ``context``, tanh) → Dense(V)."""

    config_names = ("characters", "context", "embedding_dim", "hidden")

    def __init__(self, characters, context, embedding_dim=32, hidden=512, **kwargs):
        super().__init__(characters, context, **kwargs)
        self.embedding_dim, self.hidden = int(embedding_dim), int(hidden)
        self.embedding = keras.layers.Embedding(self.vocabulary.size, self.embedding_dim, name="embedding")
        self.mlp_hidden = keras.layers.Conv1D(self.hidden, self.context, padding="causal", activation="tanh",
                                              name="hidden")
        self.output_layer = keras.layers.Dense(self.vocabulary.size, name="logits")
        self._build_now()

    def call(self, ids, training=False):
        """Logits ``(batch, L, V)`` for ids ``(batch, L)`` of any length L."""
        return self.output_layer(self.mlp_hidden(self.embedding(ids)))

    def _scoring_plan(self):
        """Exact: windows of ``SCORE_WINDOW`` (at least k) positions overlapping by k - 1, so every
        position scored after the first window has all k characters before it in its window."""
        window = max(SCORE_WINDOW, self.context)
        return window, window - self.context + 1


def build_char_mlp(spec, context=16, embedding_dim=32, hidden=512, learning_rate=2e-3):
    """The course's MLP (k = ``context`` characters) for a :class:`~genai_tf.data.text.TextSpec`, whose
    own context is only the training windows' length."""
    model = CharMLP(spec.vocabulary.characters, context, embedding_dim=embedding_dim, hidden=hidden,
                    name="char_mlp")
    return compiled(model, learning_rate)



# --- the registry entry (genai_tf.models.registry) ------------------------------------------
FAMILIES = {
    "char_mlp": registry.Family(
        "char_mlp", family_build("char_mlp", build_char_mlp), CharMLP, latent_dim=0, data="text", context=128,
        title="character MLP", description="Bengio-style MLP over the last 16 characters (embedding 32, 512 tanh units; a causal Conv1D "
                    "over whole windows), Adam 2e-3 with clipping, cosine decay",
        reconstructs=False, batch_size=32, decay_start=0.0, decay_shape="cosine", decay_final_fraction=0.1),
}
