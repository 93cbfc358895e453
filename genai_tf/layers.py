"""Reusable layers: the VAE's sampling layer and the diffusion U-Net's blocks.

Each layer that draws random numbers owns its ``SeedGenerator``.
"""

from __future__ import annotations

import math

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


@keras.saving.register_keras_serializable(package="genai_tf")
class SinusoidalEmbedding(keras.layers.Layer):
    """The timestep's sinusoidal features [sin(t ω_k), cos(t ω_k)], ω_k = P^(-k/(d/2)), k < d/2.

    The Transformer's position encoding (Vaswani et al. 2017), as DDPM feeds t to its U-Net:
    nearby timesteps get similar features on every scale from 1 to ``max_period`` steps.
    Takes timesteps ``(batch,)`` (ints or floats) and returns ``(batch, dim)``.
    """

    def __init__(self, dim, max_period=10000.0, **kwargs):
        super().__init__(**kwargs)
        if int(dim) < 2 or int(dim) % 2:
            raise ValueError(f"SinusoidalEmbedding dim={dim}: use an even number ≥ 2 (a sine and a cosine per frequency).")
        self.dim = int(dim)
        self.max_period = float(max_period)

    def call(self, timesteps):
        half = self.dim // 2
        frequencies = ops.exp(-math.log(self.max_period) * ops.arange(half, dtype="float32") / half)
        angles = ops.reshape(ops.cast(timesteps, "float32"), (-1, 1)) * frequencies[None, :]
        return ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.dim)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "max_period": self.max_period}


@keras.saving.register_keras_serializable(package="genai_tf")
class ResidualBlock(keras.layers.Layer):
    """A U-Net residual block conditioned on an embedding (the DDPM block, with the improved DDPM scale-shift).

    ``[x, embedding]`` → x' = skip(x) + conv(swish(norm(h) ⊙ (1 + s) + b)), h = conv(swish(norm(x))):
    the timestep/class embedding ``(batch, E)`` is projected to a scale s and a shift b per
    channel, applied to the normalised features between the two 3×3 convolutions (Dhariwal &
    Nichol 2021's "adaptive group norm"), so every block knows t and y. A shift alone (the
    original DDPM block) is a weaker conditioning: it left a small MNIST model nearly blind to
    the label. Group normalisation (Wu & He 2018) does not depend on the batch, unlike batch
    normalisation, so training and sampling batches behave alike. ``skip`` is a 1×1
    convolution when the channel count changes.
    """

    def __init__(self, channels, groups=8, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.groups = int(channels), int(groups)
        if self.channels % self.groups:
            raise ValueError(f"ResidualBlock: channels={channels} must be a multiple of groups={groups}.")
        self.norm_in = keras.layers.GroupNormalization(self.groups)
        self.conv_in = keras.layers.Conv2D(self.channels, 3, padding="same")
        self.project = keras.layers.Dense(2 * self.channels)  # a scale and a shift per channel
        self.norm_out = keras.layers.GroupNormalization(self.groups)
        self.conv_out = keras.layers.Conv2D(self.channels, 3, padding="same")
        self.skip = None
        # A block deserialised with trainable=False (a frozen copy, such as the weight average)
        # set the flag before these sub-layers existed: pass it on.
        for layer in (self.norm_in, self.conv_in, self.project, self.norm_out, self.conv_out):
            layer.trainable = self.trainable

    def build(self, input_shape):
        image_shape, embedding_shape = input_shape
        if image_shape[-1] % self.groups:
            raise ValueError(f"ResidualBlock: {image_shape[-1]} input channels is not a multiple of groups={self.groups}.")
        hidden_shape = tuple(image_shape[:-1]) + (self.channels,)
        self.norm_in.build(image_shape)
        self.conv_in.build(image_shape)
        self.project.build(embedding_shape)
        self.norm_out.build(hidden_shape)
        self.conv_out.build(hidden_shape)
        if image_shape[-1] != self.channels:
            self.skip = keras.layers.Conv2D(self.channels, 1, trainable=self.trainable)
            self.skip.build(image_shape)
        self.built = True

    def call(self, inputs):
        images, embedding = inputs
        hidden = self.conv_in(ops.silu(self.norm_in(images)))
        scale, shift = ops.split(self.project(embedding)[:, None, None, :], 2, axis=-1)
        hidden = self.conv_out(ops.silu(self.norm_out(hidden) * (1.0 + scale) + shift))
        return (images if self.skip is None else self.skip(images)) + hidden

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:-1]) + (self.channels,)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "groups": self.groups}
