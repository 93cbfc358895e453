"""VAE-GAN (notebook 04; Larsen, Sønderby, Larochelle & Winther 2016).

A VAE whose decoder is also a GAN generator, and whose reconstruction likelihood is measured
in the discriminator's features rather than in pixels. Terms (batch means):
    kl_loss       = KL(q(z|x) ‖ N(0, I))                                   Eq. (VAE.4)
    feature_loss  = ½‖Dis_l(x) − Dis_l(x̃)‖², x̃ = Dec(z), z ~ q(z|x)          Eq. (VAEGAN.2)
    d_loss        = −[log D(x) + log(1 − D(x̃)) + log(1 − D(Dec(z_p)))]      Eq. (VAEGAN.3)
    g_adversarial = −log D(x̃) − log D(Dec(z_p))  (non-saturating)          Eq. (GAN.6)
Each network minimises its own sum (Eq. VAEGAN.1), all from one forward pass:
    encoder:       kl_loss + feature_loss
    decoder:       γ · feature_loss + g_adversarial
    discriminator: d_loss
so the KL never reaches the decoder, and the discriminator never sees the feature loss.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from genai_tf import losses
from genai_tf.layers import Sampling
from genai_tf.models import networks, registry
from genai_tf.models.base import MultiOptimizerModel, validated_images


@keras.saving.register_keras_serializable(package="genai_tf")
class VAEGAN(MultiOptimizerModel):
    """Encoder → decoder/generator ↔ discriminator, with three optimizers.

    Args:
        encoder: images → ``[z_mean, z_log_var]``.
        decoder: latents → images in [0, 1] (sigmoid output).
        discriminator: images in [0, 1] → ``[logits (batch, 1), features (batch, F)]``.
        gamma: weight γ of the feature reconstruction term in the decoder's loss.
        seed: seed of the model's noise.

    Compile with ``compile(e_optimizer=..., g_optimizer=..., d_optimizer=...)``.
    """

    loss_names = ("kl_loss", "feature_loss", "g_adversarial", "d_loss", "encoder_loss",
                  "decoder_loss", "d_real", "d_fake", "mse")
    network_names = ("encoder", "decoder", "discriminator")
    config_names = ("gamma", "seed")
    optimizer_names = ("e_optimizer", "g_optimizer", "d_optimizer")
    _network_losses = {"e_optimizer": "encoder_loss", "g_optimizer": "decoder_loss", "d_optimizer": "d_loss"}

    def __init__(self, encoder, decoder, discriminator, gamma=1e-2, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.discriminator = discriminator
        self.gamma = float(gamma)
        self.seed = seed
        self.sampling = Sampling(seed=seed, name="sampling")
        self.seed_generator = keras.random.SeedGenerator(None if seed is None else seed + 1)
        self.build()

    def optimizer_networks(self):
        return {"e_optimizer": self.encoder, "g_optimizer": self.decoder, "d_optimizer": self.discriminator}

    @property
    def image_shape(self):
        return tuple(self.encoder.input_shape[1:])

    @property
    def latent_dim(self):
        return int(self.decoder.input_shape[-1])

    def encode(self, images, training=False):
        return self.encoder(images, training=training)

    def decode(self, latents, training=False):
        return self.decoder(latents, training=training)

    def call(self, images, training=False):
        """Reconstruction through the posterior mean: Dec(μ(x))."""
        z_mean, _ = self.encoder(images, training=training)
        return self.decoder(z_mean, training=training)

    def compute_losses(self, images, training=False):
        batch = ops.shape(images)[0]
        z_mean, z_log_var = self.encoder(images, training=training)
        reconstructions = self.decoder(self.sampling([z_mean, z_log_var]), training=training)
        prior_latents = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        samples = self.decoder(prior_latents, training=training)
        real_logits, real_features = self.discriminator(images, training=training)
        recon_logits, recon_features = self.discriminator(reconstructions, training=training)
        sample_logits, _ = self.discriminator(samples, training=training)

        kl = losses.gaussian_kl(z_mean, z_log_var)
        feature = losses.feature_reconstruction_nll(real_features, recon_features)
        adversarial = (losses.generator_nonsaturating_loss(recon_logits)
                       + losses.generator_nonsaturating_loss(sample_logits))
        return {
            "kl_loss": ops.mean(kl),
            "feature_loss": ops.mean(feature),
            "g_adversarial": ops.mean(adversarial),
            "d_loss": ops.mean(losses.vaegan_discriminator_loss(real_logits, recon_logits, sample_logits)),
            "encoder_loss": ops.mean(kl + feature),
            "decoder_loss": ops.mean(self.gamma * feature + adversarial),
            "d_real": ops.mean(ops.sigmoid(real_logits)),
            "d_fake": ops.mean(ops.sigmoid(sample_logits)),
            "mse": ops.mean(losses.squared_error(images, reconstructions)),
        }

    def train_step(self, data):
        images = validated_images(self, data)
        with tf.GradientTape(persistent=True) as tape:
            terms = self.compute_losses(images, training=True)
        self.apply_gradients(tape, terms, self._network_losses)
        del tape
        return self._record(terms)

    def generate(self, num_samples, seed=None):
        """Draw z ~ N(0, I); return Dec(z) as float32 ``(n, H, W, C)`` in [0, 1]."""
        latents = keras.random.normal((int(num_samples), self.latent_dim),
                                      seed=self.seed_generator if seed is None else seed)
        return np.asarray(ops.convert_to_numpy(self.decoder(latents, training=False)), dtype="float32")

def feature_discriminator(image_shape, filters=(32, 64), name="discriminator"):
    """Conv discriminator returning ``[logit, features]``; the features are its last conv
    layer's activations, flattened: the space of the VAE-GAN's reconstruction term."""
    networks._check_divisible(image_shape, len(filters))
    images = keras.Input(tuple(image_shape), name="images")
    hidden = layers.LeakyReLU(0.2)(layers.Conv2D(filters[0], 4, strides=2, padding="same")(images))
    for width in filters[1:]:
        hidden = layers.Conv2D(width, 4, strides=2, padding="same", use_bias=False)(hidden)
        hidden = layers.LeakyReLU(0.2)(layers.BatchNormalization()(hidden))
    features = layers.Flatten(name="features")(hidden)  # (batch, H/4 * W/4 * filters[-1])
    logits = layers.Dense(1, name="logit")(features)
    return keras.Model(images, [logits, features], name=name)


def build_vaegan(image_shape, latent_dim=32, filters=(32, 64), dense_units=256, gamma=1e-2, seed=None):
    """A convolutional VAE-GAN sized from ``image_shape``: the VAE's encoder and decoder
    (sigmoid output) plus a feature discriminator."""
    encoder = networks.conv_encoder(image_shape, (latent_dim, latent_dim), filters, dense_units)
    decoder = networks.conv_decoder(image_shape, latent_dim, tuple(reversed(filters)), dense_units,
                                    output_activation="sigmoid")
    discriminator = feature_discriminator(image_shape, filters)
    return VAEGAN(encoder, decoder, discriminator, gamma=gamma, seed=seed, name="vaegan")


# --- the registry entry (genai_tf.models.registry) ------------------------------------------
def _build_family(image_shape, latent_dim, seed):
    model = build_vaegan(image_shape, latent_dim=latent_dim, seed=seed)
    model.compile(e_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                  d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    return model


FAMILIES = {
    # The batch of 64 notebook 04 tuned gamma and the learning rates with.
    "vaegan": registry.Family(
        "vaegan", _build_family, VAEGAN, latent_dim=32, batch_size=64,
        title="VAE-GAN", description="VAE-GAN, reconstruction in discriminator features",
        pretrain_budget={"seconds": 600.0, "clock": "cpu"}),  # benchmarks/vgn.py: 5 min × 2 cores
}
