"""What every neural character language model shares (notebook 08): training, exact scoring, sampling.

A :class:`CharLM` maps a window of character ids ``(batch, L)`` to next-character logits
``(batch, L, V)``: position t's logits are p(x_{t+1} | x_≤t) (Eq. AR.1), the model looking back
at most ``context`` characters. Training is teacher forcing on ``(inputs, targets)`` batches
(targets = inputs shifted by one, ``genai_tf.data.text.TextData.train_stream``), minimising the mean
cross-entropy in nats per character (Eq. AR.2); ``fit`` reports it as ``loss`` and as
``bits_per_char`` (Eq. AR.3).

Scoring (:meth:`CharLM.score`) and generation (:meth:`CharLM.generate`) are written here once;
a subclass gives ``call`` and, if it can decode incrementally (a key/value cache, a recurrent
state), overrides :meth:`CharLM._logit_stream`.
"""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from genai_tf import losses, sampling
from genai_tf.data.text import TextSpec, Vocabulary
from genai_tf.models.base import LossTermsModel

SCORE_BATCH = 64  # windows per forward pass when scoring


def check_text_spec(spec, family: str, latent_dim) -> TextSpec:
    """``spec`` if it is a :class:`~genai_tf.data.text.TextSpec` and ``latent_dim`` is unset, else a clear error."""
    if not isinstance(spec, TextSpec):
        raise ValueError(f"The {family} family trains on text: build it from a genai_tf.data.text.TextSpec "
                         f"(e.g. genai_tf.data.text.load(...).spec), not {spec!r}.")
    if latent_dim:
        raise ValueError(f"latent_dim={latent_dim}: a language model has no latent variable; leave it unset.")
    return spec


