"""Text, one kind of data (notebook 08): a corpus cut into blocks, as windows of character ids.

:func:`load` turns a corpus (:func:`~genai_tf.data.corpora.load_text`: a name of :data:`SOURCES`
or a UTF-8 file) into a :class:`TextData`: the text cut into contiguous blocks, each block in one
of the train / validation / test splits, and windows of ``context + 1`` characters drawn inside one
block, so no window straddles two splits. A collected-works text (``shakespeare``) is split by
whole plays (:mod:`genai_tf.data.plays`: a few plays held out for validation and others for test,
each block one work); any other text (``pydoc_topics``, which has no plays) by seeded random
blocks of :func:`default_block` characters. The model is built from the data's
:class:`~genai_tf.data.vocabulary.TextSpec` (vocabulary and context).

This module offers the surface every kind offers (:mod:`genai_tf.data`): :data:`SOURCES`,
:data:`DEFAULT`, :func:`load`, :func:`available_offline`, :func:`save_samples`,
:func:`tensorboard_callbacks`, and on the dataset ``spec``, ``run_settings()``,
``train_stream(step)``, ``validation``, ``test``, ``steps_per_epoch``, ``preview()``,
``describe()`` and ``validation_report(model)``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from genai_tf.data import corpora, plays, shared
from genai_tf.data.corpora import available_offline, load_text  # noqa: F401  (this kind's API)
from genai_tf.data.shared import SPLITS
from genai_tf.data.vocabulary import TextSpec, Vocabulary  # noqa: F401  (this kind's spec)

SOURCES = corpora.CORPORA
DEFAULT = "pydoc_topics"  # bundled with Python: offline, what smoke runs and CI use
TRAIN_DEFAULT = DEFAULT  # what `genai-tf train` uses when no source is given
FRACTIONS = (0.9, 0.05, 0.05)
BLOCKS_WANTED = 200  # the default block cuts the text into about 200 blocks: a 5 % split gets 10
BLOCK_WINDOWS = 4  # ... unless that leaves fewer than 4 windows' worth of characters in a block
SPLIT_BY = ("plays", "blocks")  # how load() can split; None picks plays when the text has them


def default_block(length: int, context: int) -> int:
    """The block length :func:`load` uses when none is given.

    ``length // 200`` characters (about 200 blocks, so every split of the default fractions gets
    several), but at least ``4 * (context + 1)`` (a block holds a few windows, and a window's start
    can fall in most of it), and at most ``length // 3`` (three splits need three blocks); never
    below one window, ``context + 1``.
    """
    window = context + 1
    return max(window, min(max(BLOCK_WINDOWS * window, length // BLOCKS_WANTED), length // 3))


@dataclasses.dataclass(frozen=True, eq=False)
class TextData:
    """A text split three ways by contiguous blocks, as windows. Built by :func:`load`.

    ``split_by`` is ``"plays"`` (each block one whole work; ``block`` is None) or ``"blocks"``
    (seeded blocks of ``block`` characters; ``fractions`` the shares).

    ``bounds[split]`` holds the split's blocks as ``(start, end)`` character offsets into
    ``corpus``, in text order. A window is ``context + 1`` consecutive characters inside one block:
    the first ``context`` are the inputs, the last ``context`` the targets (the next characters).
    Scorers must not glue a split's blocks together: they score each block of :meth:`ids` on its
    own and average over the scored characters (every text model's ``score`` takes the list).
    """

    name: str
    vocabulary: Vocabulary
    context: int
    batch_size: int
    seed: int
    fractions: tuple
    block: int | None
    corpus: str = dataclasses.field(repr=False)  # the whole text (after ``limit``)
    encoded: np.ndarray = dataclasses.field(repr=False)  # int32 (N,): the corpus's ids
    bounds: dict = dataclasses.field(repr=False)  # split -> ((start, end), ...) in text order
    sha256: str = dataclasses.field(repr=False)  # of the corpus's UTF-8 bytes
    split_by: str = "blocks"

    @property
    def spec(self) -> TextSpec:
        return TextSpec(self.vocabulary, self.context)

    def _bounds(self, split: str) -> tuple:
        return self.bounds[shared.check_split(split)]

    def num_characters(self, split: str) -> int:
        """Characters in the blocks of ``split``."""
        return sum(end - start for start, end in self._bounds(split))

    def ids(self, split: str) -> list[np.ndarray]:
        """The blocks of ``split`` as int32 id arrays, in text order (score each one on its own)."""
        return [self.encoded[start:end] for start, end in self._bounds(split)]

    def text(self, split: str) -> list[str]:
        """The blocks of ``split`` as strings, in text order (the same blocks as :meth:`ids`)."""
        return [self.corpus[start:end] for start, end in self._bounds(split)]

    @property
    def steps_per_epoch(self) -> int:
        """``train characters // (batch_size * context)``, at least 1: one epoch shows about
        as many target characters as the train split holds."""
        return max(1, self.num_characters("train") // (self.batch_size * self.context))

    def window_starts(self, split: str = "train", stride: int = 1) -> np.ndarray:
        """int32 offsets of the windows inside each block of ``split`` (at block offsets 0, stride,
        2 * stride, ... while a whole window fits), in text order."""
        window = self.context + 1
        return np.concatenate([np.arange(start, end - window + 1, stride, dtype=np.int32)
                               for start, end in self._bounds(split)])

    def batch_starts(self, step: int) -> np.ndarray:
        """The ``batch_size`` window starts of train batch ``step`` (what :meth:`train_stream` uses)."""
        return _draw(tf.constant(self.window_starts("train")), self.seed, self.batch_size, step).numpy()

    def train_stream(self, start_step: int = 0) -> tf.data.Dataset:
        """Endless ``(inputs, targets)`` int32 batches, each ``(batch_size, context)``, from step
        ``start_step`` on. Batch ``k``'s window starts are ``batch_size`` uniform draws (with
        replacement) over :meth:`window_starts` of train, a function of ``(seed, k)`` alone, so a
        run resumed at step ``k`` sees what an unbroken run sees (:mod:`genai_tf.training`)."""
        starts, ids = tf.constant(self.window_starts("train")), tf.constant(self.encoded)
        seed, size, window = self.seed, self.batch_size, self.context + 1
        return shared.step_stream(lambda step: _windows(ids, _draw(starts, seed, size, step), window), start_step)

    def windows(self, split: str) -> tf.data.Dataset:
        """A finite, ordered tf.data of ``(inputs, targets)`` batches over ``split``: in each block,
        windows at offsets 0, context, 2 * context, ... so the targets tile the block from its second
        character on without overlap; the block's last ``(length - 1) % context`` characters are not
        targets. The last batch may be smaller. For exact scores give ``model.score`` :meth:`ids`."""
        ids, window = tf.constant(self.encoded), self.context + 1
        return (tf.data.Dataset.from_tensor_slices(self.window_starts(split, self.context)).batch(self.batch_size)
                .map(lambda batch: _windows(ids, batch, window), num_parallel_calls=tf.data.AUTOTUNE,
                     deterministic=True)
                .prefetch(tf.data.AUTOTUNE))

    @property
    def validation(self) -> tf.data.Dataset:
        """:meth:`windows` of the validation split."""
        return self.windows("validation")

    @property
    def test(self) -> tf.data.Dataset:
        """:meth:`windows` of the test split."""
        return self.windows("test")

    def split(self, name: str) -> tf.data.Dataset:
        """:meth:`windows` of split ``name``."""
        return self.windows(name)

    def preview(self, count: int = 4) -> str:
        """The first ``count`` lines of the validation split, for TensorBoard."""
        return "\n".join(self.text("validation")[0].split("\n")[:count])

    def describe(self) -> str:
        return (f"{self.name} ({self.num_characters('train'):,} training characters, {self.vocabulary.size} "
                f"distinct; windows of {self.context})")

    def validation_report(self, model) -> str:
        """``model``'s bits and nats per character on the validation blocks, in one line."""
        scores = model.score(self.ids("validation"))
        return (f"validation: {scores['bits_per_char']:.4f} bits/char, {scores['nats_per_char']:.4f} nats/char "
                f"over {scores['characters']:,} characters")

    def run_settings(self) -> dict:
        """What identifies this data, for an exact resume: the same fields mean the same windows."""
        return {"dataset": self.name, "characters": len(self.corpus), "text_sha256": self.sha256,
                "vocabulary_size": self.vocabulary.size, "context": self.context,
                "batch_size": self.batch_size, "data_seed": self.seed,
                "fractions": [float(f) for f in self.fractions], "block": self.block,
                **({"split_by": self.split_by} if self.split_by != "blocks" else {})}


