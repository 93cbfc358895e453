"""Image datasets as ``tf.data.Dataset``: the bundled ``digits``, tfds names and local ``.npz``.

Every loader returns an :class:`ImageData` with seeded train / validation / test splits,
images float32 in [0, 1] shaped ``(batch, H, W, C)`` and labels int32 shaped ``(batch,)``.

Where the data comes from:

- ``digits``: scikit-learn's bundled 8x8 handwritten digits (1,797 real images). Works
  offline; smoke runs and CI use it, upscaled to 28x28 so they exercise the same models.
- ``mnist``, ``fashion_mnist``, ``cifar10``: ``$GENAI_TF_DATA_DIR/<name>.npz`` (keras
  layout: ``x_train, y_train, x_test, y_test``) if it exists, with no network; otherwise
  tensorflow-datasets. Offline, the loader raises :class:`DatasetUnavailableError` at once
  (tfds itself would retry for minutes). Nothing falls back silently.
"""

from __future__ import annotations

import dataclasses
import difflib
import numbers
import os
import socket
import threading

import numpy as np
import tensorflow as tf

DATASETS = ("digits", "mnist", "fashion_mnist", "cifar10")
SPLITS = ("train", "validation", "test")
DATA_DIR_ENV = "GENAI_TF_DATA_DIR"
DIGITS_TEST_FRACTION = 0.15
_NUM_CLASSES = {"digits": 10, "mnist": 10, "fashion_mnist": 10, "cifar10": 10}
_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
_RESIZE_CHUNK = 4096


class DatasetUnavailableError(RuntimeError):
    """A dataset can't be had: no local ``.npz``, no tfds cache, and no way to download it."""


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


def network_available(timeout: float = 3.0) -> bool:
    """Whether a TCP connection to storage.googleapis.com:443 opens within ``timeout`` seconds.

    The probe runs in a daemon thread, so a slow DNS lookup can't make it take longer.
    """
    result = []

    def probe():
        try:
            socket.create_connection(("storage.googleapis.com", 443), timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


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
    _check_name(name)
    if name == "digits":
        return True, "bundled with scikit-learn"
    path = _npz_path(name, data_dir)
    if path is not None and os.path.isfile(path):
        return True, path
    try:
        builder = _tfds_builder(name)
        if _prepared(builder):
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
    _check_name(name)
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
        x_train, y_train, x_test, y_test = _load_official(name, data_dir)
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

    datasets = {}
    for index, split in enumerate(SPLITS):
        x, y = arrays[split]
        if binarize == "static" or (binarize == "dynamic" and split != "train"):
            x = binarize_images(x, [seed, index])
        dataset = tf.data.Dataset.from_tensor_slices((x, y))
        if split == "train":
            buffer = shuffle_buffer or len(x)
            dataset = dataset.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.batch(batch_size, drop_remainder=False)
        if split == "train" and binarize == "dynamic":
            dataset = _binarize_each_epoch(dataset, seed)
        datasets[split] = dataset.prefetch(tf.data.AUTOTUNE)

    return ImageData(name=name, image_shape=tuple(int(d) for d in arrays["train"][0].shape[1:]),
                     num_classes=_NUM_CLASSES[name], arrays=arrays, **datasets)


def _binarize_each_epoch(dataset: tf.data.Dataset, seed: int) -> tf.data.Dataset:
    """Redraw Bernoulli pixels per batch, with a batch seed that changes every epoch."""
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)

    def draw(batch, batch_seed):
        images, labels = batch
        stateless_seed = tf.stack([batch_seed, tf.constant(seed, tf.int64)])
        uniform = tf.random.stateless_uniform(tf.shape(images), seed=stateless_seed)
        return tf.cast(uniform < images, tf.float32), labels

    return tf.data.Dataset.zip(dataset, seeds).map(draw, num_parallel_calls=tf.data.AUTOTUNE)


def _check_name(name: str) -> None:
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
    """uint8 or [0, 1] images -> float32 (N, H, W, C) in [0, 1], resized once, in chunks."""
    images = np.asarray(images)
    if images.ndim == 3:  # keras mnist layout has no channel axis
        images = images[..., np.newaxis]
    if images.ndim != 4:
        raise DatasetUnavailableError(
            f"Dataset {name!r}: images have shape {images.shape}; expected (N, H, W) or "
            "(N, H, W, C).")
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


def _npz_path(name: str, data_dir: str | None) -> str | None:
    folder = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV)
    if not folder:
        return None
    return os.path.join(os.path.expanduser(str(folder)), f"{name}.npz")


def _unavailable(name: str, npz: str | None, why: str) -> DatasetUnavailableError:
    where = f"no file {npz}" if npz else f"{DATA_DIR_ENV} is not set"
    return DatasetUnavailableError(
        f"Dataset {name!r} is not available: {where} and {why}. Fix: use name='digits' "
        f"(bundled with scikit-learn, works offline), or put {name}.npz (keras layout: "
        f"x_train, y_train, x_test, y_test) in a folder and set {DATA_DIR_ENV} to it.")


def _tfds_builder(name: str):
    import tensorflow_datasets as tfds  # imported here: it is slow to import

    return tfds.builder(name)


def _prepared(builder) -> bool:
    """Whether tfds has this dataset on disk already (so nothing needs downloading)."""
    return tf.io.gfile.exists(os.path.join(builder.data_dir, "dataset_info.json"))


def _load_official(name: str, data_dir: str | None):
    """(x_train, y_train, x_test, y_test) from ``<name>.npz`` if present, else from tfds."""
    npz = _npz_path(name, data_dir)
    if npz is not None and os.path.isfile(npz):
        return _load_npz(name, npz)
    try:
        import tensorflow_datasets as tfds

        builder = _tfds_builder(name)
        if not _prepared(builder):
            # Looked up through the module global so tests can monkeypatch it.
            if not network_available():
                raise _unavailable(name, npz, "the network is unreachable, so "
                                   "tensorflow-datasets cannot download it")
            builder.download_and_prepare()
        arrays = []
        for split in ("train", "test"):
            dataset = builder.as_dataset(split=split, as_supervised=True).batch(4096)
            batches = list(tfds.as_numpy(dataset))
            arrays.append(np.concatenate([b[0] for b in batches]))
            arrays.append(np.concatenate([b[1] for b in batches]))
        return tuple(arrays)
    except DatasetUnavailableError:
        raise
    except Exception as error:  # every tfds failure gets the course's message
        raise _unavailable(name, npz, f"tensorflow-datasets failed "
                           f"({type(error).__name__}: {error})") from error


def _load_npz(name: str, path: str):
    try:
        with np.load(path) as npz:
            missing = [key for key in _NPZ_KEYS if key not in npz.files]
            if missing:
                raise DatasetUnavailableError(
                    f"Dataset {name!r}: {path} is missing the keys {missing}; the keras "
                    f"layout needs {list(_NPZ_KEYS)}.")
            x_train, y_train, x_test, y_test = (npz[key] for key in _NPZ_KEYS)
    except DatasetUnavailableError:
        raise
    except Exception as error:  # unreadable file
        raise DatasetUnavailableError(
            f"Dataset {name!r}: could not read {path} ({type(error).__name__}: {error}).") from error
    if len(x_train) != y_train.size or len(x_test) != y_test.size:
        raise DatasetUnavailableError(f"Dataset {name!r}: {path} has different numbers of "
                                      "images and labels.")
    return x_train, y_train.reshape(-1), x_test, y_test.reshape(-1)
