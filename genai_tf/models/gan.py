"""Generative adversarial networks (notebook 03): the classic MLP pair and DCGAN.

Images are in [0, 1] outside the model and in [-1, 1] inside it (the generator ends in
tanh); ``generate`` maps back to [0, 1]. One ``train_step`` does two updates:
1. the discriminator, on real images and on generated images computed outside its tape, so
   no gradient reaches the generator (Eq. GAN.2);
2. the generator, through the discriminator with fresh noise, updating only the generator's
   weights (Eq. GAN.6 non-saturating, or Eq. GAN.5 minimax).

Training a discriminator alone against a frozen "generator" (notebook 03's check that D
approaches D*, Eq. GAN.3) is :mod:`genai_tf.models.opponents`'.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from genai_tf import losses
from genai_tf.models import registry
from genai_tf.models.base import MultiOptimizerModel, validated_images

GENERATOR_LOSSES = {
    "non_saturating": losses.generator_nonsaturating_loss,
    "minimax": losses.generator_minimax_loss,
}


class AdversarialModel(MultiOptimizerModel):
    """What the course's adversarial pairs share: a generator G: z → image in [-1, 1], its
    opponent (``network_names[1]``: a discriminator or a critic), a seeded noise generator and
    one optimizer per player, named by ``optimizer_names`` (the opponent's first).

    A subclass sets its own settings after ``super().__init__`` and then calls ``self.build()``.
    """

    network_names = ("generator", "discriminator")
    optimizer_names = ("d_optimizer", "g_optimizer")

    def __init__(self, generator, opponent, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        setattr(self, self.network_names[1], opponent)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        for name in self.optimizer_names:
            setattr(self, name, None)

    @property
    def latent_dim(self):
        shape = self.generator.input_shape  # a conditional generator's first input is z
        return int((shape[0] if isinstance(shape, list) else shape)[-1])

    @property
    def image_shape(self):
        return tuple(self.generator.output_shape[1:])

    def optimizer_networks(self):
        opponent_optimizer, generator_optimizer = self.optimizer_names
        return {opponent_optimizer: getattr(self, self.network_names[1]), generator_optimizer: self.generator}

    def sample_latents(self, batch_size, seed=None):
        """z ~ N(0, I), ``(batch_size, latent_dim)``; from the model's own generator unless ``seed``."""
        return keras.random.normal((batch_size, self.latent_dim),
                                   seed=self.seed_generator if seed is None else seed)

    def call(self, latents, training=False):
        """G(z) in [0, 1]."""
        return (self.generator(latents, training=training) + 1.0) / 2.0

    def generate(self, num_samples, seed=None):
        """Draw z ~ N(0, I); return G(z) as float32 ``(n, H, W, C)`` in [0, 1]."""
        latents = self.sample_latents(int(num_samples), seed=seed)
        return np.asarray(ops.convert_to_numpy(self(latents, training=False)), dtype="float32")

    def decode(self, latents):
        """G(z) in [0, 1], so latent-space plots work as for the VAE."""
        return self(ops.convert_to_tensor(latents, dtype="float32"), training=False)


@keras.saving.register_keras_serializable(package="genai_tf")
class GAN(AdversarialModel):
    """A generator G: z → image and a discriminator D: image → logit, trained adversarially.

    Args:
        generator: latents ``(batch, latent_dim)`` → images ``(batch, H, W, C)`` in [-1, 1].
        discriminator: images in [-1, 1] → logits ``(batch, 1)``.
        generator_loss: ``"non_saturating"`` (default, Eq. GAN.6) or ``"minimax"`` (Eq. GAN.5).
        seed: seed of the model's noise generator.

    Compile with two optimizers: ``gan.compile(d_optimizer=..., g_optimizer=...)``. They are
    saved with the model and restored, with their state, by ``keras.models.load_model``.
    """

    loss_names = ("d_loss", "g_loss", "d_real", "d_fake")
    config_names = ("generator_loss", "seed")

    def __init__(self, generator, discriminator, generator_loss="non_saturating", seed=None, **kwargs):
        if generator_loss not in GENERATOR_LOSSES:
            raise ValueError(f"generator_loss={generator_loss!r}; use one of {sorted(GENERATOR_LOSSES)}.")
        super().__init__(generator, discriminator, seed=seed, **kwargs)
        self.generator_loss = generator_loss
        self.build()

    # --- the two players ---------------------------------------------------------------
    def discriminator_terms(self, real, fake, training=False):
        """D's loss (Eq. GAN.2) and its mean outputs D(x), D(G(z)) on [-1, 1] images."""
        real_logits = self.discriminator(real, training=training)
        fake_logits = self.discriminator(fake, training=training)
        return {
            "d_loss": ops.mean(losses.discriminator_loss(real_logits, fake_logits)),
            "d_real": ops.mean(ops.sigmoid(real_logits)),
            "d_fake": ops.mean(ops.sigmoid(fake_logits)),
        }

    def generator_terms(self, latents, training=False):
        """G's loss (Eq. GAN.6 or GAN.5) through the discriminator."""
        fake_logits = self.discriminator(self.generator(latents, training=training), training=training)
        return {"g_loss": ops.mean(GENERATOR_LOSSES[self.generator_loss](fake_logits))}

    def compute_losses(self, images, training=False):
        """All four logged terms for a batch of [0, 1] images (used by ``test_step``)."""
        real = images * 2.0 - 1.0
        latents = self.sample_latents(ops.shape(real)[0])
        fake = self.generator(latents, training=training)
        terms = self.discriminator_terms(real, fake, training=training)
        terms.update(self.generator_terms(latents, training=training))
        return terms

    def train_step(self, data):
        real = validated_images(self, data) * 2.0 - 1.0  # (batch, H, W, C) in [-1, 1]
        batch_size = ops.shape(real)[0]
        # 1. discriminator: fake images are made outside the tape, so G gets no gradient.
        fake = self.generator(self.sample_latents(batch_size), training=True)
        with tf.GradientTape() as tape:
            d_terms = self.discriminator_terms(real, fake, training=True)
        self.update_weights(tape, d_terms["d_loss"], self.discriminator.trainable_weights, self.d_optimizer)
        # 2. generator: gradients flow through D, but only G's weights are updated.
        latents = self.sample_latents(batch_size)
        with tf.GradientTape() as tape:
            g_terms = self.generator_terms(latents, training=True)
        self.update_weights(tape, g_terms["g_loss"], self.generator.trainable_weights, self.g_optimizer)
        return self._record({**d_terms, **g_terms})


def build_mlp_gan(image_shape, latent_dim=100, units=(256, 512, 1024), seed=None, generator_loss="non_saturating"):
    """The classic MLP GAN: G 100→256→512→1024→image (LeakyReLU 0.2, tanh), D image→1024→512→256→1."""
    pixels = math.prod(image_shape)
    latents = keras.Input((latent_dim,), name="latents")
    hidden = latents
    for width in units:
        hidden = layers.LeakyReLU(0.2)(layers.Dense(width)(hidden))
    images = layers.Reshape(tuple(image_shape))(layers.Dense(pixels, activation="tanh")(hidden))
    generator = keras.Model(latents, images, name="mlp_generator")

    inputs = keras.Input(tuple(image_shape), name="images")
    hidden = layers.Flatten()(inputs)  # (batch, H*W*C)
    for width in reversed(units):
        hidden = layers.LeakyReLU(0.2)(layers.Dense(width)(hidden))
    discriminator = keras.Model(inputs, layers.Dense(1, name="logit")(hidden), name="mlp_discriminator")
    return GAN(generator, discriminator, generator_loss=generator_loss, seed=seed, name="mlp_gan")


def dcgan_generator(image_shape, latent_dim=64, filters=(128, 64), head_filters=32, num_classes=None,
                    label_dim=32, name="dcgan_generator"):
    """DCGAN's G: z → dense → (H/4, W/4, filters[0]) → two up-convs with batch norm and LeakyReLU → tanh.

    With ``head_filters`` the second up-conv has that many maps at full resolution and a 3×3
    conv makes the image from them; ``None`` makes the image with the up-conv itself (the
    paper's layout). With ``num_classes`` G takes ``[latents, labels]``: a learned
    ``label_dim``-vector per class is concatenated to z (the conditional GAN of notebook 06).
    """
    height, width, channels = image_shape
    if height % 4 or width % 4:
        raise ValueError(f"DCGAN needs an image size divisible by 4, got {height}×{width}; "
                         f"load the data with image_size=28 or 32.")
    latents = keras.Input((latent_dim,), name="latents")
    inputs, hidden = [latents], latents
    if num_classes:
        labels = keras.Input((), dtype="int32", name="labels")
        embedded = layers.Embedding(num_classes, label_dim, name="label_embedding")(labels)  # (batch, label_dim)
        inputs, hidden = [latents, labels], layers.Concatenate()([latents, embedded])
    hidden = layers.Dense((height // 4) * (width // 4) * filters[0], use_bias=False)(hidden)
    hidden = layers.LeakyReLU(0.2)(layers.BatchNormalization()(hidden))
    hidden = layers.Reshape((height // 4, width // 4, filters[0]))(hidden)  # (batch, H/4, W/4, f0)
    hidden = layers.Conv2DTranspose(filters[1], 4, strides=2, padding="same", use_bias=False)(hidden)
    hidden = layers.LeakyReLU(0.2)(layers.BatchNormalization()(hidden))  # (batch, H/2, W/2, f1)
    if head_filters:
        hidden = layers.Conv2DTranspose(head_filters, 4, strides=2, padding="same", use_bias=False)(hidden)
        hidden = layers.LeakyReLU(0.2)(layers.BatchNormalization()(hidden))  # (batch, H, W, head)
        images = layers.Conv2D(channels, 3, padding="same", activation="tanh")(hidden)
    else:
        images = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", activation="tanh")(hidden)
    return keras.Model(inputs if num_classes else latents, images, name=name)


def spectrally_normalised(layer, spectral_norm=True):
    """``layer`` wrapped in ``keras.layers.SpectralNormalization`` (its kernel divided by an estimate of
    its largest singular value, one power iteration per training call; Miyato et al. 2018), or
    ``layer`` itself when ``spectral_norm`` is false."""
    return layers.SpectralNormalization(layer) if spectral_norm else layer


def dcgan_features(inputs, d_filters, batch_norm=True, spectral_norm=False):
    """DCGAN's D without its output: one stride-2 conv per entry of ``d_filters`` with LeakyReLU
    (batch norm after all but the first when ``batch_norm``), flattened to ``(batch, features)``.

    A Wasserstein critic uses ``batch_norm=False``: batch norm makes each example's score depend
    on the rest of the batch, and the gradient penalty is a per-example constraint. With
    ``spectral_norm`` every conv is spectrally normalised (:func:`spectrally_normalised`) and
    there is no batch norm, whatever ``batch_norm`` says: batch norm's rescaling would undo the
    bound on each layer's Lipschitz constant (the SN-GAN and projection papers' discriminators
    have none).
    """
    if not d_filters:
        raise ValueError("d_filters is empty; give D at least one conv, e.g. d_filters=(64, 128).")
    batch_norm = batch_norm and not spectral_norm
    first = spectrally_normalised(layers.Conv2D(d_filters[0], 4, strides=2, padding="same"), spectral_norm)
    hidden = layers.LeakyReLU(0.2)(first(inputs))
    for maps in d_filters[1:]:  # (batch, H/4, W/4, ·), then (batch, ⌈H/8⌉, ⌈W/8⌉, ·)
        conv = layers.Conv2D(maps, 4, strides=2, padding="same", use_bias=not batch_norm)
        hidden = spectrally_normalised(conv, spectral_norm)(hidden)
        if batch_norm:
            hidden = layers.BatchNormalization()(hidden)
        hidden = layers.LeakyReLU(0.2)(hidden)
    return layers.Flatten()(hidden)


def default_d_filters(filters, d_filters=None):
    """``d_filters``, or by default ``(filters[1], filters[0], 2·filters[0])``: the mirror of G and a third conv."""
    return tuple(d_filters) if d_filters is not None else (filters[1], filters[0], 2 * filters[0])


def build_dcgan(image_shape, latent_dim=64, filters=(128, 64), head_filters=32, d_filters=None, seed=None,
                generator_loss="non_saturating"):
    """DCGAN (Radford et al. 2015) sized from ``image_shape``: two stride-2 (transposed) convs.

    G: :func:`dcgan_generator`. D: :func:`dcgan_features` → one logit. ``d_filters=None`` gives
    ``(filters[1], filters[0], 2·filters[0])``: the mirror of G and a third conv down to H/8;
    ``(filters[1], filters[0])`` is the paper's layout. On MNIST the head and the third conv each
    reached a given cFID in far less CPU time (benchmarks/README.md).
    """
    generator = dcgan_generator(image_shape, latent_dim, filters, head_filters)
    inputs = keras.Input(tuple(image_shape), name="images")
    features = dcgan_features(inputs, default_d_filters(filters, d_filters))
    discriminator = keras.Model(inputs, layers.Dense(1, name="logit")(features), name="dcgan_discriminator")
    return GAN(generator, discriminator, generator_loss=generator_loss, seed=seed, name="dcgan")


# --- the registry entries (genai_tf.models.registry) ----------------------------------------
def family_builder(builder, learning_rate):
    """A registry ``build`` for ``builder`` with Adam(``learning_rate``, β1 = 0.5) for both players.

    Keyword settings (widths, a cGAN's head, ``generator_loss``) go through to ``builder``: the
    way ``registry.Family.variant`` makes a narrower or other-headed recipe. ``d_learning_rate``
    and ``g_learning_rate`` replace one player's rate, ``beta_1`` both optimizers' β1 (notebook
    03's failure-mode probes).
    """
    def build(image_shape, latent_dim, seed, d_learning_rate=None, g_learning_rate=None, beta_1=0.5, **settings):
        model = builder(image_shape, latent_dim=latent_dim, seed=seed, **settings)
        d_rate = learning_rate if d_learning_rate is None else d_learning_rate
        g_rate = learning_rate if g_learning_rate is None else g_learning_rate
        model.compile(d_optimizer=keras.optimizers.Adam(d_rate, beta_1=beta_1),
                      g_optimizer=keras.optimizers.Adam(g_rate, beta_1=beta_1))
        return model

    return build


FAMILIES = {
    # The classic listing's batch of 64.
    "gan": registry.Family(
        "gan", family_builder(build_mlp_gan, 2e-4), GAN, latent_dim=100, batch_size=64,
        title="MLP GAN", description="classic MLP GAN, non-saturating loss", reconstructs=False,
        pretrain_budget={"seconds": 1200.0, "clock": "cpu"}),  # benchmarks/gan.py --mlp-minutes 10
    # build_dcgan's defaults: a full-resolution head in G and three convs in D. Adam 4e-4 for
    # both players, decayed linearly to 0 over the second half of training. On MNIST in 30
    # CPU-min: cFID 3.95 = 5.1x the real floor; the head alone at 2e-4 gave 10.67 (13.8x).
    # Each change measured at equal CPU time: benchmarks/README.md, "DCGAN tuning".
    "dcgan": registry.Family(
        "dcgan", family_builder(build_dcgan, 4e-4), GAN, latent_dim=64,
        title="DCGAN", description="DCGAN (full-resolution head in G, three convs in D), non-saturating loss, "
                    "Adam 4e-4 decayed linearly to 0 over the second half",
        reconstructs=False, decay_start=0.5, pretrain_budget=registry.BENCHMARK_CPU_BUDGET),  # benchmarks/gan.py
}
