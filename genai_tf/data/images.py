"""Images, one kind of data: the bundled ``digits``, tfds names and local ``.npz``, as ``tf.data``.

:func:`load` returns an :class:`ImageData` with seeded train / validation / test splits, images
float32 in [0, 1] shaped ``(batch, H, W, C)`` and labels int32 shaped ``(batch,)``. This module
offers the surface every kind offers (:mod:`genai_tf.data`): :data:`SOURCES`, :data:`DEFAULT`,
:func:`load`, :func:`available_offline`, :func:`save_samples`, :func:`tensorboard_callbacks`, and
on the dataset ``spec``, ``run_settings()``, ``train_stream(step)``, ``validation``, ``test``,
``steps_per_epoch``, ``preview()``, ``describe()`` and ``validation_report(model)``.

Where the data comes from (:mod:`genai_tf.data.image_sources`):

- ``digits``: scikit-learn's bundled 8x8 handwritten digits (1,797 real images). Works
  offline; smoke runs and CI use it, upscaled to 28x28 so they exercise the same models.
- ``mnist``, ``fashion_mnist``, ``cifar10``: ``$GENAI_TF_DATA_DIR/<name>.npz`` (keras
  layout: ``x_train, y_train, x_test, y_test``) if it exists, with no network; otherwise
  tensorflow-datasets. Offline, the loader raises
  :class:`~genai_tf.data.shared.DatasetUnavailableError` at once (tfds itself would retry for
  minutes). Nothing falls back silently.
"""

from __future__ import annotations

import dataclasses
import numbers

import numpy as np
import tensorflow as tf

from genai_tf.data import image_sources, shared
from genai_tf.data.shared import SPLITS, DatasetUnavailableError, network_available  # noqa: F401  (this kind's API)

SOURCES = ("digits", "mnist", "fashion_mnist", "cifar10")
DEFAULT = "digits"  # bundled with scikit-learn: offline, what smoke runs and CI use
TRAIN_DEFAULT = "mnist"  # what `genai-tf train` uses when no source is given
DIGITS_TEST_FRACTION = 0.15
_NUM_CLASSES = {"digits": 10, "mnist": 10, "fashion_mnist": 10, "cifar10": 10}


@dataclasses.dataclass(frozen=True)
class ImageData:
    """One dataset, split three ways. Built by :func:`load`.

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

    @property
    def spec(self) -> tuple[int, int, int]:
        """What an image family's ``build`` takes first: the image shape ``(H, W, C)``."""
        return self.image_shape

    def run_settings(self) -> dict:
        """What identifies this data, for an exact resume: the same fields mean the same batches."""
        return {"dataset": self.name, "image_shape": list(self.image_shape),
                "num_train": int(len(self.arrays["train"][0])), "batch_size": int(self.batch_size),
                "data_seed": int(self.seed), "binarize": self.binarize}

    def split(self, name: str) -> tf.data.Dataset:
        """The batches of split ``name`` (``train`` shuffled, the others in a fixed order)."""
        return getattr(self, shared.check_split(name))

    def preview(self, count: int = 16) -> np.ndarray:
        """The first ``count`` validation images (grey levels), for TensorBoard's reconstructions."""
        return self.images("validation")[:count]

    def describe(self) -> str:
        return f"{self.name} {self.image_shape}, batch {self.batch_size}"

    def validation_report(self, model) -> str:
        """``model``'s metrics on the validation split, in one line."""
        results = model.evaluate(self.validation, verbose=0, return_dict=True)
        return "final validation metrics: " + ", ".join(f"{k}={float(v):.4f}" for k, v in results.items())

    def train_stream(self, start_step: int = 0) -> tf.data.Dataset:
        """The training batches as one endless stream, each batch a function of its step alone.

        Batch ``k`` belongs to epoch ``e = k // steps_per_epoch``, whose order is a permutation
        of the train split drawn from ``(seed, e)``; with ``binarize="dynamic"`` its pixels are
        drawn from ``(seed, k)``. Nothing depends on how often the stream was iterated, so a run
        resumed at step ``start_step`` sees exactly the batches an unbroken run sees from there
        (:mod:`genai_tf.training` relies on this). Skipping is done on indices, so it is cheap.
        """
        if not shared.is_whole(start_step, 0):
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
        return self.arrays[shared.check_split(split)]


def binarize_images(images, seed) -> np.ndarray:
    """Stochastic binarization: each pixel becomes 1 with probability equal to its grey level.

    ``images`` holds grey levels in [0, 1]; ``seed`` is anything ``np.random.default_rng``
    takes. Returns float32 zeros and ones of the same shape. The same seed gives the same draw.
    """
    images = np.asarray(images, dtype=np.float32)
    uniform = np.random.default_rng(seed).random(images.shape, dtype=np.float32)
    return (uniform < images).astype(np.float32)


