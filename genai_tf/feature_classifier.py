"""The cFID classifier: a small conv net trained on the dataset itself, whose features score samples.

InceptionV3 knows nothing about 28×28 digits, so the course trains its own classifier once
per dataset and image shape, caches it, and reads its 128-unit penultimate layer as the
feature space of :mod:`genai_tf.sample_quality` (cFID, KID, precision / recall) and its
softmax as the class probabilities (Inception score, class histogram). :func:`check_images`
is the input check every image passes on its way in.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
from pathlib import Path

import numpy as np

from genai_tf import config

DEFAULT_EPOCHS = {"digits": 10, "mnist": 3, "fashion_mnist": 5, "cifar10": 10}


def check_images(images, image_shape=None) -> np.ndarray:
    """``images`` as float32 ``(n, H, W, C)`` in [0, 1], or a ValueError that says how to fix it."""
    images = np.asarray(images)
    if images.ndim != 4 or len(images) == 0:
        hint = " Add the channel axis: images[..., None]." if images.ndim == 3 else ""
        raise ValueError(f"Expected images shaped (n >= 1, H, W, C) with floats in [0, 1]; got "
                         f"an array of shape {images.shape}.{hint}")
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(f"Expected float images in [0, 1]; got dtype {images.dtype}. For uint8 "
                         "pixels use images.astype('float32') / 255.")
    if image_shape is not None and tuple(images.shape[1:]) != tuple(image_shape):
        raise ValueError(f"Expected images of shape (n, {', '.join(map(str, image_shape))}); got "
                         f"{images.shape}. Generate at that size, or load a classifier for "
                         f"image_shape={tuple(images.shape[1:])}.")
    if not np.all(np.isfinite(images)):
        raise ValueError("The images contain NaN or infinite values.")
    low, high = float(images.min(initial=0.0)), float(images.max(initial=0.0))
    if low < -1e-4 or high > 1 + 1e-4:
        hint = (" They look like [-1, 1] (tanh) outputs: rescale with (x + 1) / 2."
                if low >= -1 - 1e-4 and high <= 1 + 1e-4 else "")
        raise ValueError(f"Expected images with values in [0, 1]; got [{low:.3f}, {high:.3f}].{hint}")
    return np.clip(images, 0.0, 1.0).astype(np.float32, copy=False)


@dataclasses.dataclass
class FeatureClassifier:
    """A trained dataset classifier; its 128-unit penultimate layer is the feature space."""

    model: object = dataclasses.field(repr=False)  # keras.Model: images -> class probabilities
    dataset: str
    image_shape: tuple
    test_accuracy: float
    path: str | None = None

    def __post_init__(self):
        import keras

        self.image_shape = tuple(int(d) for d in self.image_shape)
        outputs = [self.model.get_layer("features").output, self.model.output]
        self._both = keras.Model(self.model.input, outputs)

    def outputs(self, images, batch_size=500) -> tuple[np.ndarray, np.ndarray]:
        """``(features (n, d), probabilities (n, classes))`` for ``images`` in one pass."""
        images = check_images(images, self.image_shape)
        features, probabilities = [], []
        for start in range(0, len(images), batch_size):
            f, p = self._both(images[start:start + batch_size], training=False)
            features.append(np.asarray(f, np.float64))
            probabilities.append(np.asarray(p, np.float64))
        return np.concatenate(features), np.concatenate(probabilities)

    def features(self, images, batch_size=500) -> np.ndarray:
        """Penultimate-layer activations, float64 ``(n, d)``."""
        return self.outputs(images, batch_size)[0]

    def predict_proba(self, images, batch_size=500) -> np.ndarray:
        """Class probabilities p(y|x), float64 ``(n, num_classes)``."""
        return self.outputs(images, batch_size)[1]

    def predict(self, images, batch_size=500) -> np.ndarray:
        """Predicted labels, int ``(n,)``."""
        return np.argmax(self.predict_proba(images, batch_size), axis=1)


def build_classifier(image_shape, num_classes=10, seed=0):
    """Conv(32) → pool → Conv(64) → pool → Dense(128, "features") → softmax; seeded initializers."""
    import keras
    from keras import layers

    def init(offset):
        return keras.initializers.GlorotUniform(seed=seed + offset)

    images = keras.Input(shape=tuple(image_shape), name="images")  # (batch, H, W, C)
    hidden = images
    for index, width in enumerate((32, 64)):
        hidden = layers.Conv2D(width, 3, padding="same", activation="relu",
                               kernel_initializer=init(index))(hidden)
        hidden = layers.MaxPooling2D(padding="same")(hidden)  # (batch, H/2, W/2, width)
    hidden = layers.Flatten()(hidden)
    features = layers.Dense(128, activation="relu", kernel_initializer=init(2),
                            name="features")(hidden)  # (batch, 128)
    hidden = layers.Dropout(0.3, seed=seed)(features)
    probabilities = layers.Dense(num_classes, activation="softmax", kernel_initializer=init(3),
                                 name="probabilities")(hidden)
    return keras.Model(images, probabilities, name="cfid_classifier")


def load_classifier(dataset_name, image_shape=(28, 28, 1), cache_dir=None, epochs=None,
                    data_dir=None, verbose=0) -> FeatureClassifier:
    """The cFID classifier for ``dataset_name``: loaded from the cache, else trained and cached.

    Cached as ``<cache_dir>/<dataset>-<H>x<W>x<C>/classifier.keras`` plus ``classifier.json``
    (test accuracy, epochs, date). Training is seeded and uses the train split of
    :func:`genai_tf.data.images.load` (seed 0); ``epochs`` defaults to ``DEFAULT_EPOCHS``.
    An explicit ``epochs`` that differs from the cached model's retrains it, and so does a
    cached file this Keras cannot load (one saved by a newer Keras). ``verbose`` is passed to
    ``fit``.
    """
    import keras

    height, width, channels = (int(d) for d in image_shape)
    if height != width:
        raise ValueError(f"image_shape={tuple(image_shape)}: only square images are supported.")
    folder = Path(cache_dir or config.cache_dir()) / f"{dataset_name}-{height}x{width}x{channels}"
    model_path, info_path = folder / "classifier.keras", folder / "classifier.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else None
    model = None
    if info is not None and model_path.exists() and epochs in (None, info["epochs"]):
        try:
            model, accuracy, how = keras.models.load_model(model_path), info["test_accuracy"], "cached"
        except Exception as error:  # saved by another Keras (3.15's files don't load in 3.13), or torn
            print(f"the cached classifier {model_path} does not load with Keras {keras.__version__} "
                  f"({type(error).__name__}); training it again")
    if model is None:
        model, accuracy, epochs = _train_classifier(dataset_name, height, channels, epochs,
                                                    data_dir, verbose)
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f"classifier-{os.getpid()}.keras"  # write, then rename: no torn files
        model.save(temporary)
        os.replace(temporary, model_path)
        info_path.write_text(json.dumps({
            "dataset": dataset_name, "image_shape": [height, width, channels],
            "test_accuracy": accuracy, "epochs": epochs,
            "date": datetime.datetime.now().isoformat(timespec="seconds")}, indent=2))
        how = f"trained for {epochs} epochs, cached"
    print(f"classifier for {dataset_name}: test accuracy {100 * accuracy:.1f}% ({how} at {model_path})")
    return FeatureClassifier(model, dataset_name, (height, width, channels), accuracy, str(model_path))


def _train_classifier(dataset_name, size, channels, epochs, data_dir, verbose):
    """Train on the seed-0 train split; returns ``(model, test accuracy, epochs)``."""
    import keras

    from genai_tf.data import images

    batch_size = 64 if dataset_name == "digits" else 128
    loaded = images.load(dataset_name, image_size=size, batch_size=batch_size, seed=0,
                               data_dir=data_dir)
    if loaded.image_shape[-1] != channels:
        raise ValueError(f"{dataset_name} images are {loaded.image_shape}, not "
                         f"{(size, size, channels)}.")
    epochs = epochs or DEFAULT_EPOCHS.get(dataset_name, 5)
    model = build_classifier(loaded.image_shape, loaded.num_classes)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(loaded.train, epochs=epochs, verbose=verbose, shuffle=False)  # already shuffled
    accuracy = float(model.evaluate(loaded.test, verbose=0, return_dict=True)["accuracy"])
    return model, accuracy, epochs
