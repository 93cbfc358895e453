"""The conditional VAE (notebook 04; Sohn, Lee & Yan 2015).

Both networks see the label y: q(z | x, y) and p(x | z, y), with the prior p(z | y) = N(0, I).
The conditional ELBO, Eq. (CVAE.1):
    log p(x | y) ≥ E_q(z|x,y)[log p(x | z, y)] - KL(q(z | x, y) ‖ p(z | y))
uses the same terms as the VAE (Eqs. AE.2 and VAE.4), so the losses are the VAE's; only the
networks' inputs change. Because y carries the class, z is free to carry the "style", so
fixing z and changing y draws the same style as different digits.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from genai_tf import losses
from genai_tf.models import networks
from genai_tf.models.base import images_from_batch, validated_images
from genai_tf.models.vae import VAE


@keras.saving.register_keras_serializable(package="genai_tf")
class ConditionalVAE(VAE):
    """A VAE whose encoder and decoder also take one-hot labels ``(batch, num_classes)``.

    Batches are ``(images, labels)`` with integer labels; ``generate(n, seed, labels=...)``
    draws the requested classes.
    """

    config_names = VAE.config_names + ("num_classes",)

    def __init__(self, encoder, decoder, num_classes=10, **kwargs):
        self.num_classes = int(num_classes)
        super().__init__(encoder, decoder, **kwargs)

    @property
    def image_shape(self):
        return tuple(self.encoder.input_shape[0][1:])

    @property
    def latent_dim(self):
        return int(self.decoder.input_shape[0][-1])

    def one_hot(self, labels):
        """Integer labels ``(batch,)`` → one-hot ``(batch, num_classes)``."""
        return ops.one_hot(ops.cast(ops.reshape(labels, (-1,)), "int32"), self.num_classes)

    def _batch_inputs(self, data):
        if not isinstance(data, (tuple, list)) or len(data) < 2:
            raise ValueError("ConditionalVAE trains on (images, labels) batches; "
                             "genai_tf.data.load_dataset yields them.")
        return validated_images(self, data), data[1]

    def encode(self, images, labels, training=False):
        """``(images, labels)`` → ``(z_mean, z_log_var)`` of q(z | x, y)."""
        images = ops.convert_to_tensor(images, dtype="float32")
        z_mean, z_log_var = self.encoder([images, self.one_hot(labels)], training=training)
        return z_mean, z_log_var

    def decode(self, latents, labels, training=False):
        """``(latents, labels)`` → the mean image E[x | z, y] in [0, 1]."""
        latents = ops.convert_to_tensor(latents, dtype="float32")
        outputs = self.decoder([latents, self.one_hot(labels)], training=training)
        return ops.sigmoid(outputs) if self.likelihood == "bernoulli" else ops.clip(outputs, 0.0, 1.0)

    def call(self, data, training=False):
        """Reconstruction of ``(images, labels)`` through the posterior mean."""
        images, labels = images_from_batch(data), data[1]
        z_mean, _ = self.encode(images, labels, training=training)
        return self.decode(z_mean, labels, training=training)

    def compute_losses(self, images, labels, training=False):
        """The negative conditional β-ELBO, Eq. (CVAE.1), and its terms."""
        images = ops.convert_to_tensor(images, dtype="float32")
        one_hot = self.one_hot(labels)
        z_mean, z_log_var = self.encoder([images, one_hot], training=training)
        latents = self.sampling([z_mean, z_log_var])
        reconstruction = self.reconstruction_nll(images, self.decoder([latents, one_hot], training=training))
        kl = losses.gaussian_kl(z_mean, z_log_var)
        return {
            "loss": ops.mean(reconstruction + self.beta * kl),
            "reconstruction_loss": ops.mean(reconstruction),
            "kl_loss": ops.mean(kl),
            "elbo": ops.mean(losses.elbo(reconstruction, kl)),
        }

    def log_importance_weights(self, images, labels, num_samples, seed=None):
        """log p(x | z_i, y) + log p(z_i) - log q(z_i | x, y), shape ``(k, batch)``."""
        images = ops.convert_to_tensor(images, dtype="float32")
        z_mean, z_log_var = self.encode(images, labels)
        batch = ops.shape(images)[0]
        epsilon = keras.random.normal((num_samples, batch, self.latent_dim),
                                      seed=self.seed_generator if seed is None else seed)
        latents = z_mean[None] + ops.exp(0.5 * z_log_var)[None] * epsilon
        flat_latents = ops.reshape(latents, (-1, self.latent_dim))
        tiled_labels = ops.reshape(ops.broadcast_to(ops.reshape(labels, (1, -1)), (num_samples, batch)), (-1,))
        tiled_images = ops.reshape(ops.broadcast_to(images[None], (num_samples, *ops.shape(images))),
                                   (-1, *self.image_shape))
        outputs = self.decoder([flat_latents, self.one_hot(tiled_labels)])
        log_px = ops.reshape(-self.reconstruction_nll(tiled_images, outputs), (num_samples, batch))
        return log_px + losses.log_normal_pdf(latents) - losses.log_normal_pdf(latents, z_mean[None], z_log_var[None])

    def generate(self, num_samples, seed=None, labels=None):
        """Draw z ~ N(0, I) and decode it as the requested ``labels`` (``(n,)`` ints).

        Without ``labels`` the classes cycle 0, 1, …, num_classes-1. Returns float32
        ``(n, H, W, C)`` in [0, 1].
        """
        num_samples = int(num_samples)
        if labels is None:
            labels = np.arange(num_samples) % self.num_classes
        labels = np.asarray(labels).reshape(-1)
        if len(labels) != num_samples:
            raise ValueError(f"labels has {len(labels)} entries; generate({num_samples}) needs one per sample.")
        if labels.min() < 0 or labels.max() >= self.num_classes:
            raise ValueError(f"labels must be integers in [0, {self.num_classes}); got {sorted(set(labels))}.")
        latents = keras.random.normal((num_samples, self.latent_dim),
                                      seed=self.seed_generator if seed is None else seed)
        return np.asarray(ops.convert_to_numpy(self.decode(latents, labels)), dtype="float32")



def build_conv_cvae(image_shape, num_classes=10, latent_dim=16, filters=(32, 64), dense_units=256,
                    likelihood="bernoulli", beta=1.0, seed=None):
    """A convolutional conditional VAE sized from ``image_shape``."""
    encoder = networks.conv_encoder(image_shape, (latent_dim, latent_dim), filters, dense_units,
                                    num_classes=num_classes)
    decoder = networks.conv_decoder(image_shape, latent_dim, tuple(reversed(filters)), dense_units,
                                    output_activation=None if likelihood == "bernoulli" else "sigmoid",
                                    num_classes=num_classes)
    return ConditionalVAE(encoder, decoder, num_classes=num_classes, likelihood=likelihood, beta=beta,
                          seed=seed, name="conv_cvae")