def available_offline(source: str, data_dir: str | None = None) -> tuple[bool, str]:
    """Whether ``source`` loads without a network, and how: used by ``genai-tf doctor``."""
    check_name(source)
    if source == "digits":
        return True, "bundled with scikit-learn"
    return shared.cached(source, data_dir, f"{source}.npz")


def save_samples(samples, path) -> str:
    """Write generated images to ``path`` as a float32 ``.npy``; return what was written, in words."""
    images = np.asarray(samples, dtype="float32")
    if not np.all(np.isfinite(images)):
        raise ValueError(f"The model generated {int(np.sum(~np.isfinite(images)))} NaN or infinite pixel values; "
                         f"its training diverged. Retrain it (a lower learning rate helps).")
    np.save(path, images)
    return f"wrote {images.shape} float32 images in [{images.min():.3f}, {images.max():.3f}] to {path}"


def tensorboard_callbacks(family, log_dir, dataset) -> list:
    """What shows an image family's samples in TensorBoard: a seeded grid of 64 samples each epoch,
    and, for a family that reconstructs, the :meth:`ImageData.preview` images next to their
    reconstructions."""
    from genai_tf.viz.tensorboard import SampleGrid

    return [SampleGrid(log_dir, num_samples=64, images=dataset.preview() if family.reconstructs else None)]


def load(
    source: str,
    *,
    seed: int = 0,
    limit: int | None = None,
    data_dir: str | None = None,
    batch_size: int = 128,
    image_size: int | None = 28,
    binarize: str | None = None,
    validation_fraction: float = 0.1,
    shuffle_buffer: int | None = None,
) -> ImageData:
    """Load ``source`` (one of :data:`SOURCES`) as seeded train / validation / test splits.

    Splits (all seeded by ``seed``):

    - ``digits`` has no official test split. A permutation of the 1,797 images is cut into
      test = the first ``round(0.15 * 1797)`` = 270, validation = the next
      ``round(validation_fraction * 1527)`` (153 by default), and train = the rest (1,374).
    - ``mnist``, ``fashion_mnist``, ``cifar10``: validation = a random
      ``round(validation_fraction * N)`` of the official train split (6,000 of MNIST's
      60,000 by default), train = the rest; test = the official test split, in its order.

    Args:
        source: dataset name, one of ``SOURCES``.
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
    name = source
    check_name(name)
    _check_args(image_size, batch_size, limit, seed, binarize, validation_fraction,
                shuffle_buffer)
    rng = np.random.default_rng(seed)
    if name == "digits":
        x_all, y_all = image_sources.load_digits()
        order = rng.permutation(len(x_all))
        n_test = round(DIGITS_TEST_FRACTION * len(x_all))
        test = (x_all[order[:n_test]], y_all[order[:n_test]])
        x_train, y_train = x_all[order[n_test:]], y_all[order[n_test:]]
    else:
        x_train, y_train, x_test, y_test = image_sources.load_official(name, data_dir, _NUM_CLASSES[name])
        test = (x_test, y_test)
    order = rng.permutation(len(x_train))
    n_val = shared.split_counts(len(x_train), validation_fraction)
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
        arrays[split] = (image_sources.to_float(x, image_size, name), np.asarray(y, np.int32).reshape(-1))

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
    if name not in SOURCES:
        raise ValueError(f"Unknown dataset {name!r}: choose one of {SOURCES}.{shared.did_you_mean(name, SOURCES)}")


def _check_args(image_size, batch_size, limit, seed, binarize, fraction, shuffle_buffer):
    def positive(value, allow_none):
        return (allow_none and value is None) or shared.is_whole(value, 1)

    fraction_ok = isinstance(fraction, numbers.Real) and not isinstance(fraction, bool)
    shared.check_arguments([
        ("image_size", image_size, positive(image_size, True), "a positive int or None"),
        ("batch_size", batch_size, positive(batch_size, False), "an int >= 1"),
        ("limit", limit, positive(limit, True), "an int >= 1 or None"),
        ("seed", seed, shared.is_whole(seed, 0), "an int >= 0"),
        ("binarize", binarize, binarize in (None, "static", "dynamic"),
         "None, 'static' or 'dynamic'"),
        ("validation_fraction", fraction, fraction_ok and 0 < fraction < 1,
         "a number strictly between 0 and 1"),
        ("shuffle_buffer", shuffle_buffer, positive(shuffle_buffer, True), "an int >= 1 or None"),
    ])
