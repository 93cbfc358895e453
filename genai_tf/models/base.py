"""The training contract shared by every model whose loss is a sum of named terms.

A subclass lists its loss-term names in ``loss_names`` and writes ``compute_losses``, which
returns a dict with those keys (``"loss"`` is the one minimised). ``train_step`` and
``test_step`` both call it, so each loss is written exactly once, and a ``keras.metrics.Mean``
tracker per term feeds ``fit()``'s history and TensorBoard under the same names.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def images_from_batch(data):
    """Return the images of a batch: datasets yield ``(images, labels)`` or ``images``."""
    if isinstance(data, (tuple, list)):
        return data[0]
    if isinstance(data, dict):
        return data["images"]
    return data


def check_image_shape(images, expected_shape, model_name):
    """Raise a clear error when a batch's static shape does not match the model's input."""
    shape = tuple(images.shape)
    expected = tuple(expected_shape)
    if len(shape) != 4 or any(
        got is not None and want is not None and got != want
        for got, want in zip(shape[1:], expected)
    ):
        raise ValueError(
            f"{model_name} was built for images of shape (batch, {', '.join(map(str, expected))}) "
            f"but received a batch of shape {shape}. Load the data with the same image size and "
            f"channels, e.g. genai_tf.data.load_dataset(name, image_size={expected[0]}), or build the "
            f"model from the data's image_shape."
        )


class LossTermsModel(keras.Model):
    """Base class: trackers, ``train_step`` and ``test_step`` from ``compute_losses``."""

    loss_names: tuple[str, ...] = ("loss",)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.trackers = [keras.metrics.Mean(name=name) for name in self.loss_names]

    @property
    def metrics(self):
        return list(self.trackers)

    def build(self, input_shape=None):
        """The sub-networks are functional models, built when they are created; so is this
        model. Being built at construction lets ``load_model`` restore the optimizer state."""
        self.built = True

    @property
    def image_shape(self) -> tuple[int, int, int]:
        raise NotImplementedError

    def compute_losses(self, images, training=False):  # pragma: no cover - abstract
        raise NotImplementedError

    def _record(self, terms):
        for tracker in self.trackers:
            tracker.update_state(terms[tracker.name])
        return {tracker.name: tracker.result() for tracker in self.trackers}

    def _batch_images(self, data):
        images = images_from_batch(data)
        check_image_shape(images, self.image_shape, type(self).__name__)
        return images

    def train_step(self, data):
        images = self._batch_images(data)
        with tf.GradientTape() as tape:
            terms = self.compute_losses(images, training=True)
        gradients = tape.gradient(terms["loss"], self.trainable_weights)
        self.optimizer.apply(gradients, self.trainable_weights)
        return self._record(terms)

    def test_step(self, data):
        images = self._batch_images(data)
        return self._record(self.compute_losses(images, training=False))