class CharLM(LossTermsModel):
    """Base class of the neural character models: the vocabulary, training, scoring and sampling.

    Args:
        characters: the vocabulary's characters in id order (saved in the config, so one
            ``.keras`` file holds everything needed to sample and score).
        context: the most previous characters a prediction looks at.

    A subclass builds its layers in ``__init__`` and then calls :meth:`_build_now`, defines
    ``call(ids, training=False) -> logits``, and lists its other constructor arguments in
    ``config_names``. ``max_input_length`` is the longest window ``call`` takes (None: any).
    """

    loss_names = ("loss", "bits_per_char")
    config_names = ("characters", "context")
    # the gradient's global norm is clipped at 1 in every update (LossTermsModel.update_weights),
    # the usual guard against exploding gradients in recurrent and attention models
    gradient_clip_norm = 1.0
    max_input_length: int | None = None

    def __init__(self, characters, context, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary = Vocabulary(characters)
        self.characters = self.vocabulary.characters
        TextSpec(self.vocabulary, context)  # checks the context
        self.context = int(context)
        object.__setattr__(self, "_functions", {})  # traced functions, not tracked as layers

    def _build_now(self):
        """Create every weight at construction (so ``load_model`` restores weights and optimizer state)."""
        self(ops.zeros((1, min(2, self.context)), dtype="int32"))

    def _function(self, name, fn, jit_compile=False):
        """``tf.function(fn)``, traced once per model and input shapes, kept under ``name``.

        The decoding steps are compiled with XLA (``jit_compile=True``): a one-character step is
        hundreds of tiny ops, and fused they take about a third of the time (the default
        Transformer's cached step: about 1 ms against 3 ms on the 2-core machine). Both decoding
        paths, with and without a cache, are compiled alike, so their speeds compare.
        """
        if name not in self._functions:
            self._functions[name] = tf.function(tf.autograph.experimental.do_not_convert(fn),
                                                jit_compile=jit_compile, reduce_retracing=True)
        return self._functions[name]

    # --- training: Eq. (AR.2) ------------------------------------------------------------------
    def compute_losses(self, inputs, targets, training=False):
        nats = ops.mean(losses.char_cross_entropy(targets, self(inputs, training=training)))
        return {"loss": nats, "bits_per_char": losses.bits_per_char(nats)}

    def _batch_inputs(self, data):
        name = type(self).__name__
        inputs, targets, _ = keras.utils.unpack_x_y_sample_weight(data)
        if targets is None:
            raise ValueError(f"{name} trains on (inputs, targets) batches of character ids, as "
                             f"genai_tf.data.text.TextData.train_stream yields them.")
        problem = None
        if len(inputs.shape) != 2 or tuple(inputs.shape) != tuple(targets.shape):
            problem = f"inputs {tuple(inputs.shape)} and targets {tuple(targets.shape)} must both be (batch, length)"
        elif self.max_input_length is not None and (inputs.shape[1] or 0) > self.max_input_length:
            problem = (f"windows of {inputs.shape[1]} characters are longer than its context of "
                       f"{self.max_input_length}; load the text with context={self.max_input_length}")
        if problem:
            self.train_function = self.test_function = None  # let fit() trace afresh on fixed data
            raise ValueError(f"{name}: {problem}.")
        return inputs, targets

    # --- scoring: the exact -log p of every character but the first ---------------------------
    def _scoring_plan(self) -> tuple[int, int]:
        """``(window, stride)``: windows of ``context`` characters, every later window moved on by
        ``context // 2``, scoring its last ``stride`` positions (each with ≥ context - stride + 1
        previous characters). The MLP overrides this with an exact plan."""
        return self.context, max(1, self.context // 2)

    def _position_nats(self, inputs, targets):
        """-log p(target | inputs up to it) for every position: ``(batch, window)`` nats."""
        logits = self(inputs, training=False)
        flat = ops.reshape(logits, (-1, 1, logits.shape[-1]))  # each position a sequence of one
        return ops.reshape(losses.char_cross_entropy(ops.reshape(targets, (-1, 1)), flat), ops.shape(targets))

    def _blocks(self, text_or_ids) -> list[np.ndarray]:
        if isinstance(text_or_ids, str):
            return [self.vocabulary.encode(text_or_ids, what="The text")]
        if isinstance(text_or_ids, (list, tuple)) and text_or_ids and isinstance(text_or_ids[0], (str, np.ndarray, list, tuple)):
            return [block for item in text_or_ids for block in self._blocks(item)]
        ids = np.asarray(text_or_ids)
        if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"score takes a text, a 1-D array of character ids or a list of those; got "
                             f"{type(text_or_ids).__name__} of shape {ids.shape}.")
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocabulary.size):
            raise ValueError(f"Character ids must be in [0, {self.vocabulary.size}); got [{ids.min()}, {ids.max()}].")
        return [ids.astype("int32")]

    def _windows(self, ids, window, stride):
        """The scoring windows of one block: ``(inputs, targets, scored)``, each ``(n, window)``."""
        targets_count = len(ids) - 1
        if targets_count <= window:
            inputs, targets = np.zeros((2, 1, window), "int32")
            inputs[0, :targets_count], targets[0, :targets_count] = ids[:-1], ids[1:]
            return inputs, targets, np.arange(window)[None] < targets_count
        starts = np.array([*range(0, targets_count - window, stride), targets_count - window])
        first_scored = np.concatenate([[0], starts[:-1] + window - starts[1:]])
        index = starts[:, None] + np.arange(window)
        return ids[index], ids[index + 1], np.arange(window)[None] >= first_scored[:, None]

    def score(self, text_or_ids, stride=None) -> dict:
        """Nats and bits per character of a text (or ids, or a list of blocks) under the model.

        Characters 1..N-1 of each block are scored (the first has no context), each once, given
        the previous characters within its window: windows of ``context`` characters moved on by
        ``stride`` (default ``context // 2``), so a character after the first window sees between
        ``context - stride + 1`` and ``context`` previous ones; ``stride=1`` gives each one the
        full ``min(t, context)``. A list of blocks is averaged over all their characters.
        Returns ``{"nats_per_char", "bits_per_char", "characters"}``.
        """
        window, default_stride = self._scoring_plan()
        stride = default_stride if stride is None else stride
        if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or not 1 <= stride <= window:
            raise ValueError(f"stride={stride!r}: a scoring stride is a whole number in [1, {window}].")
        pieces = [self._windows(ids, window, int(stride)) for ids in self._blocks(text_or_ids) if len(ids) > 1]
        if not pieces:
            raise ValueError("Nothing to score: a text needs at least 2 characters (the first is not scored).")
        inputs, targets, scored = (np.concatenate(arrays) for arrays in zip(*pieces))
        position_nats = self._function("position_nats", self._position_nats)
        total, count = 0.0, int(scored.sum())
        for start in range(0, len(inputs), SCORE_BATCH):  # a smaller last chunk: one more trace, then none
            chunk = slice(start, start + SCORE_BATCH)
            nats = ops.convert_to_numpy(position_nats(inputs[chunk], targets[chunk]))
            total += float(nats[scored[chunk]].astype("float64").sum())
        if not np.isfinite(total):
            raise FloatingPointError("The model's logits hold NaN or inf, so the text's likelihood is undefined; "
                                     "the weights are broken (did training diverge?).")
        nats_per_char = total / count
        return {"nats_per_char": nats_per_char, "bits_per_char": float(losses.bits_per_char(nats_per_char)),
                "characters": count}

    # --- generation: Eqs. (AR.7)-(AR.9) through genai_tf.sampling.text ------------------------
    def _window_logits(self, ids, index):
        """Logits ``(V,)`` of the character after ``ids[0, :index + 1]`` (a padded ``(1, context)`` window)."""
        # a gather, not a slice: XLA would compile a slice anew for every index
        return ops.take(self(ids, training=False)[0], index, axis=0)

    def next_logits(self, ids) -> np.ndarray:
        """Logits ``(V,)`` of the next character after ``ids`` (a text or ids), from its last ``context``
        characters, recomputed from scratch: one forward pass over a right-padded window (the
        model is causal, so the padding does not reach the position read)."""
        ids = self.vocabulary.encode(ids, what="The text") if isinstance(ids, str) else np.asarray(ids, "int32")
        if ids.size == 0:
            raise ValueError("next_logits needs at least one character to condition on.")
        ids = ids[-self.context:]
        padded = np.zeros((1, self.context), "int32")
        padded[0, :len(ids)] = ids
        function = self._function("window_logits", self._window_logits, jit_compile=True)
        return ops.convert_to_numpy(function(padded, tf.constant(len(ids) - 1, "int32")))

    def _logit_stream(self, ids, use_cache):
        """A generator: yields the logits ``(V,)`` of the character after ``ids``; ``send(id)`` appends
        a character and yields the next logits. This one recomputes every step (:meth:`next_logits`)."""
        history = list(ids)
        while True:
            chosen = yield self.next_logits(history)
            history = [*history, int(chosen)][-self.context:]

    def _prompt_ids(self, prompt) -> np.ndarray:
        if not isinstance(prompt, str):
            raise ValueError(f"The prompt is a text (str); got {type(prompt).__name__}.")
        if not prompt:
            raise ValueError(f"The prompt is empty; {type(self).__name__} has no start-of-text symbol, so give it "
                             f"at least one character to continue (e.g. a newline or a word).")
        return self.vocabulary.encode(prompt, what="The prompt")[-self.context:]

    def stepwise_logits(self, prompt, continuation="", use_cache=True) -> np.ndarray:
        """The logits :meth:`generate` would sample from after ``prompt`` and after each character of
        ``continuation`` (a text): shape ``(len(continuation) + 1, V)``."""
        stream = self._logit_stream(self._prompt_ids(prompt), use_cache)
        rows = [next(stream)]
        rows += [stream.send(int(i)) for i in self.vocabulary.encode(continuation, what="The continuation")]
        stream.close()
        return np.stack(rows)

    def generate(self, prompt, length, temperature=1.0, top_k=None, top_p=None, seed=None, use_cache=True) -> str:
        """``length`` new characters after ``prompt`` (returned without the prompt).

        Each is drawn from the model's next-character distribution after temperature (Eq. AR.7),
        top-k (AR.8) and top-p (AR.9) filtering (``genai_tf.sampling.text``); ``temperature=0`` is
        greedy. Only the prompt's last ``context`` characters are read. ``use_cache`` decodes
        incrementally where the model can (see the subclass); ``False`` recomputes the last
        ``context`` characters for every new one. ``seed`` makes the draw repeatable.
        """
        ids = self._prompt_ids(prompt)
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 0:
            raise ValueError(f"length={length!r}: the number of characters to generate is a whole number >= 0.")
        sampling.text.next_distribution(np.zeros(self.vocabulary.size), temperature, top_k, top_p)  # checks them
        rng = np.random.default_rng(seed)
        chosen = []
        if length:
            stream = self._logit_stream(ids, use_cache)
            logits = next(stream)
            for step in range(length):
                chosen.append(int(sampling.text.sample_next(logits, rng, temperature, top_k, top_p)))
                if step + 1 < length:
                    logits = stream.send(chosen[-1])
            stream.close()
        return self.vocabulary.decode(np.array(chosen, dtype="int64"))