def split_blocks(length: int, block: int, fractions, seed: int) -> dict:
    """``{split: ((start, end), ...)}``: ``length`` characters cut into ``length // block`` blocks of
    ``block`` or a little more characters, dealt to the splits by a permutation seeded by ``seed``,
    ``round(fraction * blocks)`` (at least 1) each for validation and test, the rest for train."""
    count = length // block
    edges = [index * length // count for index in range(count + 1)]
    held = [max(1, round(fraction * count)) for fraction in fractions[1:]]
    while count - sum(held) < 1 and max(held) > 1:  # train keeps at least one block
        held[held.index(max(held))] -= 1
    order = np.random.default_rng(seed).permutation(count)
    chosen = {"validation": order[:held[0]], "test": order[held[0]:sum(held)], "train": order[sum(held):]}
    return {split: tuple((edges[i], edges[i + 1]) for i in sorted(int(i) for i in chosen[split]))
            for split in SPLITS}


def load(source, *, seed: int = 0, limit: int | None = None, data_dir=None, batch_size: int = 64,
         context: int = 128, fractions=FRACTIONS, block: int | None = None, split_by: str | None = None) -> TextData:
    """A corpus (``source``: a name of :data:`SOURCES` or a file path, see :func:`load_text`)
    as :class:`TextData`: train / validation / test splits by whole plays or by seeded blocks.

    Args:
        context: characters a model sees at once; a window holds ``context + 1``.
        batch_size: windows per batch.
        seed: seeds which blocks go to which split, and the train windows.
        data_dir: folder with the corpora's ``.txt`` files; defaults to ``$GENAI_TF_DATA_DIR``.
        limit: keep only the first ``limit`` characters (quick runs).
        fractions: the train, validation and test shares of the blocks (positive, sum 1).
        block: characters per block; ``None`` means :func:`default_block` (blocks only).
        split_by: ``"plays"`` (whole works, :func:`genai_tf.data.plays.split_by_plays`: fixed
            held-out plays, whatever the seed; ``fractions`` and ``block`` unused), ``"blocks"``,
            or ``None``: plays when no ``block`` is given and the (limited) text holds at least
            three plays (:func:`genai_tf.data.plays.has_plays`: ``shakespeare``), blocks otherwise.

    The vocabulary holds every character of the (limited) text, so every split can be encoded.

    Raises:
        ValueError: a bad argument, or a text too short: every split needs one block of at
            least ``context + 1`` characters; ``split_by="plays"`` for a text without plays.
            And what :func:`load_text` raises.
    """
    whole = shared.is_whole
    shared.check_arguments([("context", context, whole(context, 1), "an int >= 1"),
                            ("batch_size", batch_size, whole(batch_size, 1), "an int >= 1"),
                            ("seed", seed, whole(seed, 0), "an int >= 0"),
                            ("limit", limit, limit is None or whole(limit, 1), "an int >= 1 or None"),
                            ("block", block, block is None or whole(block, 1), "an int >= 1 or None")])
    fractions = _check_fractions(fractions)
    if split_by not in (None, *SPLIT_BY):
        raise ValueError(f"split_by={split_by!r}: use one of {SPLIT_BY}, or None (plays when the text has them).")
    if block is not None and block < context + 1:
        raise ValueError(f"block={block} is shorter than one window (context + 1 = {context + 1} characters); "
                         f"use a block of at least {context + 1}, or block=None.")
    name, text = load_text(source, data_dir)
    if limit is not None:
        text = text[:limit]
    if split_by is None:
        split_by = "plays" if block is None and plays.has_plays(text) else "blocks"
    if split_by == "plays":
        bounds, block = plays.split_by_plays(text), None
        short = [split for split, spans in bounds.items() if max(end - start for start, end in spans) <= context]
        if short:
            raise ValueError(f"context={context}: the {short} split(s) hold no work longer than one window.")
        return _text_data(name, text, context, batch_size, seed, fractions, block, bounds, split_by)
    block = default_block(len(text), context) if block is None else block
    if len(text) // block < len(SPLITS):
        raise ValueError(
            f"The text {name!r} has {len(text):,} characters{' after limit' if limit is not None else ''}: too "
            f"short for {len(SPLITS)} splits of blocks of {block} characters. Each split needs at least one "
            f"window of context + 1 = {context + 1} characters, so at least {len(SPLITS) * max(block, context + 1):,} "
            f"characters. Use a longer text (or a larger limit), a smaller context, or a smaller block.")
    return _text_data(name, text, context, batch_size, seed, fractions, int(block),
                      split_blocks(len(text), block, fractions, seed), split_by)


def _text_data(name, text, context, batch_size, seed, fractions, block, bounds, split_by) -> TextData:
    vocabulary = Vocabulary.from_text(text)
    return TextData(name=name, vocabulary=vocabulary, context=int(context), batch_size=int(batch_size),
                    seed=int(seed), fractions=fractions, block=block, corpus=text, encoded=vocabulary.encode(text),
                    bounds=bounds, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(), split_by=split_by)


def save_samples(samples: str, path) -> str:
    """Write generated text to ``path`` (UTF-8); return what was written, in words."""
    Path(path).write_text(samples, encoding="utf-8")
    return f"wrote {len(samples):,} characters to {path}"


def tensorboard_callbacks(family, log_dir, dataset) -> list:
    """What shows a text family's samples in TensorBoard: the validation preview once, and a seeded
    continuation of its first line every epoch (:class:`TextSample`)."""
    return [TextSample(log_dir, dataset.preview())]


class TextSample(keras.callbacks.Callback):
    """Log ``length`` generated characters after ``prompt`` (the preview's first line) with
    ``tf.summary.text`` every ``every`` epochs, seeded so epochs compare; the preview at the start."""

    def __init__(self, log_dir, preview: str, length: int = 100, seed: int = 0, every: int = 1):
        super().__init__()
        self.log_dir, self.preview, self.length, self.seed, self.every = str(log_dir), preview, length, seed, every
        self.prompt = (preview.split("\n")[0] or "\n")[:32]
        self._writer = None

    def _write(self, name, value, step):
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(str(Path(self.log_dir) / "text"))
        with self._writer.as_default(step=step):
            tf.summary.text(name, value)

    def on_train_begin(self, logs=None):
        self._write("validation_preview", self.preview, 0)

    def on_epoch_end(self, epoch, logs=None):
        if epoch % self.every == 0 and hasattr(self.model, "generate"):
            generated = self.model.generate(self.prompt, self.length, seed=self.seed)
            self._write("samples", self.prompt + generated, epoch)


def _draw(starts: tf.Tensor, seed: int, size: int, step) -> tf.Tensor:
    """``size`` of ``starts``, drawn uniformly with replacement from the stateless seed ``(seed, step)``."""
    key = tf.stack([tf.constant(seed, tf.int64), tf.cast(step, tf.int64)])
    index = tf.random.stateless_uniform((size,), seed=key, minval=0, maxval=tf.shape(starts)[0], dtype=tf.int32)
    return tf.gather(starts, index)


def _windows(ids: tf.Tensor, starts: tf.Tensor, window: int):
    """The windows of ``ids`` at ``starts`` (B,): inputs and targets (B, window - 1), targets one later."""
    windows = tf.gather(ids, starts[:, tf.newaxis] + tf.range(window, dtype=tf.int32))  # (B, window)
    return windows[:, :-1], windows[:, 1:]


def _check_fractions(fractions) -> tuple:
    try:
        values = tuple(float(f) for f in fractions)
    except (TypeError, ValueError):
        values = ()
    if len(values) != len(SPLITS) or min(values) <= 0 or not math.isclose(sum(values), 1.0, abs_tol=1e-6):
        raise ValueError(f"fractions={fractions!r}: give three positive shares (train, validation, test) "
                         f"that sum to 1, e.g. {FRACTIONS}.")
    return values
