"""Every loss term of the course, one pure function per equation term.

Each function takes batched tensors (or numpy arrays) and returns one value per example,
shape ``(batch,)``: reduce with a mean in the model, never here. Each docstring's first
line names the equation it implements and the notebook that derives it. The unit tests in
``tests/test_losses.py`` check every function against an independent computation.

Conventions: ``images`` are floats in [0, 1] with shape ``(batch, H, W, C)``; latents have
shape ``(batch, latent_dim)``; log-likelihoods are in nats.
"""

from __future__ import annotations

import math

from keras import ops

LOG_2PI = math.log(2.0 * math.pi)


def _sum_over_examples(values):
    """Sum every axis but the first (batch) one: (batch, ...) -> (batch,)."""
    values = ops.convert_to_tensor(values)
    if len(values.shape) == 1:
        return values
    return ops.sum(ops.reshape(values, (ops.shape(values)[0], -1)), axis=-1)


def squared_error(images, reconstructions):
    """Implements Eq. (AE.3) of notebooks/01_autoencoder.ipynb: mean over pixels of (x - x̂)²."""
    images = ops.convert_to_tensor(images, dtype="float32")
    reconstructions = ops.convert_to_tensor(reconstructions, dtype="float32")
    squared = ops.square(images - reconstructions)
    return ops.mean(ops.reshape(squared, (ops.shape(squared)[0], -1)), axis=-1)


def gaussian_nll(images, means, log_variance=0.0):
    """Implements Eq. (AE.1) of notebooks/01_autoencoder.ipynb: -log N(x; μ, σ²I) = Σ_d [(x_d-μ_d)²/(2σ²) + ½log(2πσ²)].

    ``log_variance`` is log σ²: a scalar (one shared variance) or a tensor broadcastable to
    ``images`` (one variance per pixel).
    """
    images = ops.convert_to_tensor(images, dtype="float32")
    means = ops.convert_to_tensor(means, dtype="float32")
    log_variance = ops.convert_to_tensor(log_variance, dtype="float32")
    per_pixel = 0.5 * (
        ops.square(images - means) * ops.exp(-log_variance) + log_variance + LOG_2PI
    )
    per_pixel = per_pixel + ops.zeros_like(images)  # broadcast a scalar variance
    return _sum_over_examples(per_pixel)


def bernoulli_nll(images, logits):
    """Implements Eq. (AE.2) of notebooks/01_autoencoder.ipynb: -Σ_d [x_d log p_d + (1-x_d) log(1-p_d)], p = sigmoid(logits).

    Written on logits for stability: -[x log σ(l) + (1-x) log(1-σ(l))] = max(l,0) - l·x + log(1+e^-|l|).
    Grey-level targets x in [0, 1] are allowed (the continuous cross-entropy).
    """
    images = ops.convert_to_tensor(images, dtype="float32")
    logits = ops.convert_to_tensor(logits, dtype="float32")
    # Both branches chosen by one test, as tf.nn.sigmoid_cross_entropy_with_logits does: with
    # ops.relu and ops.abs the gradient at a logit of exactly 0 would be -x, not σ(0) - x.
    positive = logits >= 0.0
    relu_logits = ops.where(positive, logits, ops.zeros_like(logits))  # max(l, 0)
    minus_abs_logits = ops.where(positive, -logits, logits)  # -|l|
    per_pixel = relu_logits - logits * images + ops.log1p(ops.exp(minus_abs_logits))
    return _sum_over_examples(per_pixel)


def gaussian_kl(z_mean, z_log_var):
    """Implements Eq. (VAE.4) of notebooks/02_variational_autoencoder.ipynb: KL(N(μ, σ²) ‖ N(0, I)) = ½ Σ_j (μ_j² + σ_j² - log σ_j² - 1)."""
    z_mean = ops.convert_to_tensor(z_mean, dtype="float32")
    z_log_var = ops.convert_to_tensor(z_log_var, dtype="float32")
    return 0.5 * ops.sum(ops.square(z_mean) + ops.exp(z_log_var) - z_log_var - 1.0, axis=-1)


def log_normal_pdf(values, mean=0.0, log_var=0.0):
    """Implements Eq. (VAE.8) of notebooks/02_variational_autoencoder.ipynb: log N(z; μ, σ²I) = -½ Σ_j [(z_j-μ_j)²/σ_j² + log σ_j² + log 2π]."""
    values = ops.convert_to_tensor(values, dtype="float32")
    mean = ops.convert_to_tensor(mean, dtype="float32")
    log_var = ops.convert_to_tensor(log_var, dtype="float32")
    per_dim = -0.5 * (ops.square(values - mean) * ops.exp(-log_var) + log_var + LOG_2PI)
    per_dim = per_dim + ops.zeros_like(values)
    return ops.sum(per_dim, axis=-1)