def generation_speed(model: CharLM, prompt: str, length: int = 256, seed: int = 0) -> dict:
    """Characters per second that ``model.generate`` produces with and without its cache.

    Each path first runs once untimed (tracing and compiling every step it takes, the cache's
    rebuild included), then ``length`` characters after ``prompt`` are timed on the wall clock. Returns ``{"context", "length",
    "cached_chars_per_second", "uncached_chars_per_second", "speedup"}``.
    """
    times = {}
    for use_cache in (True, False):
        model.generate(prompt, length, seed=seed, use_cache=use_cache)
        start = time.perf_counter()
        model.generate(prompt, length, seed=seed, use_cache=use_cache)
        times[use_cache] = time.perf_counter() - start
    return {"context": model.context, "length": int(length),
            "cached_chars_per_second": length / times[True], "uncached_chars_per_second": length / times[False],
            "speedup": times[False] / times[True]}


def compiled(model, learning_rate):
    """``model`` compiled with :func:`adam`, its optimizer slots built now (not inside fit()'s first trace)."""
    model.compile(optimizer=adam(learning_rate))
    model.optimizer.build(model.trainable_variables)
    return model


def family_build(name, builder):
    """The ``Family.build`` of text family ``name``: checks the spec, seeds the initial weights (they
    depend only on the seed) and returns ``builder(spec, **settings)``. The keyword settings (widths,
    ``learning_rate``) are what ``registry.Family.variant`` passes: a narrower network, the same recipe."""

    def build(spec, latent_dim, seed, **settings):
        check_text_spec(spec, name, latent_dim)
        if seed is not None:
            keras.utils.set_random_seed(seed)
        return builder(spec, **settings)

    return build


def adam(learning_rate):
    """The text families' optimizer: Adam with β2 = 0.99. The gradient's global norm is clipped by
    the model (``CharLM.gradient_clip_norm``) before the optimizer sees it."""
    return keras.optimizers.Adam(learning_rate, beta_2=0.99)
