"""Where the official datasets' arrays come from: a local ``.npz`` or tensorflow-datasets, checked.

:func:`load_official` returns ``(x_train, y_train, x_test, y_test)`` for ``mnist``,
``fashion_mnist`` or ``cifar10``: from ``$GENAI_TF_DATA_DIR/<name>.npz`` (keras layout) when it
exists, with no network; otherwise from tensorflow-datasets. Offline it raises
:class:`DatasetUnavailableError` at once (tfds itself would retry for minutes), and a ``.npz``
that is not uint8 / [0, 1] images with one class label each is refused with the file, the
array and the fix named, never clipped. :mod:`genai_tf.data` turns the arrays into splits.
"""

from __future__ import annotations

import os
import socket
import threading

import numpy as np
import tensorflow as tf

from genai_tf import config
from genai_tf.config import DATA_DIR_ENV

_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


class DatasetUnavailableError(RuntimeError):
    """A dataset can't be had: no local ``.npz``, no tfds cache, and no way to download it."""


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


def npz_path(name: str, data_dir: str | None) -> str | None:
    folder = config.data_dir(data_dir)
    if not folder:
        return None
    return os.path.join(os.path.expanduser(str(folder)), f"{name}.npz")


def _unavailable(name: str, npz: str | None, why: str) -> DatasetUnavailableError:
    where = f"no file {npz}" if npz else f"{DATA_DIR_ENV} is not set"
    return DatasetUnavailableError(
        f"Dataset {name!r} is not available: {where} and {why}. Fix: use name='digits' "
        f"(bundled with scikit-learn, works offline), or put {name}.npz (keras layout: "
        f"x_train, y_train, x_test, y_test) in a folder and set {DATA_DIR_ENV} to it.")


def tfds_builder(name: str):
    import tensorflow_datasets as tfds  # imported here: it is slow to import

    return tfds.builder(name)


def prepared(builder) -> bool:
    """Whether tfds has this dataset on disk already (so nothing needs downloading)."""
    return tf.io.gfile.exists(os.path.join(builder.data_dir, "dataset_info.json"))


def load_official(name: str, data_dir: str | None, num_classes: int):
    """(x_train, y_train, x_test, y_test) from ``<name>.npz`` if present, else from tfds."""
    npz = npz_path(name, data_dir)
    if npz is not None and os.path.isfile(npz):
        return _load_npz(name, npz, num_classes)
    try:
        import tensorflow_datasets as tfds

        builder = tfds_builder(name)
        if not prepared(builder):
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


def _load_npz(name: str, path: str, num_classes: int):
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
    check_npz_arrays(name, path, num_classes, {"x_train": x_train, "y_train": y_train,
                                   "x_test": x_test, "y_test": y_test})
    return x_train, y_train.reshape(-1), x_test, y_test.reshape(-1)


PIXEL_FIX = "save uint8 pixels (0-255), or floats in [0, 1] (e.g. x / 255 for 0-255 values)"


def pixel_problem(images: np.ndarray) -> str | None:
    """What keeps ``images`` from being pixels (uint8, or numbers in [0, 1]), or None if nothing."""
    if images.dtype == np.uint8 or images.dtype == np.bool_ or images.size == 0:
        return None
    if not (np.issubdtype(images.dtype, np.integer) or np.issubdtype(images.dtype, np.floating)):
        return f"values of dtype {images.dtype}, not numbers"
    if np.issubdtype(images.dtype, np.floating) and not np.all(np.isfinite(images)):
        return f"{images.dtype} values with NaN or infinity"
    low, high = images.min(), images.max()
    if low < 0 or high > 1:
        return f"{images.dtype} values in [{low:g}, {high:g}]"
    return None


def check_npz_arrays(name: str, path: str, num_classes: int, arrays: dict) -> None:
    """Raise a DatasetUnavailableError naming ``path``, the array and the fix, for anything in a
    keras-layout ``.npz`` that is not images ``(N, H, W[, C])`` of pixels with one class per image."""
    shapes = {}
    for images_key, labels_key in (("x_train", "y_train"), ("x_test", "y_test")):
        images, labels = arrays[images_key], arrays[labels_key]
        where = f"Dataset {name!r}: {path}: {images_key}"
        if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] not in (1, 3)):
            hint = (" It looks channels-first: save x.transpose(0, 2, 3, 1)."
                    if images.ndim == 4 and images.shape[1] in (1, 3) else "")
            raise DatasetUnavailableError(
                f"{where} has shape {images.shape}; expected images shaped (N, H, W) or, "
                f"channels last, (N, H, W, C) with C = 1 or 3.{hint}")
        if len(images) == 0:
            raise DatasetUnavailableError(f"{where} holds no images (shape {images.shape}).")
        problem = pixel_problem(images)
        if problem is not None:
            raise DatasetUnavailableError(f"{where} holds {problem}; expected uint8 pixels or "
                                          f"floats in [0, 1]. Fix: {PIXEL_FIX}.")
        shapes[images_key] = images.shape[1:] if images.ndim == 4 else (*images.shape[1:], 1)
        if labels.size != len(images):
            hint = (f" {labels_key} looks one-hot: save {labels_key}.argmax(axis=1)."
                    if labels.shape == (len(images), num_classes) else "")
            raise DatasetUnavailableError(
                f"Dataset {name!r}: {path} has {len(images)} images in {images_key} but "
                f"{labels.size} labels in {labels_key} (shape {labels.shape}); save one integer "
                f"label per image.{hint}")
        labels = labels.reshape(-1)
        numeric = np.issubdtype(labels.dtype, np.integer) or np.issubdtype(labels.dtype, np.floating)
        if not numeric or not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)) \
                or labels.min() < 0 or labels.max() >= num_classes:
            found = (f"{labels.dtype} values in [{labels.min():g}, {labels.max():g}]"
                     if numeric else f"values of dtype {labels.dtype}")
            raise DatasetUnavailableError(
                f"Dataset {name!r}: {path}: {labels_key} holds {found}; expected integer class "
                f"labels 0 to {num_classes - 1}.")
    if shapes["x_train"] != shapes["x_test"]:
        raise DatasetUnavailableError(
            f"Dataset {name!r}: {path}: x_train images are {shapes['x_train']} but x_test "
            f"images are {shapes['x_test']}; save both splits at the same image shape.")
