"""The variational autoencoder (notebook 02): a convolutional VAE with a β weight.

Loss (the negative β-ELBO, Eq. VAE.6), averaged over the batch:
    reconstruction_loss = E_q[-log p(x|z)]   (Bernoulli, Eq. AE.2, or Gaussian, Eq. AE.1)
    kl_loss             = KL(q(z|x) ‖ N(0, I))  (closed form, Eq. VAE.4)
    loss                = reconstruction_loss + β · kl_loss
``elbo`` is tracked too: -(reconstruction_loss + kl_loss) in nats, the β = 1 bound.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from genai_tf import losses
from genai_tf.layers import Sampling
from genai_tf.models import networks, registry
from genai_tf.models.base import LossTermsModel

LIKELIHOODS = ("bernoulli", "gaussian")
DEFAULT_DECODER_LOG_VAR = math.log(0.01)  # σ_x = 0.1 on [0, 1] pixels


@keras.saving.register_keras_serializable(package="genai_tf")
class VAE(LossTermsModel):
    """q(z|x) = N(μ(x), σ²(x)), p(z) = N(0, I), p(x|z) Bernoulli(logits) or Gaussian(mean, σ_x²).

    Args:
        encoder: images ``(batch, H, W, C)`` → ``[z_mean, z_log_var]``, each ``(batch, latent_dim)``.
        decoder: latents → ``(batch, H, W, C)``: logits for ``"bernoulli"``, means in [0, 1]
            for ``"gaussian"``.
        likelihood: ``"bernoulli"`` (binarized or grey-level data) or ``"gaussian"``.
        beta: weight of the KL term (β-VAE); 1 gives the true ELBO.
        decoder_log_var: log σ_x² of the Gaussian decoder (fixed); ignored for Bernoulli.
        seed: seed of the model's noise (the ``Sampling`` layer and ``generate``).
    """

    loss_names = ("loss", "reconstruction_loss", "kl_loss", "elbo")
    network_names = ("encoder", "decoder")
    config_names = ("likelihood", "beta", "decoder_log_var", "seed")

    def __init__(self, encoder, decoder, likelihood="bernoulli", beta=1.0,
                 decoder_log_var=DEFAULT_DECODER_LOG_VAR, seed=None, **kwargs):
        super().__init__(**kwargs)
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood={likelihood!r}; use one of {LIKELIHOODS}.")
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = likelihood
        self.beta = float(beta)
        self.decoder_log_var = float(decoder_log_var)
        self.seed = seed
        self.sampling = Sampling(seed=seed, name="sampling")
        self.seed_generator = keras.random.SeedGenerator(None if seed is None else seed + 1)
        self.build()

    @property
    def image_shape(self):
        return tuple(self.encoder.input_shape[1:])

    @property
    def latent_dim(self):
        return int(self.decoder.input_shape[-1])

    # --- the three maps ---------------------------------------------------------------
    def encode(self, images, training=False):
        """Images → ``(z_mean, z_log_var)``, the parameters of q(z|x)."""
        z_mean, z_log_var = self.encoder(images, training=training)
        return z_mean, z_log_var

    def decode(self, latents, training=False):
        """Latents → the decoder's mean image E[x|z], in [0, 1]."""
        return self.mean_image(self.decoder(latents, training=training))

    def mean_image(self, decoder_outputs):
        """The decoder's raw outputs → the mean image in [0, 1] (sigmoid of Bernoulli logits)."""
        if self.likelihood == "bernoulli":
            return ops.sigmoid(decoder_outputs)
        return ops.clip(decoder_outputs, 0.0, 1.0)

    def call(self, images, training=False):
        """Reconstruction through the posterior mean: decode(μ(x))."""
        z_mean, _ = self.encode(images, training=training)
        return self.decode(z_mean, training=training)

    def reconstruction_nll(self, images, decoder_outputs):
        """-log p(x|z) per example, from the decoder's raw outputs."""
        if self.likelihood == "bernoulli":
            return losses.bernoulli_nll(images, decoder_outputs)
        return losses.gaussian_nll(images, decoder_outputs, self.decoder_log_var)

    # --- the objective -----------------------------------------------------------------
    def network_inputs(self, tensor, labels=None):
        """What the encoder (``tensor`` = images) or decoder (``tensor`` = latents) takes.
        The plain VAE ignores ``labels``; the conditional VAE adds them (one-hot)."""
        return tensor

    def compute_losses(self, images, labels=None, training=False):
        """The negative β-ELBO, Eq. (VAE.6) (Eq. CVAE.1 with labels), and its terms."""
        images = ops.convert_to_tensor(images, dtype="float32")
        z_mean, z_log_var = self.encoder(self.network_inputs(images, labels), training=training)
        latents = self.sampling([z_mean, z_log_var])  # (batch, latent_dim), Eq. (VAE.5)
        decoder_outputs = self.decoder(self.network_inputs(latents, labels), training=training)
        reconstruction = self.reconstruction_nll(images, decoder_outputs)
        kl = losses.gaussian_kl(z_mean, z_log_var)
        return {
            "loss": ops.mean(reconstruction + self.beta * kl),
            "reconstruction_loss": ops.mean(reconstruction),
            "kl_loss": ops.mean(kl),
            "elbo": ops.mean(losses.elbo(reconstruction, kl)),
        }

    def log_importance_weights(self, images, num_samples, seed=None):
        """log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x), z_i ~ q(z|x): shape ``(k, batch)``.

        The input of :func:`genai_tf.losses.iwae_bound` (Eq. VAE.7).
        """
        return self._log_importance_weights(images, None, num_samples, seed)

    def _log_importance_weights(self, images, labels, num_samples, seed):
        images = ops.convert_to_tensor(images, dtype="float32")
        z_mean, z_log_var = self.encoder(self.network_inputs(images, labels))
        batch = ops.shape(images)[0]
        epsilon = keras.random.normal((num_samples, batch, self.latent_dim),
                                      seed=self.seed_generator if seed is None else seed)
        latents = z_mean[None] + ops.exp(0.5 * z_log_var)[None] * epsilon  # (k, batch, latent_dim)
        flat_latents = ops.reshape(latents, (-1, self.latent_dim))  # (k*batch, latent_dim)
        tiled_images = ops.reshape(
            ops.broadcast_to(images[None], (num_samples, *ops.shape(images))),
            (-1, *self.image_shape),
        )  # (k*batch, H, W, C)
        if labels is not None:  # (k*batch,), the same label for each example's k samples
            labels = ops.reshape(ops.broadcast_to(ops.reshape(labels, (1, -1)), (num_samples, batch)), (-1,))
        outputs = self.decoder(self.network_inputs(flat_latents, labels))
        log_px = ops.reshape(-self.reconstruction_nll(tiled_images, outputs), (num_samples, batch))
        log_pz = losses.log_normal_pdf(latents)
        log_qz = losses.log_normal_pdf(latents, z_mean[None], z_log_var[None])
        return log_px + log_pz - log_qz

    # --- sampling ----------------------------------------------------------------------
    def generate(self, num_samples, seed=None):
        """Draw z ~ N(0, I) and return decoded images, float32 ``(n, H, W, C)`` in [0, 1].

        An integer ``seed`` gives the same images on every call; ``None`` draws fresh
        latents from the model's own seed generator.
        """
        latents = keras.random.normal((int(num_samples), self.latent_dim),
                                      seed=self.seed_generator if seed is None else seed)
        return np.asarray(ops.convert_to_numpy(self.decode(latents)), dtype="float32")

