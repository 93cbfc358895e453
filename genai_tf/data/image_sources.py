"""Where the image datasets' arrays come from: the bundled digits, a local ``.npz`` or
tensorflow-datasets, checked, and turned into float pixels.

:func:`load_official` returns ``(x_train, y_train, x_test, y_test)`` for ``mnist``,
``fashion_mnist`` or ``cifar10``: from ``$GENAI_TF_DATA_DIR/<name>.npz`` (keras layout) when it
exists, with no network; otherwise from tensorflow-datasets. Offline it raises
:class:`~genai_tf.data.shared.DatasetUnavailableError` at once (tfds itself would retry for
minutes), and a ``.npz`` that is not uint8 / [0, 1] images with one class label each is refused
with the file, the array and the fix named, never clipped. :mod:`genai_tf.data.images` turns the
arrays into splits.
"""

from __future__ import annotations

import numpy as np

from genai_tf.data import shared
from genai_tf.data.shared import DatasetUnavailableError

_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
_RESIZE_CHUNK = 4096
BUNDLED = "name='digits' (bundled with scikit-learn, works offline)"
NPZ_LAYOUT = "keras layout: x_train, y_train, x_test, y_test"


def npz_path(name: str, data_dir):
    return shared.local_file(f"{name}.npz", data_dir)


def _unavailable(name: str, data_dir):
    path = npz_path(name, data_dir)
    return lambda why: shared.unavailable("Dataset", name, path, why, BUNDLED, NPZ_LAYOUT)


def load_official(name: str, data_dir: str | None, num_classes: int):
    """(x_train, y_train, x_test, y_test) from ``<name>.npz`` if present, else from tfds."""
    npz = npz_path(name, data_dir)
    if npz is not None and npz.is_file():
        return _load_npz(name, str(npz), num_classes)
    unavailable = _unavailable(name, data_dir)
    builder = shared.tfds_prepared(name, unavailable)
    try:
        import tensorflow_datasets as tfds

        arrays = []
        for split in ("train", "test"):
            dataset = builder.as_dataset(split=split, as_supervised=True).batch(4096)
            batches = list(tfds.as_numpy(dataset))
            arrays.append(np.concatenate([b[0] for b in batches]))
            arrays.append(np.concatenate([b[1] for b in batches]))
        return tuple(arrays)
    except Exception as error:  # every tfds failure gets the course's message
        raise unavailable(f"tensorflow-datasets failed ({type(error).__name__}: {error})") from error


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 8x8 digits: float32 (N, 8, 8, 1) in [0, 1] and int32 labels."""
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., np.newaxis]  # (1797, 8, 8, 1)
    return images, digits.target.astype(np.int32)


def to_float(images: np.ndarray, image_size: int | None, name: str) -> np.ndarray:
    """uint8 or [0, 1] images -> float32 (N, H, W, C) in [0, 1], resized once, in chunks.

    Other values are refused, never clipped into saturated pixels (``.npz`` files are checked
    earlier, by :func:`check_npz_arrays`, with the file named). The final clip only absorbs
    float rounding of the resize, which is a weighted mean of the pixels.
    """
    import tensorflow as tf

    images = np.asarray(images)
    if images.ndim == 3:  # keras mnist layout has no channel axis
        images = images[..., np.newaxis]
    if images.ndim != 4:
        raise DatasetUnavailableError(
            f"Dataset {name!r}: images have shape {images.shape}; expected (N, H, W) or (N, H, W, C).")
    problem = pixel_problem(images)
    if problem is not None:
        raise DatasetUnavailableError(f"Dataset {name!r}: the images hold {problem}; expected "
                                      f"uint8 pixels or floats in [0, 1]. Fix: {PIXEL_FIX}.")
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
