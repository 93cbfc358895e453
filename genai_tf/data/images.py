"""Image datasets as ``tf.data.Dataset``: the bundled ``digits``, tfds names and local ``.npz``.

Every loader returns an :class:`ImageData` with seeded train / validation / test splits,
images float32 in [0, 1] shaped ``(batch, H, W, C)`` and labels int32 shaped ``(batch,)``.

Where the data comes from:

- ``digits``: scikit-learn's bundled 8x8 handwritten digits (1,797 real images). Works
  offline; smoke runs and CI use it, upscaled to 28x28 so they exercise the same models.
- ``mnist``, ``fashion_mnist``, ``cifar10``: ``$GENAI_TF_DATA_DIR/<name>.npz`` (keras
  layout: ``x_train, y_train, x_test, y_test``) if it exists, with no network; otherwise
  tensorflow-datasets (:mod:`genai_tf.data_sources`, which checks the arrays). Offline, the
  loader raises :class:`DatasetUnavailableError` at once (tfds itself would retry for
  minutes). Nothing falls back silently.
"""

from __future__ import annotations

import dataclasses
import difflib
import numbers
import os

import numpy as np
import tensorflow as tf

from genai_tf import data_sources
from genai_tf.data_sources import DATA_DIR_ENV, DatasetUnavailableError, network_available  # noqa: F401  (this API)

DATASETS = ("digits", "mnist", "fashion_mnist", "cifar10")
SPLITS = ("train", "validation", "test")
DIGITS_TEST_FRACTION = 0.15
_NUM_CLASSES = {"digits": 10, "mnist": 10, "fashion_mnist": 10, "cifar10": 10}
_RESIZE_CHUNK = 4096


