"""Reusable layers. Each layer that draws random numbers owns its ``SeedGenerator``."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="genai_tf")
class Sampling(keras.layers.Layer):
    """The reparameterisation trick, Eq. (VAE.5): z = μ + σ ⊙ ε with ε ~ N(0, I).

    Takes ``[z_mean, z_log_var]`` (each ``(batch, latent_dim)``) and returns a sample of the
    same shape. The noise comes from the layer's own ``SeedGenerator``, so a seeded layer
    gives a reproducible sequence, and every call draws fresh noise.
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