def elbo(reconstruction_nll, kl, beta=1.0):
    """Implements Eq. (VAE.6) of notebooks/02_variational_autoencoder.ipynb: ELBO_β = E_q[log p(x|z)] - β·KL(q(z|x) ‖ p(z)).

    With ``beta=1`` this is the evidence lower bound of Eq. (VAE.2). The training loss is
    its negative, averaged over the batch.
    """
    reconstruction_nll = ops.convert_to_tensor(reconstruction_nll, dtype="float32")
    kl = ops.convert_to_tensor(kl, dtype="float32")
    return -(reconstruction_nll + beta * kl)


def iwae_bound(log_weights):
    """Implements Eq. (VAE.7) of notebooks/02_variational_autoencoder.ipynb: L_k = log (1/k) Σ_i exp(log w_i), log w_i = log p(x, z_i) - log q(z_i|x).

    ``log_weights`` has shape ``(k, batch)``; returns ``(batch,)``. With k = 1 it is a
    one-sample ELBO estimate; it rises towards log p(x) as k grows (Burda et al., 2016).
    """
    log_weights = ops.convert_to_tensor(log_weights, dtype="float32")
    num_samples = ops.shape(log_weights)[0]
    return ops.logsumexp(log_weights, axis=0) - ops.log(ops.cast(num_samples, "float32"))


# --- GANs: notebooks/03_gan.ipynb --------------------------------------------------------
# D outputs a logit l; D(x) = sigmoid(l). log D = -softplus(-l), log(1 - D) = -softplus(l).


def _flat_logits(logits):
    logits = ops.convert_to_tensor(logits, dtype="float32")
    return ops.reshape(logits, (ops.shape(logits)[0],))


def discriminator_loss(real_logits, fake_logits):
    """Implements Eq. (GAN.2) of notebooks/03_gan.ipynb: -[log D(x) + log(1 - D(G(z)))] = softplus(-l_real) + softplus(l_fake).

    The binary cross-entropy of "real = 1" on data and "real = 0" on samples, per pair of a
    real and a fake example (both batches have the same size).
    """
    return ops.softplus(-_flat_logits(real_logits)) + ops.softplus(_flat_logits(fake_logits))


def generator_minimax_loss(fake_logits):
    """Implements Eq. (GAN.5) of notebooks/03_gan.ipynb: log(1 - D(G(z))) = -softplus(l_fake), the generator's side of the minimax game.

    Its gradient vanishes when D confidently rejects samples (early in training).
    """
    return -ops.softplus(_flat_logits(fake_logits))


def generator_nonsaturating_loss(fake_logits):
    """Implements Eq. (GAN.6) of notebooks/03_gan.ipynb: -log D(G(z)) = softplus(-l_fake), the non-saturating generator loss."""
    return ops.softplus(-_flat_logits(fake_logits))


# --- VAE-GAN: notebooks/04_variational_generative_networks.ipynb ---------------------------


def feature_reconstruction_nll(real_features, reconstructed_features):
    """Implements Eq. (VAEGAN.2) of notebooks/04_variational_generative_networks.ipynb: -log N(Dis_l(x); Dis_l(x̃), I) = ½ Σ_j (Dis_l(x)_j - Dis_l(x̃)_j)², constant dropped.

    The reconstruction likelihood measured in the discriminator's l-th layer instead of in
    pixels (Larsen et al. 2016): features ``(batch, ...)``, summed over every non-batch axis.
    """
    real_features = ops.convert_to_tensor(real_features, dtype="float32")
    reconstructed_features = ops.convert_to_tensor(reconstructed_features, dtype="float32")
    return 0.5 * _sum_over_examples(ops.square(real_features - reconstructed_features))


def vaegan_discriminator_loss(real_logits, reconstructed_logits, sampled_logits):
    """Implements Eq. (VAEGAN.3) of notebooks/04_variational_generative_networks.ipynb: -[log D(x) + log(1 - D(Dec(Enc(x)))) + log(1 - D(Dec(z_p)))].

    The discriminator treats both reconstructions and prior samples as fake.
    """
    return discriminator_loss(real_logits, reconstructed_logits) + ops.softplus(_flat_logits(sampled_logits))