@dataclasses.dataclass(frozen=True)
class ImageData:
    """One dataset, split three ways. Built by :func:`load_dataset`.

    ``train`` is shuffled every epoch; ``validation`` and ``test`` come in a fixed order.
    Each yields ``(images, labels)`` batches: float32 ``(B, H, W, C)`` in [0, 1] and int32
    ``(B,)``. ``arrays`` holds the numpy arrays behind them, after ``limit`` and resizing but
    before any binarization: ``{"train": (x, y), "validation": (x, y), "test": (x, y)}``.
    """

    name: str
    image_shape: tuple[int, int, int]  # (H, W, C)
    num_classes: int
    train: tf.data.Dataset = dataclasses.field(repr=False)
    validation: tf.data.Dataset = dataclasses.field(repr=False)
    test: tf.data.Dataset = dataclasses.field(repr=False)
    arrays: dict = dataclasses.field(repr=False)
    batch_size: int = 128
    seed: int = 0
    binarize: str | None = None

    @property
    def steps_per_epoch(self) -> int:
        """Batches in one pass over the train split (the last one partial)."""
        return -(-len(self.arrays["train"][0]) // self.batch_size)

    def train_stream(self, start_step: int = 0) -> tf.data.Dataset:
        """The training batches as one endless stream, each batch a function of its step alone.

        Batch ``k`` belongs to epoch ``e = k // steps_per_epoch``, whose order is a permutation
        of the train split drawn from ``(seed, e)``; with ``binarize="dynamic"`` its pixels are
        drawn from ``(seed, k)``. Nothing depends on how often the stream was iterated, so a run
        resumed at step ``start_step`` sees exactly the batches an unbroken run sees from there
        (:mod:`genai_tf.training` relies on this). Skipping is done on indices, so it is cheap.
        """
        if not _is_int(start_step) or start_step < 0:
            raise ValueError(f"start_step={start_step!r}; it must be an int >= 0.")
        images = self._pixels("train")
        labels = self.arrays["train"][1]
        count, steps, seed = len(images), self.steps_per_epoch, self.seed
        start_epoch, offset = divmod(int(start_step), steps)

        def epoch_batches(epoch):  # (steps,) batches of indices, the last one partial
            order = tf.random.experimental.stateless_shuffle(
                tf.range(count, dtype=tf.int64), seed=tf.stack([tf.constant(seed, tf.int64), epoch]))
            return tf.data.Dataset.from_tensor_slices(order).batch(self.batch_size)

        indices = tf.data.Dataset.range(start_epoch, 2**62).flat_map(epoch_batches).skip(offset)
        images, labels = tf.constant(images), tf.constant(labels)
        dynamic = self.binarize == "dynamic"

        def gather(step, index):
            batch = tf.gather(images, index)  # (B, H, W, C)
            if dynamic:
                uniform = tf.random.stateless_uniform(
                    tf.shape(batch), seed=tf.stack([step, tf.constant(seed, tf.int64)]))
                batch = tf.cast(uniform < batch, tf.float32)
            return batch, tf.gather(labels, index)

        steps_ds = tf.data.Dataset.range(int(start_step), 2**62)
        return (tf.data.Dataset.zip(steps_ds, indices)
                .map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
                .prefetch(tf.data.AUTOTUNE))

    def _pixels(self, split: str) -> np.ndarray:
        """The images a model trains on in ``split``: binarized once where the protocol says so."""
        images = self.images(split)
        if self.binarize == "static" or (self.binarize == "dynamic" and split != "train"):
            return binarize_images(images, [self.seed, SPLITS.index(split)])
        return images

    def images(self, split: str) -> np.ndarray:
        """The grey-level images of ``split``: float32 ``(N, H, W, C)`` in [0, 1]."""
        return self._split(split)[0]

    def labels(self, split: str) -> np.ndarray:
        """The labels of ``split``: int32 ``(N,)``."""
        return self._split(split)[1]

    def _split(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        if split not in self.arrays:
            raise ValueError(f"split={split!r} is not one of {SPLITS}")
        return self.arrays[split]


def binarize_images(images, seed) -> np.ndarray:
    """Stochastic binarization: each pixel becomes 1 with probability equal to its grey level.

    ``images`` holds grey levels in [0, 1]; ``seed`` is anything ``np.random.default_rng``
    takes. Returns float32 zeros and ones of the same shape. The same seed gives the same draw.
    """
    images = np.asarray(images, dtype=np.float32)
    uniform = np.random.default_rng(seed).random(images.shape, dtype=np.float32)
    return (uniform < images).astype(np.float32)


def available_offline(name: str, data_dir: str | None = None) -> tuple[bool, str]:
    """Whether ``name`` loads without a network, and how: used by ``genai-tf doctor``."""
    check_name(name)
    if name == "digits":
        return True, "bundled with scikit-learn"
    path = data_sources.npz_path(name, data_dir)
    if path is not None and os.path.isfile(path):
        return True, path
    try:
        builder = data_sources.tfds_builder(name)
        if data_sources.prepared(builder):
            return True, f"tfds cache at {builder.data_dir}"
    except Exception:  # any tfds trouble just means "not cached"
        pass
    return False, f"not found: set {DATA_DIR_ENV} to a folder with {name}.npz"


def load_dataset(
    name: str,
    *,
    image_size: int | None = 28,
    batch_size: int = 128,
    limit: int | None = None,
    seed: int = 0,
    binarize: str | None = None,
    validation_fraction: float = 0.1,
    data_dir: str | None = None,
    shuffle_buffer: int | None = None,
) -> ImageData:
    """Load ``name`` (one of :data:`DATASETS`) as seeded train / validation / test splits.

    Splits (all seeded by ``seed``):

    - ``digits`` has no official test split. A permutation of the 1,797 images is cut into
      test = the first ``round(0.15 * 1797)`` = 270, validation = the next
      ``round(validation_fraction * 1527)`` (153 by default), and train = the rest (1,374).
    - ``mnist``, ``fashion_mnist``, ``cifar10``: validation = a random
      ``round(validation_fraction * N)`` of the official train split (6,000 of MNIST's
      60,000 by default), train = the rest; test = the official test split, in its order.

    Args:
        name: dataset name, one of ``DATASETS``.
        image_size: resize to ``image_size`` x ``image_size`` (bilinear, antialiased, once, on
            the arrays); ``None`` keeps the native size. Channels stay native (3 for cifar10).
        batch_size: examples per batch; the last, partial batch is kept.
        limit: for quick runs. Train keeps a random ``limit`` of its examples; validation and
            test are cut to ``limit`` too when larger (test keeps a random subset, in order).
        seed: seeds the split, ``limit``, shuffling and binarization.
        binarize: ``None`` keeps grey levels. ``"static"`` draws every pixel once from
            Bernoulli(grey level) in every split. ``"dynamic"`` redraws the train split every
            epoch inside tf.data (reproducible from ``seed``, different each epoch), while
            validation and test are drawn once: the stochastically binarized MNIST protocol.
            ``arrays`` always holds the grey levels.
        validation_fraction: share of the train split held out for validation, in (0, 1).
        data_dir: folder searched for ``<name>.npz``; defaults to ``$GENAI_TF_DATA_DIR``.
        shuffle_buffer: train shuffle buffer; ``None`` shuffles the whole split.

    Raises:
        ValueError: unknown ``name`` or a bad argument.
        DatasetUnavailableError: the data can't be had (offline, malformed ``.npz``, ...).
    """
    check_name(name)
    _check_args(image_size, batch_size, limit, seed, binarize, validation_fraction,
                shuffle_buffer)
    rng = np.random.default_rng(seed)
    if name == "digits":
        x_all, y_all = _load_digits()
        order = rng.permutation(len(x_all))
        n_test = round(DIGITS_TEST_FRACTION * len(x_all))
        test = (x_all[order[:n_test]], y_all[order[:n_test]])
        x_train, y_train = x_all[order[n_test:]], y_all[order[n_test:]]
    else:
        x_train, y_train, x_test, y_test = data_sources.load_official(name, data_dir, _NUM_CLASSES[name])
        test = (x_test, y_test)
    order = rng.permutation(len(x_train))
    n_val = min(max(round(validation_fraction * len(x_train)), 1), len(x_train) - 1)
    validation = (x_train[order[:n_val]], y_train[order[:n_val]])
    train = (x_train[order[n_val:]], y_train[order[n_val:]])

    if limit is not None:
        train = tuple(a[:limit] for a in train)  # already shuffled: a random subset
        validation = tuple(a[:limit] for a in validation)
        if len(test[0]) > limit:
            keep = np.sort(rng.permutation(len(test[0]))[:limit])
            test = tuple(a[keep] for a in test)

    arrays = {}
    for split, (x, y) in zip(SPLITS, (train, validation, test), strict=True):
        arrays[split] = (_to_float(x, image_size, name), np.asarray(y, np.int32).reshape(-1))

    loaded = ImageData(name=name, image_shape=tuple(int(d) for d in arrays["train"][0].shape[1:]),
                       num_classes=_NUM_CLASSES[name], arrays=arrays, batch_size=batch_size, seed=seed,
                       binarize=binarize, train=None, validation=None, test=None)
    datasets = {}
    for split in SPLITS:
        x, y = loaded._pixels(split), arrays[split][1]
        dataset = tf.data.Dataset.from_tensor_slices((x, y))
        if split == "train":
            buffer = shuffle_buffer or len(x)
            dataset = dataset.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.batch(batch_size, drop_remainder=False)
        if split == "train" and binarize == "dynamic":
            dataset = _binarize_each_epoch(dataset, seed)
        datasets[split] = dataset.prefetch(tf.data.AUTOTUNE)

    return dataclasses.replace(loaded, **datasets)


def _binarize_each_epoch(dataset: tf.data.Dataset, seed: int) -> tf.data.Dataset:
    """Redraw Bernoulli pixels per batch, with a batch seed that changes every epoch."""
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)

    def draw(batch, batch_seed):
        images, labels = batch
        stateless_seed = tf.stack([batch_seed, tf.constant(seed, tf.int64)])
        uniform = tf.random.stateless_uniform(tf.shape(images), seed=stateless_seed)
        return tf.cast(uniform < images, tf.float32), labels

    return tf.data.Dataset.zip(dataset, seeds).map(draw, num_parallel_calls=tf.data.AUTOTUNE)


def check_name(name: str) -> None:
    if name not in DATASETS:
        close = difflib.get_close_matches(str(name), DATASETS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown dataset {name!r}: choose one of {DATASETS}.{hint}")


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_args(image_size, batch_size, limit, seed, binarize, fraction, shuffle_buffer):
    def positive(value, allow_none):
        return (allow_none and value is None) or (_is_int(value) and value >= 1)

    fraction_ok = isinstance(fraction, numbers.Real) and not isinstance(fraction, bool)
    checks = [
        ("image_size", image_size, positive(image_size, True), "a positive int or None"),
        ("batch_size", batch_size, positive(batch_size, False), "an int >= 1"),
        ("limit", limit, positive(limit, True), "an int >= 1 or None"),
        ("seed", seed, _is_int(seed) and seed >= 0, "an int >= 0"),
        ("binarize", binarize, binarize in (None, "static", "dynamic"),
         "None, 'static' or 'dynamic'"),
        ("validation_fraction", fraction, fraction_ok and 0 < fraction < 1,
         "a number strictly between 0 and 1"),
        ("shuffle_buffer", shuffle_buffer, positive(shuffle_buffer, True), "an int >= 1 or None"),
    ]
    for argument, value, ok, allowed in checks:
        if not ok:
            raise ValueError(f"{argument}={value!r} is not allowed: {argument} must be {allowed}.")


def _to_float(images: np.ndarray, image_size: int | None, name: str) -> np.ndarray:
    """uint8 or [0, 1] images -> float32 (N, H, W, C) in [0, 1], resized once, in chunks.

    Other values are refused, never clipped into saturated pixels (``.npz`` files are checked
    earlier, by ``data_sources.check_npz_arrays``, with the file named). The final clip only absorbs
    float rounding of the resize, which is a weighted mean of the pixels.
    """
    images = np.asarray(images)
    if images.ndim == 3:  # keras mnist layout has no channel axis
        images = images[..., np.newaxis]
    if images.ndim != 4:
        raise DatasetUnavailableError(
            f"Dataset {name!r}: images have shape {images.shape}; expected (N, H, W) or "
            "(N, H, W, C).")
    problem = data_sources.pixel_problem(images)
    if problem is not None:
        raise DatasetUnavailableError(f"Dataset {name!r}: the images hold {problem}; expected "
                                      f"uint8 pixels or floats in [0, 1]. Fix: {data_sources.PIXEL_FIX}.")
    if images.dtype == np.uint8:
        images = images.astype(np.float32) / 255.0
    images = images.astype(np.float32, copy=False)
    if image_size is not None and images.shape[1:3] != (image_size, image_size):
        size = (image_size, image_size)
        images = np.concatenate([
            tf.image.resize(images[i:i + _RESIZE_CHUNK], size, antialias=True).numpy()
            for i in range(0, len(images), _RESIZE_CHUNK)
        ])  # bilinear, (N, image_size, image_size, C)
    return np.clip(images, 0.0, 1.0).astype(np.float32, copy=False)


def _load_digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., np.newaxis]  # (1797, 8, 8, 1)
    return images, digits.target.astype(np.int32)


