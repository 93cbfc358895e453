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

from genai_tf.models import networks, registry
from genai_tf.models.base import images_from_batch, requested_labels, validated_images
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
                             "genai_tf.data.images.load yields them.")
        return validated_images(self, data), data[1]

    def network_inputs(self, tensor, labels=None):
        """``[tensor, one-hot labels]``: the label goes into the encoder and the decoder."""
        if labels is None:
            raise ValueError("A ConditionalVAE needs labels: pass integer labels (batch,) with the images.")
        return [ops.convert_to_tensor(tensor, dtype="float32"), self.one_hot(labels)]

    def encode(self, images, labels, training=False):
        """``(images, labels)`` → ``(z_mean, z_log_var)`` of q(z | x, y)."""
        z_mean, z_log_var = self.encoder(self.network_inputs(images, labels), training=training)
        return z_mean, z_log_var

    def decode(self, latents, labels, training=False):
        """``(latents, labels)`` → the mean image E[x | z, y] in [0, 1]."""
        return self.mean_image(self.decoder(self.network_inputs(latents, labels), training=training))

    def call(self, data, training=False):
        """Reconstruction of ``(images, labels)`` through the posterior mean."""
        images, labels = images_from_batch(data), data[1]
        z_mean, _ = self.encode(images, labels, training=training)
        return self.decode(z_mean, labels, training=training)

    def log_importance_weights(self, images, labels, num_samples, seed=None):
        """log p(x | z_i, y) + log p(z_i) - log q(z_i | x, y), shape ``(k, batch)``."""
        return self._log_importance_weights(images, labels, num_samples, seed)

    def generate(self, num_samples, seed=None, labels=None):
        """Draw z ~ N(0, I) and decode it as the requested ``labels`` (``(n,)`` ints).

        Without ``labels`` the classes cycle 0, 1, …, num_classes-1. Returns float32
        ``(n, H, W, C)`` in [0, 1].
        """
        labels = requested_labels(labels, num_samples, self.num_classes)
        latents = keras.random.normal((len(labels), self.latent_dim),
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


# --- the registry entry (genai_tf.models.registry) ------------------------------------------
FAMILIES = {
    # A 2-D style code, as notebook 04. benchmarks/vgn.py (600 CPU-s): codes of 2, 4 and 16 give
    # 99.1 %, 98.7 % and 95.9 % of samples read as the requested digit (issue 4's target: 97 %),
    # but cFID 46, 21 and 8: a larger code gives better samples and ELBO, worse label control.
    "cvae": registry.Family(
        "cvae", registry.adam_compiled(build_conv_cvae), ConditionalVAE, latent_dim=2, conditional=True, binarize="dynamic",
        title="CVAE", description="conditional conv VAE (label into encoder and decoder), 2-D style code",
        reconstructs=False, pretrain_budget={"seconds": 600.0, "clock": "cpu"}),  # benchmarks/vgn.py
}
