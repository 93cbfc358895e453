"""The training contract shared by every model whose loss is a sum of named terms.

A subclass lists its loss-term names in ``loss_names`` and writes ``compute_losses``, which
returns a dict with those keys (``"loss"`` is the one minimised). ``train_step`` and
``test_step`` both call it, so each loss is written exactly once, and a ``keras.metrics.Mean``
tracker per term feeds ``fit()``'s history and TensorBoard under the same names.

Every ``train_step`` in :mod:`genai_tf.models` changes its weights through one method,
:meth:`LossTermsModel.update_weights` (gradient, optional clipping, optimizer step), so that
what every update needs is written once.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops


def images_from_batch(data):
    """Return the images of a batch: datasets yield ``(images, labels)`` or ``images``."""
    if isinstance(data, (tuple, list)):
        return data[0]
    if isinstance(data, dict):
        return data["images"]
    return data


def requested_labels(labels, num_samples, num_classes):
    """The ``(num_samples,)`` int32 classes a conditional ``generate`` draws, checked.

    ``None`` cycles 0, 1, …, num_classes-1. A wrong count or a class outside [0, num_classes)
    is a ``ValueError`` that says what was asked and what is allowed.
    """
    num_samples = int(num_samples)
    labels = np.arange(num_samples) % num_classes if labels is None else np.asarray(labels).reshape(-1)
    if len(labels) != num_samples:
        raise ValueError(f"labels has {len(labels)} entries; generate({num_samples}) needs one per sample.")
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must be integers in [0, {num_classes}); got {sorted(set(labels.tolist()))}.")
    return labels.astype("int32")


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
            f"channels, e.g. genai_tf.data.images.load(name, image_size={expected[0]}), or build the "
            f"model from the data's image_shape."
        )


def validated_images(model, data):
    """The images of a batch, after checking they fit ``model.image_shape``."""
    images = images_from_batch(data)
    try:
        check_image_shape(images, model.image_shape, type(model).__name__)
    except ValueError:
        # The error is raised while fit() traces its first step, before the optimizer's
        # variables exist. Keras keeps that tf.function, and its next trace may not create
        # variables, so fit() on the corrected data would fail with "Creating variables on
        # a non-first call". Drop the cached functions: the next call traces afresh.
        model.train_function = model.test_function = None
        raise
    return images


def model_optimizers(model) -> dict:
    """The optimizers ``fit`` uses, by name: the named ones of a GAN or VAE-GAN, else ``optimizer``."""
    names = getattr(model, "optimizer_names", ()) or ("optimizer",)
    return {name: getattr(model, name) for name in names if getattr(model, name, None) is not None}


def clip_by_global_norm(gradients, clip_norm):
    """Gradients scaled to a global norm of at most ``clip_norm``: g · min(1, c / ‖g‖).

    ‖g‖ = sqrt(Σ_i ‖g_i‖²) is the norm of all the gradients together (``None`` entries, weights
    the loss does not reach, are skipped and kept). The same arithmetic as Keras's
    ``global_clipnorm``, so clipping here or in the optimizer gives the same numbers; a NaN or
    infinite norm makes every gradient NaN, which the NaN guard then reports.
    """
    clip_norm = float(clip_norm)
    present = [gradient for gradient in gradients if gradient is not None]
    norm = ops.sqrt(ops.sum(ops.stack([ops.sum(ops.square(gradient)) for gradient in present])))
    scale = clip_norm * ops.minimum(1.0 / norm, 1.0 / clip_norm) + (norm - norm)
    return [None if gradient is None else gradient * scale for gradient in gradients]


class LossTermsModel(keras.Model):
    """Base class: trackers, ``train_step`` and ``test_step`` from ``compute_losses``."""

    loss_names: tuple[str, ...] = ("loss",)
    network_names: tuple[str, ...] = ()  # sub-networks, saved whole in the config
    config_names: tuple[str, ...] = ()  # other constructor arguments, saved as attributes
    gradient_clip_norm: float | None = None  # clip the gradient's global norm to this (None: no clipping)

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

    def get_config(self):
        """The constructor's arguments: each sub-network serialised, and the plain settings."""
        config = super().get_config()
        config.update({name: keras.saving.serialize_keras_object(getattr(self, name))
                       for name in self.network_names})
        config.update({name: getattr(self, name) for name in self.config_names})
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for name in cls.network_names:
            config[name] = keras.saving.deserialize_keras_object(config[name])
        return cls(**config)

    def _record(self, terms):
        for tracker in self.trackers:
            tracker.update_state(terms[tracker.name])
        return {tracker.name: tracker.result() for tracker in self.trackers}

    def _batch_inputs(self, data):
        """The arguments ``compute_losses`` takes from a batch: ``(images,)`` by default;
        conditional models return ``(images, labels)``."""
        images = validated_images(self, data)
        return (images,)

    def update_weights(self, tape, loss, weights, optimizer=None, clip_norm=None):
        """One optimizer step on ``weights`` down the gradient of ``loss``, recorded on ``tape``.

        The gradient of ``loss`` with respect to ``weights`` is taken from ``tape``; with
        ``clip_norm`` its global norm is clipped first (:func:`clip_by_global_norm`); then
        ``optimizer`` (default: ``self.optimizer``) applies it. Returns the applied gradients.

        Every ``train_step`` of :mod:`genai_tf.models` updates its weights here and nowhere else,
        so this is the one place where training on several replicas (dividing the loss by their
        number) and mixed precision (scaling the loss, unscaling the gradient) are to be added.
        Constraints a model puts on its weights after an update (the WGAN's weight clipping)
        stay in its ``train_step``.
        """
        optimizer = self.optimizer if optimizer is None else optimizer
        gradients = tape.gradient(loss, weights)
        if clip_norm is not None:
            gradients = clip_by_global_norm(gradients, clip_norm)
        optimizer.apply(gradients, weights)
        return gradients

    def train_step(self, data):
        inputs = self._batch_inputs(data)
        with tf.GradientTape() as tape:
            terms = self.compute_losses(*inputs, training=True)
        self.update_weights(tape, terms["loss"], self.trainable_weights, clip_norm=self.gradient_clip_norm)
        return self._record(terms)

    def test_step(self, data):
        return self._record(self.compute_losses(*self._batch_inputs(data), training=False))


