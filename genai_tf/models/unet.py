"""The diffusion model's noise predictor: a small time- and class-conditioned U-Net.

``[x_t, i, y]`` → ε̂ of the same shape as x_t. The timestep index ``i`` goes through a
sinusoidal embedding and a two-layer MLP; the class ``y`` (with one extra "null" class,
``num_classes``, for unconditional predictions) through a learned embedding added to it. Every
:class:`genai_tf.layers.ResidualBlock` receives that embedding. Down the U the resolution
halves and the channels grow; up the U each level is joined to the down path's features at the
same resolution (the skip connections), which carry the fine detail the coarse path lost.
"""

from __future__ import annotations

import keras
from keras import layers

from genai_tf.layers import ResidualBlock, SinusoidalEmbedding
from genai_tf.models.networks import _check_divisible


def build_unet(image_shape, num_classes=10, channels=(48, 96), patch=2, middle_blocks=2, embedding_dim=128,
               groups=8, class_map_channels=8, name="unet"):
    """A U-Net with one residual block per level on the way down, ``middle_blocks`` at the bottom, one up.

    With ``patch = p > 1`` the stem is a p×p convolution of stride p (each p×p patch of pixels
    becomes one position, as a vision transformer's patches) and the head its transpose, so
    the blocks run at H/p × W/p: about p² times less compute, which on a CPU buys more
    training steps in the same time. ``channels[k]`` is the width at resolution H/(p·2^k); H
    and W must be divisible by p·2^(len(channels)-1) (28 → 14 → 7 for MNIST with p = 2).
    Inputs: images ``(batch, H, W, C)``, integer timestep indices ``(batch,)`` and integer
    labels ``(batch,)`` in [0, num_classes], where ``num_classes`` is the null class. Output:
    ``(batch, H, W, C)``, linear.

    Besides the embedding every block sees, ``class_map_channels > 0`` learns one small image per
    class, joined to the stem's features: a direct, spatial path for the label. Through the
    embedding alone the label stayed nearly unused within a 30-CPU-minute budget (the noise
    prediction error depends on it only at high noise, where ε ≈ x_t is easy anyway).
    """
    if int(patch) < 1 or image_shape[0] % patch or image_shape[1] % patch:
        raise ValueError(f"patch={patch} must be a whole number ≥ 1 dividing the image size {image_shape[:2]}.")
    _check_divisible((image_shape[0] // patch, image_shape[1] // patch), len(channels) - 1)
    images = keras.Input(tuple(image_shape), name="noisy_images")
    timesteps = keras.Input((), dtype="int32", name="timesteps")
    labels = keras.Input((), dtype="int32", name="labels")

    time_features = SinusoidalEmbedding(max(embedding_dim // 2, 2) // 2 * 2, name="time_features")(timesteps)
    embedding = layers.Dense(embedding_dim, activation="silu", name="time_mlp_1")(time_features)
    embedding = layers.Dense(embedding_dim, name="time_mlp_2")(embedding)
    class_embedding = layers.Embedding(num_classes + 1, embedding_dim, name="class_embedding")(labels)
    embedding = layers.Activation("silu")(layers.Add()([embedding, class_embedding]))

    if patch > 1:
        hidden = layers.Conv2D(channels[0], patch, strides=patch, name="stem")(images)
    else:
        hidden = layers.Conv2D(channels[0], 3, padding="same", name="stem")(images)
    if class_map_channels:
        height, width_ = image_shape[0] // patch, image_shape[1] // patch
        class_map = layers.Embedding(num_classes + 1, height * width_ * class_map_channels, name="class_map")(labels)
        class_map = layers.Reshape((height, width_, class_map_channels), name="class_map_image")(class_map)
        hidden = layers.Concatenate(name="stem_and_class_map")([hidden, class_map])
    skips = []
    for level, width in enumerate(channels):
        hidden = ResidualBlock(width, groups, name=f"down_{level}")([hidden, embedding])
        if level < len(channels) - 1:
            skips.append(hidden)
            hidden = layers.Conv2D(width, 3, strides=2, padding="same", name=f"downsample_{level}")(hidden)
    for block in range(middle_blocks):  # the coarsest level is cheap: give it more depth
        hidden = ResidualBlock(channels[-1], groups, name=f"middle_{block}")([hidden, embedding])
    for level in reversed(range(len(channels) - 1)):
        hidden = layers.UpSampling2D(name=f"upsample_{level}")(hidden)
        hidden = layers.Conv2D(channels[level], 3, padding="same", name=f"upsample_conv_{level}")(hidden)
        hidden = layers.Concatenate(name=f"skip_{level}")([hidden, skips[level]])
        hidden = ResidualBlock(channels[level], groups, name=f"up_{level}")([hidden, embedding])
    hidden = layers.Activation("silu")(layers.GroupNormalization(groups, name="head_norm")(hidden))
    if patch > 1:
        noise = layers.Conv2DTranspose(image_shape[-1], patch, strides=patch, name="predicted_noise")(hidden)
    else:
        noise = layers.Conv2D(image_shape[-1], 3, padding="same", name="predicted_noise")(hidden)
    return keras.Model([images, timesteps, labels], noise, name=name)