def build_conv_vae(image_shape, latent_dim=16, filters=(32, 64), dense_units=256,
                   likelihood="bernoulli", beta=1.0, seed=None, **kwargs):
    """A convolutional VAE sized from ``image_shape``: two stride-2 convs each way."""
    encoder = networks.conv_encoder(image_shape, (latent_dim, latent_dim), filters, dense_units)
    decoder = networks.conv_decoder(
        image_shape, latent_dim, tuple(reversed(filters)), dense_units,
        output_activation=None if likelihood == "bernoulli" else "sigmoid",
    )
    return VAE(encoder, decoder, likelihood=likelihood, beta=beta, seed=seed, name="conv_vae", **kwargs)


# --- the registry entry (genai_tf.models.registry) ------------------------------------------
FAMILIES = {
    # Narrow convolutions and a wide dense layer: half the CPU time per epoch of
    # filters=(32, 64), dense_units=256, and a better test NLL in a fixed time budget
    # (benchmarks/README.md).
    "vae": registry.Family(
        "vae", registry.adam_compiled(build_conv_vae, filters=(16, 32), dense_units=512), VAE, latent_dim=32, binarize="dynamic",
        title="VAE", description="convolutional VAE (filters 16, 32; dense 512), Bernoulli decoder, "
                    "dynamically binarized data, Adam 1e-3 with a cosine decay to 2 %",
        # benchmarks/README.md: the cosine decay over the run gave the README's test NLL
        decay_start=0.0, decay_shape="cosine", decay_final_fraction=0.02,
        pretrain_budget=registry.BENCHMARK_CPU_BUDGET),  # notebook 07 and benchmarks/diffusion.py's VAE
}