class MultiOptimizerModel(LossTermsModel):
    """A model whose networks each have their own optimizer (GANs, VAE-GAN).

    Subclasses name their optimizers in ``optimizer_names`` and map each name to the network
    it updates in :meth:`optimizer_networks`. ``compile(d_optimizer=..., ...)`` takes them by
    name (defaults: Adam(2e-4, β1=0.5), the DCGAN setting). They are saved in the model's
    compile config and rebuilt on load with their slots, so ``keras.models.load_model``
    restores their state and training resumes without re-compiling.
    """

    optimizer_names: tuple[str, ...] = ()

    def optimizer_networks(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def compile(self, **kwargs):
        optimizers = {name: kwargs.pop(name, None) for name in self.optimizer_names}
        unknown = [key for key in kwargs if key.endswith("_optimizer")]
        if unknown or kwargs.get("optimizer") is not None:
            raise ValueError(f"{type(self).__name__}.compile takes {', '.join(self.optimizer_names)}; "
                             f"got {unknown or ['optimizer']}.")
        super().compile(**kwargs)
        for name, optimizer in optimizers.items():
            setattr(self, name, keras.optimizers.get(optimizer or keras.optimizers.Adam(2e-4, beta_1=0.5)))

    def get_compile_config(self):
        if getattr(self, self.optimizer_names[0], None) is None:
            return None
        return {name: keras.saving.serialize_keras_object(getattr(self, name)) for name in self.optimizer_names}

    def compile_from_config(self, config):
        self.compile(**{name: keras.saving.deserialize_keras_object(config[name]) for name in self.optimizer_names})
        # Build the optimizers' slots now so load_model can restore their saved state.
        for name, network in self.optimizer_networks().items():
            getattr(self, name).build(network.trainable_variables)

    def apply_gradients(self, tape, terms, loss_names):
        """Update each network from its own loss (:meth:`update_weights`): ``loss_names`` maps
        optimizer → loss term."""
        for optimizer_name, network in self.optimizer_networks().items():
            self.update_weights(tape, terms[loss_names[optimizer_name]], network.trainable_weights,
                                getattr(self, optimizer_name))
