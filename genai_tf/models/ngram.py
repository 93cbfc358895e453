"""The counted n-gram character model (notebook 08): exact counts, smoothed, no network.

An order-n model predicts a character from the n − 1 before it. Counting every m-gram
(m = 1..n) of the training text gives the smoothed estimate, Eq. (AR.4),
notebooks/08_autoregressive_text.ipynb, for a context h of m − 1 characters and h⁻ = h without
its oldest character:

- interpolated Kneser–Ney with absolute discounting (``smoothing="kneser_ney"``)::

      p_m(w | h) = max(c_m(h w) − D_m, 0) / c_m(h •) + D_m · N₁₊(h •) / c_m(h •) · p_{m−1}(w | h⁻)

  where c_n is the raw count at the top order, and at lower orders c_m(h w) = N₁₊(• h w), the
  number of distinct characters seen before h w (a block's start counts as one), so a lower
  order rewards characters that follow many contexts; c_m(h •) = Σ_w c_m(h w); N₁₊(h •) is
  how many distinct w follow h; D_m = n₁ / (n₁ + 2 n₂) from the numbers n₁, n₂ of m-grams with
  c_m = 1 and 2 (0.5 if either is 0), or the ``discount`` given;
- add-k (``smoothing="add_k"``): p_m(w | h) = (c(h w) + k) / (c(h •) + k V), raw counts.

Both start from p_0(w) = 1 / V, and a context never seen (c_m(h •) = 0) backs off:
p_m(w | h) = p_{m−1}(w | h⁻). So each distribution sums to 1 and every character of any text
gets a finite probability. The first t characters of a block (t < n − 1) are predicted by
p_{t+1} from the t characters they have.

Counts are exact: an m-gram x_1..x_m is the integer key Σ x_i V^(m−i) (no hashing, so V^n must
fit in int64), kept per order as sorted keys and their counts in non-trainable weights, which
``model.save`` writes into the ``.keras`` file. A context's continuations are one contiguous run
of keys, found with ``np.searchsorted``; a cumulative sum of the counts gives c_m(h •) and the
run's length N₁₊(h •). Counting and scoring run in numpy, not TensorFlow.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from genai_tf import losses, sampling
from genai_tf.data.text import Vocabulary
from genai_tf.models import registry

# The order with the best validation nats/char on shakespeare.txt (genai_tf.data.text.load's 90/5/5 blocks,
# seed 0), Kneser-Ney: n = 3: 1.980, 4: 1.605, 5: 1.428, 6: 1.374, 7: 1.372, 8: 1.380, 9: 1.390.
DEFAULT_ORDER = 7
SMOOTHINGS = ("kneser_ney", "add_k")
CHUNK = 2048  # positions per (positions, V) array when whole distributions are computed
MAX_KEY = 2**63 - 1


def kneser_ney_estimate(count, context_total, context_types, discount, lower):
    """Eq. (AR.4), Kneser–Ney: (max(c − D, 0) + D·N₁₊(h•)·p_{m−1}) / c(h•); p_{m−1} where c(h•) = 0."""
    count, total = np.asarray(count, np.float64), np.asarray(context_total, np.float64)
    seen = total > 0
    safe = np.where(seen, total, 1.0)
    estimate = (np.maximum(count - discount, 0.0) + discount * context_types * lower) / safe
    return np.where(seen, estimate, lower)


def add_k_estimate(count, context_total, k, vocabulary_size, lower):
    """Eq. (AR.4), add-k: (c + k) / (c(h•) + k V); p_{m−1} where the context was never seen."""
    count, total = np.asarray(count, np.float64), np.asarray(context_total, np.float64)
    return np.where(total > 0, (count + k) / (total + k * vocabulary_size), lower)


def ngram_keys(ids, m: int, base: int) -> np.ndarray:
    """The int64 key Σ x_i base^(m−i) of every m-gram of ``ids``, in order (len(ids) − m + 1 keys)."""
    ids = np.asarray(ids, np.int64)
    length = max(len(ids) - m + 1, 0)
    keys = np.zeros(length, np.int64)
    for i in range(m):
        keys = keys * base + ids[i:i + length]
    return keys


@keras.saving.register_keras_serializable(package="genai_tf")
class NGramModel(keras.Model):
    """A character n-gram of ``order`` n with Kneser–Ney or add-k smoothing, Eq. (AR.4).

    Args:
        characters: the vocabulary's characters in id order (a ``Vocabulary`` is accepted).
        order: n ≥ 1; the model's ``context`` is n − 1 characters (1 is a smoothed unigram).
        smoothing: ``"kneser_ney"`` or ``"add_k"``.
        k: the pseudo-count of add-k (> 0).
        discount: Kneser–Ney's D for every order, in (0, 1]; ``None`` estimates D_m per order.
        table_sizes: the number of m-grams stored per order; set by :meth:`count` (and by
            ``load_model``, which restores the counts into tables of these sizes).

    Build, then ``count(blocks)`` once; then ``score``, ``log_probs``, ``next_log_probs``,
    ``generate``. ``model(inputs)`` maps ids ``(B, L)`` to log-probabilities ``(B, L, V)``
    (row t: the next character after ``inputs[:, :t + 1]``), like the networks' logits.
    """

    def __init__(self, characters, order=DEFAULT_ORDER, smoothing="kneser_ney", k=0.01, discount=None,
                 table_sizes=None, **kwargs):
        super().__init__(**kwargs)
        self._vocabulary = characters if isinstance(characters, Vocabulary) else Vocabulary(characters)
        size = self._vocabulary.size
        if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
            raise ValueError(f"order={order!r}: an n-gram's order is a whole number >= 1.")
        if size ** int(order) > MAX_KEY:
            longest = int(math.log(MAX_KEY) / math.log(size)) if size > 1 else order
            raise ValueError(f"order={order} with {size} characters: the exact keys need {size}^{order} > 2^63; "
                             f"use order <= {longest} (or a smaller vocabulary).")
        if smoothing not in SMOOTHINGS:
            raise ValueError(f"smoothing={smoothing!r}; use one of {SMOOTHINGS}.")
        if not k > 0:
            raise ValueError(f"k={k!r}: add-k needs a pseudo-count k > 0.")
        if discount is not None and not 0 < discount <= 1:
            raise ValueError(f"discount={discount!r}: Kneser–Ney's discount is in (0, 1] (or None to estimate it).")
        self.order, self.smoothing, self.k = int(order), smoothing, float(k)
        self.discount = None if discount is None else float(discount)
        self.tables = []  # per order m = 1..n: [keys (int64), counts (int32)]
        self.discounts = None
        if table_sizes is not None:
            if len(table_sizes) != self.order:
                raise ValueError(f"table_sizes has {len(table_sizes)} entries; an order-{order} model has {order}.")
            self._make_tables([int(s) for s in table_sizes])

    # --- the interface every text model shares ---------------------------------------------
    @property
    def vocabulary(self) -> Vocabulary:
        return self._vocabulary

    @property
    def context(self) -> int:
        return self.order - 1

    @property
    def counted(self) -> bool:
        return bool(self.tables)

    def get_config(self):
        config = super().get_config()
        config.update(characters=self._vocabulary.characters, order=self.order, smoothing=self.smoothing,
                      k=self.k, discount=self.discount,
                      table_sizes=[int(keys.shape[0]) for keys, _ in self.tables] if self.tables else None)
        return config

    def _make_tables(self, sizes):
        self.tables = [[self.add_weight(shape=(size,), dtype=dtype, initializer="zeros", trainable=False,
                                        name=f"order{m}_{what}") for what, dtype in (("keys", "int64"),
                                                                                     ("counts", "int32"))]
                       for m, size in enumerate(sizes, start=1)]
        self.discounts = self.add_weight(shape=(self.order,), dtype="float64", initializer="zeros",
                                         trainable=False, name="discounts")
        self.built = True
        self._cache = None

    def load_own_variables(self, store):
        super().load_own_variables(store)
        self._cache = None

    # --- counting ----------------------------------------------------------------------------
    def _blocks(self, data, what) -> list[np.ndarray]:
        """A text, one id array, or a list of either, as a list of checked int64 id arrays."""
        if isinstance(data, str) or (isinstance(data, np.ndarray) and data.ndim == 1):
            data = [data]
        blocks = []
        for block in data:
            if isinstance(block, str):
                block = self._vocabulary.encode(block, what=what)
            block = np.asarray(block)
            if block.ndim != 1 or (block.size and not np.issubdtype(block.dtype, np.integer)):
                raise ValueError(f"{what} must be a string, a 1-D array of character ids or a list of them; "
                                 f"got an array of shape {block.shape} and dtype {block.dtype}.")
            if block.size and (block.min() < 0 or block.max() >= self._vocabulary.size):
                raise ValueError(f"{what} holds ids outside [0, {self._vocabulary.size - 1}] "
                                 f"(got {block.min()}..{block.max()}); encode it with the model's vocabulary.")
            blocks.append(block.astype(np.int64))
        return blocks

    def count(self, blocks):
        """Count every m-gram (m = 1..order) inside each block of ``blocks`` (a list of id arrays, as
        ``TextData.ids("train")`` gives, or texts); no m-gram spans two blocks. Returns the model."""
        if self.tables:
            raise ValueError("This n-gram already holds counts; build a new NGramModel to count another text.")
        blocks = self._blocks(blocks, "The training text")
        total = sum(len(block) for block in blocks)
        if total == 0 or total >= 2**31:
            raise ValueError(f"count() got {total:,} characters; it needs between 1 and 2^31 − 1.")
        base, tables = self._vocabulary.size, []
        for m in range(1, self.order + 1):
            keys = np.concatenate([ngram_keys(block, m, base) for block in blocks])
            tables.append(np.unique(keys, return_counts=True))
        if self.smoothing == "kneser_ney":  # lower orders: continuation counts N₁₊(• h w)
            for m in range(1, self.order):
                keys = tables[m - 1][0]
                suffixes, left_types = np.unique(tables[m][0] % base**m, return_counts=True)
                continuation = np.zeros(len(keys), np.int64)
                continuation[np.searchsorted(keys, suffixes)] = left_types
                starts = np.unique([ngram_keys(block[:m], m, base)[0] for block in blocks if len(block) >= m])
                continuation[np.searchsorted(keys, starts.astype(np.int64))] += 1
                tables[m - 1] = (keys, continuation)
        self._make_tables([len(keys) for keys, _ in tables])
        for (keys_variable, counts_variable), (keys, counts) in zip(self.tables, tables):
            keys_variable.assign(keys)
            counts_variable.assign(counts.astype(np.int32))
        self.discounts.assign([self._estimate_discount(counts) for _, counts in tables])
        return self

    def _estimate_discount(self, counts) -> float:
        if self.discount is not None:
            return self.discount
        once, twice = int(np.sum(counts == 1)), int(np.sum(counts == 2))
        return once / (once + 2 * twice) if once and twice else 0.5

    # --- probabilities -----------------------------------------------------------------------
    def _arrays(self):
        """Per order: (keys, counts, cumulative counts with a leading 0), and the discounts, in numpy."""
        if not self.tables:
            raise ValueError("This n-gram has no counts yet: call model.count(blocks) first "
                             "(e.g. model.count(data.ids('train'))).")
        if self._cache is None:
            orders = []
            for keys, counts in self.tables:
                keys, counts = keys.numpy(), counts.numpy().astype(np.int64)
                orders.append((keys, counts, np.concatenate([[0], np.cumsum(counts)])))
            self._cache = orders, self.discounts.numpy()
        return self._cache

    def _contexts(self, ids, positions):
        """Keys (order, Q) of the j = 0..n−1 characters before each position, and where ids has them."""
        ids = np.concatenate([np.zeros(self.order - 1, np.int64), ids])
        keys = np.zeros((self.order, len(positions)), np.int64)
        for j in range(1, self.order):
            keys[j] = keys[j - 1] + ids[positions - j + self.order - 1] * self._vocabulary.size ** (j - 1)
        return keys, positions[None, :] >= np.arange(self.order)[:, None]

    def _estimate(self, m, count, total, types, lower):
        if self.smoothing == "add_k":
            return add_k_estimate(count, total, self.k, self._vocabulary.size, lower)
        return kneser_ney_estimate(count, total, types, self._arrays()[1][m - 1], lower)

    def _target_probs(self, ids, positions):
        """p(ids[t] | the up to n − 1 characters before t) for each t in ``positions``."""
        (orders, _), base = self._arrays(), self._vocabulary.size
        contexts, valid = self._contexts(ids, positions)
        wanted = ids[positions]
        probs = np.full(len(positions), 1.0 / base)
        for m, (keys, counts, cumulative) in enumerate(orders, start=1):
            first = np.searchsorted(keys, contexts[m - 1] * base)
            end = np.searchsorted(keys, contexts[m - 1] * base + base)
            key = contexts[m - 1] * base + wanted
            index = np.minimum(np.searchsorted(keys, key), max(len(keys) - 1, 0))
            count = np.where((index < end) & (keys[index] == key), counts[index], 0) if len(keys) else 0
            estimate = self._estimate(m, count, cumulative[end] - cumulative[first], end - first, probs)
            probs = np.where(valid[m - 1], estimate, probs)
        return probs

    def _distributions(self, ids, positions):
        """The whole distribution (Q, V) of the character at each t in ``positions``."""
        (orders, _), base = self._arrays(), self._vocabulary.size
        contexts, valid = self._contexts(ids, positions)
        probs = np.full((len(positions), base), 1.0 / base)
        for m, (keys, counts, cumulative) in enumerate(orders, start=1):
            first = np.searchsorted(keys, contexts[m - 1] * base)
            end = np.searchsorted(keys, contexts[m - 1] * base + base)
            runs = end - first
            rows = np.repeat(np.arange(len(positions)), runs)
            index = np.arange(runs.sum()) - np.repeat(np.cumsum(runs) - runs - first, runs)
            count = np.zeros_like(probs)
            count[rows, keys[index] % base] = counts[index]
            total, types = (cumulative[end] - cumulative[first])[:, None], runs[:, None]
            probs = np.where(valid[m - 1][:, None], self._estimate(m, count, total, types, probs), probs)
        return probs

    def next_log_probs(self, ids) -> np.ndarray:
        """(N, V) natural-log probabilities: row t is the distribution of the character after ids[:t + 1]."""
        ids = self._blocks(ids, "The text")[0]
        rows = [np.log(self._distributions(ids, np.arange(start, min(start + CHUNK, len(ids))) + 1))
                for start in range(0, len(ids), CHUNK)]
        return np.concatenate(rows) if rows else np.zeros((0, self._vocabulary.size))

    def log_probs(self, context_ids=()) -> np.ndarray:
        """(V,) log-probabilities of the character after ``context_ids`` (its last n − 1 count;
        an empty context gives the order-1 distribution)."""
        if not isinstance(context_ids, str):
            context_ids = np.asarray(context_ids, np.int64)
        ids = self._blocks(context_ids, "The context")[0]
        return np.log(self._distributions(ids, np.array([len(ids)]))[0])

    next_logits = log_probs  # log-probabilities are logits; generate samples from them

    def call(self, inputs):
        """Ids (B, L) → log-probabilities (B, L, V), row t given inputs[:, :t + 1] (numpy inside)."""
        if not self.tables:
            self._arrays()  # raises: nothing counted yet

        def run(batch):
            return np.stack([self.next_log_probs(row) for row in batch]).astype(np.float32)

        outputs = tf.numpy_function(run, [tf.convert_to_tensor(inputs)], tf.float32, stateful=False)
        return tf.ensure_shape(outputs, [None, None, self._vocabulary.size])

    def score(self, text_or_ids) -> dict:
        """Eq. (AR.2)–(AR.3) on a text, an id array, or a list of blocks: the mean −log p of every
        character of each block but its first (each given up to n − 1 previous characters of its own
        block), as ``{"nats_per_char", "bits_per_char", "characters"}``."""
        total, characters = 0.0, 0
        for block in self._blocks(text_or_ids, "The text"):
            if len(block) > 1:
                total -= float(np.log(self._target_probs(block, np.arange(1, len(block)))).sum())
                characters += len(block) - 1
        if characters == 0:
            raise ValueError("score() needs a text of at least 2 characters (the first one is not scored).")
        nats = total / characters
        return {"nats_per_char": nats, "bits_per_char": float(losses.bits_per_char(nats)), "characters": characters}

    def generate(self, prompt="", length=100, temperature=1.0, top_k=None, top_p=None, seed=None) -> str:
        """``length`` new characters after ``prompt`` (not included), each drawn through
        ``genai_tf.sampling.text`` from the model's distribution given the last n − 1 characters. An
        empty prompt is allowed: the first character comes from the order-1 distribution."""
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 0:
            raise ValueError(f"length={length!r}: generate a whole number >= 0 of characters.")
        ids = list(self._vocabulary.encode(prompt, what="The prompt"))
        rng = np.random.default_rng(seed)
        for _ in range(int(length)):
            logits = self.next_logits(ids[-self.order + 1:] if self.order > 1 else [])
            ids.append(int(sampling.text.sample_next(logits, rng, temperature, top_k, top_p)))
        return self._vocabulary.decode(ids[len(ids) - int(length):])


def build(spec, latent_dim=0, seed=None, order=DEFAULT_ORDER, smoothing="kneser_ney"):
    """The family's builder: an uncounted n-gram over ``spec.vocabulary`` (a ``TextSpec``) of order
    min(``order``, spec.context + 1), so a shorter context is honoured. Counting is exact and
    deterministic: ``latent_dim`` and ``seed`` are unused."""
    return NGramModel(spec.vocabulary.characters, order=min(order, spec.context + 1), smoothing=smoothing)


# --- the registry entry (genai_tf.models.registry) ------------------------------------------
FAMILIES = {
    "ngram": registry.Family(
        "ngram", build, NGramModel, latent_dim=0, data="text", reconstructs=False, counted=True,
        context=DEFAULT_ORDER - 1,
        title="n-gram", description=f"counted character {DEFAULT_ORDER}-gram, interpolated Kneser-Ney (exact, no network)"),
}
