"""Encoder and decoder builders shared by the autoencoder and VAE families.

Every builder takes the image shape ``(H, W, C)`` and derives its layer sizes from it, so
one architecture serves 28×28 MNIST, 28×28 upscaled digits and 32×32×3 CIFAR-10.
"""

from __future__ import annotations

import math

import keras
from keras import layers


def _check_divisible(image_shape, num_downsamplings):
    factor = 2**num_downsamplings
    height, width = image_shape[:2]
    if height % factor or width % factor:
        raise ValueError(
            f"Image size {height}×{width} must be divisible by {factor} for a network with "
            f"{num_downsamplings} stride-2 layers. Load the data with an image_size divisible "
            f"by {factor} (28 and 32 both work for two layers), or pass fewer filters."
        )
    return height // factor, width // factor


def conv_encoder(image_shape, output_sizes, filters=(32, 64), dense_units=256, name="encoder",
                 num_classes=0):
    """Conv encoder: stride-2 3×3 convolutions, a dense layer, then one linear head per size.

    ``output_sizes`` is a tuple of head widths, e.g. ``(latent_dim,)`` for an autoencoder or
    ``(latent_dim, latent_dim)`` for a VAE's ``[z_mean, z_log_var]``. With ``num_classes > 0``
    the encoder also takes one-hot labels ``(batch, num_classes)``, joined to the image
    features before the dense layer: q(z | x, y).
    """
    _check_divisible(image_shape, len(filters))
    images = keras.Input(shape=tuple(image_shape), name="images")  # (batch, H, W, C)
    hidden = images
    for width in filters:
        hidden = layers.Conv2D(width, 3, strides=2, padding="same", activation="relu")(hidden)
    hidden = layers.Flatten()(hidden)  # (batch, H/4 * W/4 * filters[-1])
    inputs = images
    if num_classes:
        labels = keras.Input(shape=(num_classes,), name="labels")  # one-hot
        hidden = layers.Concatenate()([hidden, labels])
        inputs = [images, labels]
    if dense_units:
        hidden = layers.Dense(dense_units, activation="relu")(hidden)
    heads = [layers.Dense(size, name=f"head_{index}")(hidden) for index, size in enumerate(output_sizes)]
    return keras.Model(inputs, heads if len(heads) > 1 else heads[0], name=name)


def conv_decoder(image_shape, latent_dim, filters=(64, 32), dense_units=256,
                 output_activation=None, name="decoder", num_classes=0):
    """Conv decoder mirroring :func:`conv_encoder`: dense → reshape → stride-2 transposed convs.

    With ``num_classes > 0`` it also takes one-hot labels, joined to the latents: p(x | z, y).
    """
    base_height, base_width = _check_divisible(image_shape, len(filters))
    latents = keras.Input(shape=(latent_dim,), name="latents")  # (batch, latent_dim)
    hidden = inputs = latents
    if num_classes:
        labels = keras.Input(shape=(num_classes,), name="labels")  # one-hot
        hidden = layers.Concatenate()([latents, labels])  # (batch, latent_dim + num_classes)
        inputs = [latents, labels]
    if dense_units:
        hidden = layers.Dense(dense_units, activation="relu")(hidden)
    hidden = layers.Dense(base_height * base_width * filters[0], activation="relu")(hidden)
    hidden = layers.Reshape((base_height, base_width, filters[0]))(hidden)
    for width in filters:
        hidden = layers.Conv2DTranspose(width, 3, strides=2, padding="same", activation="relu")(hidden)
    outputs = layers.Conv2D(image_shape[-1], 3, padding="same", activation=output_activation,
                            name="pixels")(hidden)  # (batch, H, W, C)
    return keras.Model(inputs, outputs, name=name)


def dense_encoder(image_shape, output_sizes, hidden_units=(256,), activation="relu", name="encoder"):
    """MLP encoder: flatten, hidden layers, one linear head per size (no hidden layer = linear)."""
    images = keras.Input(shape=tuple(image_shape), name="images")
    hidden = layers.Flatten()(images)  # (batch, H*W*C)
    for units in hidden_units:
        hidden = layers.Dense(units, activation=activation)(hidden)
    heads = [layers.Dense(size, name=f"head_{index}")(hidden) for index, size in enumerate(output_sizes)]
    return keras.Model(images, heads if len(heads) > 1 else heads[0], name=name)


def dense_decoder(image_shape, latent_dim, hidden_units=(256,), activation="relu",
                  output_activation=None, name="decoder"):
    """MLP decoder: hidden layers, then a dense layer with H*W*C outputs reshaped to the image."""
    latents = keras.Input(shape=(latent_dim,), name="latents")
    hidden = latents
    for units in hidden_units:
        hidden = layers.Dense(units, activation=activation)(hidden)
    pixels = layers.Dense(math.prod(image_shape), activation=output_activation, name="pixels")(hidden)
    outputs = layers.Reshape(tuple(image_shape))(pixels)  # (batch, H, W, C)
    return keras.Model(latents, outputs, name=name)
