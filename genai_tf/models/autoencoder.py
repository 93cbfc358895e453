"""Autoencoders (notebook 01): dense, convolutional, and denoising.

The model minimises a reconstruction negative log-likelihood: squared error for a Gaussian
decoder, Eq. (AE.3), or the Bernoulli cross-entropy on logits, Eq. (AE.2). With
``noise_stddev > 0`` it is a denoising autoencoder: the encoder sees x + noise (clipped to
[0, 1]) during training, and the loss compares the reconstruction with the clean x.
"""

from __future__ import annotations

import keras
from keras import ops

from genai_tf import losses
from genai_tf.models import networks, registry
from genai_tf.models.base import LossTermsModel

LIKELIHOODS = ("gaussian", "bernoulli")


@keras.saving.register_keras_serializable(package="genai_tf")
class Autoencoder(LossTermsModel):
    """x → encoder → z → decoder → x̂, trained on a reconstruction likelihood.

    Args:
        encoder: a model mapping images ``(batch, H, W, C)`` to codes ``(batch, latent_dim)``.
        decoder: a model mapping codes back to ``(batch, H, W, C)``: the reconstruction
            itself for ``likelihood="gaussian"``, or logits for ``"bernoulli"``.
        likelihood: ``"gaussian"`` (loss = mean squared error, Eq. AE.3) or ``"bernoulli"``
            (loss = cross-entropy summed over pixels, Eq. AE.2).
        noise_stddev: standard deviation of the Gaussian corruption for denoising; 0 = off.
        seed: seed of the model's own noise generator.
    """

    loss_names = ("loss", "mse")
    network_names = ("encoder", "decoder")
    config_names = ("likelihood", "noise_stddev", "seed")

    def __init__(self, encoder, decoder, likelihood="gaussian", noise_stddev=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood={likelihood!r}; use one of {LIKELIHOODS}.")
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = likelihood
        self.noise_stddev = float(noise_stddev)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.build()

    @property
    def image_shape(self):
        return tuple(self.encoder.input_shape[1:])

    @property
    def latent_dim(self):
        return int(self.encoder.output_shape[-1])

    def encode(self, images, training=False):
        """Images ``(batch, H, W, C)`` → codes ``(batch, latent_dim)``."""
        return self.encoder(images, training=training)

    def decode(self, latents, training=False):
        """Codes → reconstructed images in the data's range ([0, 1] for sigmoid or logits decoders)."""
        outputs = self.decoder(latents, training=training)
        return ops.sigmoid(outputs) if self.likelihood == "bernoulli" else outputs

    def call(self, images, training=False):
        return self.decode(self.encode(images, training=training), training=training)

    def corrupt(self, images):
        """Denoising input: x + N(0, noise_stddev²), clipped to [0, 1]."""
        noise = keras.random.normal(ops.shape(images), stddev=self.noise_stddev, seed=self.seed_generator)
        return ops.clip(images + noise, 0.0, 1.0)

    def compute_losses(self, images, training=False):
        inputs = self.corrupt(images) if (training and self.noise_stddev > 0) else images
        outputs = self.decoder(self.encoder(inputs, training=training), training=training)
        if self.likelihood == "bernoulli":
            objective = losses.bernoulli_nll(images, outputs)
            reconstructions = ops.sigmoid(outputs)
        else:
            reconstructions = outputs
            objective = losses.squared_error(images, reconstructions)
        squared = losses.squared_error(images, reconstructions)
        return {"loss": ops.mean(objective), "mse": ops.mean(squared)}

def build_conv_autoencoder(image_shape, latent_dim=16, filters=(32, 64), dense_units=256,
                           likelihood="gaussian", noise_stddev=0.0, seed=None):
    """A convolutional autoencoder sized from ``image_shape`` (sigmoid output for Gaussian)."""
    encoder = networks.conv_encoder(image_shape, (latent_dim,), filters, dense_units)
    decoder = networks.conv_decoder(
        image_shape, latent_dim, tuple(reversed(filters)), dense_units,
        output_activation="sigmoid" if likelihood == "gaussian" else None,
    )
    return Autoencoder(encoder, decoder, likelihood=likelihood, noise_stddev=noise_stddev,
                       seed=seed, name="conv_autoencoder")


def build_dense_autoencoder(image_shape, latent_dim=16, hidden_units=(256,), likelihood="gaussian",
                            output_activation="sigmoid", noise_stddev=0.0, seed=None):
    """An MLP autoencoder. ``hidden_units=()`` with ``output_activation=None`` is the linear
    autoencoder whose optimum spans the same subspace as PCA (notebook 01)."""
    activation = "relu" if hidden_units else None
    encoder = networks.dense_encoder(image_shape, (latent_dim,), hidden_units, activation)
    decoder = networks.dense_decoder(
        image_shape, latent_dim, tuple(reversed(hidden_units)), activation,
        output_activation=output_activation if likelihood == "gaussian" else None,
    )
    return Autoencoder(encoder, decoder, likelihood=likelihood, noise_stddev=noise_stddev,
                       seed=seed, name="dense_autoencoder")


# --- the registry entry (genai_tf.models.registry) ------------------------------------------
FAMILIES = {
    "autoencoder": registry.Family(
        "autoencoder", registry.adam_compiled(build_conv_autoencoder), Autoencoder, latent_dim=16,
        title="autoencoder", description="convolutional autoencoder, squared error", generates=False,
        pretrain_budget={"epochs": 10}),  # benchmarks/run.py --ae-epochs
}
