"""Every loss term of the course, one pure function per equation term.

Each function takes batched tensors (or numpy arrays) and returns one value per example,
shape ``(batch,)``: reduce with a mean in the model, never here. Each docstring's first
line names the equation it implements and the notebook that derives it. The unit tests in
``tests/test_losses.py`` check every function against an independent computation.

Conventions: ``images`` are floats in [0, 1] with shape ``(batch, H, W, C)``; latents have
shape ``(batch, latent_dim)``; log-likelihoods are in nats.

The diffusion equations of notebook 07 (the forward process and its posterior, the bound's
weights and the noise-prediction loss) are here too; the noise schedules that give ᾱ_t are in
``genai_tf.sampling.schedules``. Code index ``i = 0 … T-1`` is the notebook's timestep
``t = i + 1``; ``alpha_bars[i]`` is ᾱ_t, and ᾱ_0 = 1. Per-example schedule values
(``alpha_bar`` etc.) have shape ``(batch,)`` and are broadcast over the image axes.
"""

from __future__ import annotations

import math

import numpy as np
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


# --- Wasserstein and conditional GANs: notebooks/06_wasserstein_and_conditional_gans.ipynb -
# The critic f outputs an unbounded score, not a logit: no sigmoid anywhere.


def wasserstein_critic_loss(real_scores, fake_scores):
    """Implements Eq. (WGAN.4) of notebooks/06_wasserstein_and_conditional_gans.ipynb: f(G(z)) - f(x), whose mean the critic minimises.

    Minus the Kantorovich-Rubinstein objective of Eq. (WGAN.3): its negated mean estimates the
    Wasserstein-1 distance when f is 1-Lipschitz. One value per (real, fake) pair.
    """
    return _flat_logits(fake_scores) - _flat_logits(real_scores)


def wasserstein_generator_loss(fake_scores):
    """Implements Eq. (WGAN.5) of notebooks/06_wasserstein_and_conditional_gans.ipynb: -f(G(z)), the generator's side of Eq. (WGAN.3)."""
    return -_flat_logits(fake_scores)


def interpolates(real, fake, alpha):
    """Implements Eq. (WGAN.6) of notebooks/06_wasserstein_and_conditional_gans.ipynb: x̂ = α x + (1 - α) x̃, one α per example.

    ``alpha`` has shape ``(batch,)`` and is drawn from U[0, 1] by the caller, so every point on
    the segment between a real and a generated example is equally likely to be penalised.
    """
    real = ops.convert_to_tensor(real, dtype="float32")
    fake = ops.convert_to_tensor(fake, dtype="float32")
    alpha = _per_example(alpha, real)
    return alpha * real + (1.0 - alpha) * fake


GRADIENT_NORM_EPSILON = 1e-12  # inside the square root: a zero gradient gets a finite derivative


def gradient_penalty(gradients, weight=10.0):
    """Implements Eq. (WGAN.7) of notebooks/06_wasserstein_and_conditional_gans.ipynb: λ (‖∇_x̂ f(x̂)‖₂ - 1)², the two-sided penalty.

    ``gradients``: ∇_x̂ f(x̂) per example, ``(batch, ...)``. The norm is
    √(Σ g² + 1e-12): the plain √ has an infinite derivative at 0, so a critic with a zero
    gradient somewhere would turn the penalty's own gradient into NaN.
    """
    squared_norm = _sum_over_examples(ops.square(ops.convert_to_tensor(gradients, dtype="float32")))
    return weight * ops.square(ops.sqrt(squared_norm + GRADIENT_NORM_EPSILON) - 1.0)


def auxiliary_class_loss(labels, class_logits):
    """Implements Eq. (CGAN.2) of notebooks/06_wasserstein_and_conditional_gans.ipynb: -log p_D(y | x), the auxiliary classifier's cross-entropy.

    ``labels``: integers ``(batch,)``; ``class_logits``: ``(batch, num_classes)``. Computed as
    logsumexp(l) - l_y, stable for any logits.
    """
    class_logits = ops.convert_to_tensor(class_logits, dtype="float32")
    labels = ops.cast(ops.reshape(labels, (-1,)), "int32")
    chosen = ops.sum(class_logits * ops.one_hot(labels, ops.shape(class_logits)[-1]), axis=-1)
    return ops.logsumexp(class_logits, axis=-1) - chosen


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


# --- diffusion (notebook 07) -----------------------------------------------------------------
def _per_example(values, like):
    """``(batch,)`` schedule values reshaped to broadcast over ``like``'s non-batch axes."""
    values = ops.convert_to_tensor(values, dtype="float32")
    return ops.reshape(values, (-1,) + (1,) * (len(like.shape) - 1))


def q_sample(clean, noise, alpha_bar):
    """Implements Eq. (DM.2) of notebooks/07_diffusion.ipynb: x_t = √ᾱ_t x_0 + √(1-ᾱ_t) ε, a draw from q(x_t | x_0)."""
    clean = ops.convert_to_tensor(clean, dtype="float32")
    alpha_bar = _per_example(alpha_bar, clean)
    return ops.sqrt(alpha_bar) * clean + ops.sqrt(1.0 - alpha_bar) * ops.convert_to_tensor(noise, dtype="float32")


def predicted_clean(noisy, predicted_noise, alpha_bar):
    """Implements Eq. (DM.3) of notebooks/07_diffusion.ipynb: x̂_0 = (x_t - √(1-ᾱ_t) ε̂) / √ᾱ_t, Eq. (DM.2) solved for x_0."""
    noisy = ops.convert_to_tensor(noisy, dtype="float32")
    alpha_bar = _per_example(alpha_bar, noisy)
    return (noisy - ops.sqrt(1.0 - alpha_bar) * ops.convert_to_tensor(predicted_noise, dtype="float32")) / ops.sqrt(alpha_bar)


def posterior_mean_variance(clean, noisy, alpha_bar, alpha_bar_prev):
    """Implements Eq. (DM.6) of notebooks/07_diffusion.ipynb: q(x_{t-1} | x_t, x_0) = N(μ̃_t, β̃_t I).

    μ̃_t = √ᾱ_{t-1} β_t/(1-ᾱ_t) x_0 + √α_t (1-ᾱ_{t-1})/(1-ᾱ_t) x_t and
    β̃_t = (1-ᾱ_{t-1})/(1-ᾱ_t) β_t, with α_t = ᾱ_t/ᾱ_{t-1} and β_t = 1 - α_t. Returns
    ``(mean, variance)``; the variance has shape ``(batch,)``.
    """
    clean = ops.convert_to_tensor(clean, dtype="float32")
    noisy = ops.convert_to_tensor(noisy, dtype="float32")
    alpha_bar = ops.convert_to_tensor(alpha_bar, dtype="float32")
    alpha_bar_prev = ops.convert_to_tensor(alpha_bar_prev, dtype="float32")
    alpha = alpha_bar / alpha_bar_prev
    beta = 1.0 - alpha
    clean_weight = _per_example(ops.sqrt(alpha_bar_prev) * beta / (1.0 - alpha_bar), clean)
    noisy_weight = _per_example(ops.sqrt(alpha) * (1.0 - alpha_bar_prev) / (1.0 - alpha_bar), clean)
    return clean_weight * clean + noisy_weight * noisy, (1.0 - alpha_bar_prev) / (1.0 - alpha_bar) * beta


def bound_weight(alpha_bar, alpha_bar_prev, variance):
    """Implements Eq. (DM.8) of notebooks/07_diffusion.ipynb: λ_t = β_t² / (2σ_t² α_t (1-ᾱ_t)), so L_{t-1} = λ_t ‖ε - ε̂‖² + const.

    ``variance`` is σ_t², the reverse step's fixed variance (β_t or β̃_t). The simplified loss
    (Eq. DM.9) drops this weight: it sets λ_t = 1 for every t.
    """
    alpha_bar = np.asarray(alpha_bar, dtype="float64")
    alpha = alpha_bar / np.asarray(alpha_bar_prev, dtype="float64")
    beta = 1.0 - alpha
    return beta**2 / (2.0 * np.asarray(variance, dtype="float64") * alpha * (1.0 - alpha_bar))


def noise_prediction_loss(noise, predicted_noise):
    """Implements Eq. (DM.9) of notebooks/07_diffusion.ipynb: L_simple = ‖ε - ε_θ(x_t, t)‖² / D, per example.

    The squared error is averaged over the D values of an image (a sum would only rescale the
    learning rate).
    """
    noise = ops.convert_to_tensor(noise, dtype="float32")
    squared = ops.square(noise - ops.convert_to_tensor(predicted_noise, dtype="float32"))
    return ops.mean(ops.reshape(squared, (ops.shape(squared)[0], -1)), axis=-1)


def min_snr_weight(alpha_bar, gamma=5.0):
    """Implements Eq. (DM.10) of notebooks/07_diffusion.ipynb: w_t = min(SNR_t, γ) / SNR_t with SNR_t = ᾱ_t/(1-ᾱ_t) (Hang et al. 2023).

    A weight on Eq. (DM.9)'s per-timestep error: 1 at the noisy steps (SNR ≤ γ), γ/SNR at the
    nearly clean ones, whose ε is hard to predict and matters little to the samples.
    """
    alpha_bar = ops.convert_to_tensor(alpha_bar, dtype="float32")
    snr = alpha_bar / (1.0 - alpha_bar)
    return ops.minimum(snr, gamma) / snr


def velocity_target(clean, noise, alpha_bar):
    """Implements Eq. (DM.15) of notebooks/07_diffusion.ipynb: v = √ᾱ_t ε - √(1-ᾱ_t) x_0, the velocity a v-prediction network regresses on (Salimans & Ho 2022)."""
    clean = ops.convert_to_tensor(clean, dtype="float32")
    alpha_bar = _per_example(alpha_bar, clean)
    return ops.sqrt(alpha_bar) * ops.convert_to_tensor(noise, dtype="float32") - ops.sqrt(1.0 - alpha_bar) * clean


def clean_and_noise_from_velocity(noisy, predicted_velocity, alpha_bar):
    """Implements Eq. (DM.16) of notebooks/07_diffusion.ipynb: x̂_0 = √ᾱ_t x_t - √(1-ᾱ_t) v̂ and ε̂ = √(1-ᾱ_t) x_t + √ᾱ_t v̂.

    A rotation of (x_t, v̂) by the angle of (√ᾱ_t, √(1-ᾱ_t)), so ‖x̂_0‖ never exceeds
    ‖x_t‖ + ‖v̂‖: unlike Eq. (DM.3), nothing is divided by √ᾱ_t. Returns ``(x̂_0, ε̂)``.
    """
    noisy = ops.convert_to_tensor(noisy, dtype="float32")
    velocity = ops.convert_to_tensor(predicted_velocity, dtype="float32")
    alpha_bar = _per_example(alpha_bar, noisy)
    signal, noise_scale = ops.sqrt(alpha_bar), ops.sqrt(1.0 - alpha_bar)
    return signal * noisy - noise_scale * velocity, noise_scale * noisy + signal * velocity


def min_snr_velocity_weight(alpha_bar, gamma=5.0):
    """Implements Eq. (DM.17) of notebooks/07_diffusion.ipynb: w_t = min(1 + SNR_t, γ) / (1 + SNR_t), the weight on ‖v - v̂‖².

    ‖v - v̂‖² = (1 + SNR_t) ‖x_0 - x̂_0‖², so the weighted loss is min(1 + SNR_t, γ) ‖x_0 - x̂_0‖²:
    every noise level's x̂_0 error counts at least once (Eq. DM.10's weight makes the noisiest
    ones count SNR_t ≈ 0 times), and the nearly clean ones at most γ times.
    """
    alpha_bar = ops.convert_to_tensor(alpha_bar, dtype="float32")
    one_plus_snr = 1.0 / (1.0 - alpha_bar)
    return ops.minimum(one_plus_snr, gamma) / one_plus_snr


def score_from_noise(predicted_noise, alpha_bar):
    """Implements Eq. (DM.11) of notebooks/07_diffusion.ipynb: ∇_x log p_t(x) ≈ -ε_θ(x, t) / √(1-ᾱ_t)."""
    predicted_noise = ops.convert_to_tensor(predicted_noise, dtype="float32")
    return -predicted_noise / ops.sqrt(1.0 - _per_example(alpha_bar, predicted_noise))


# --- autoregressive text (notebook 08) ---------------------------------------------------------
# Targets are character ids, shape (batch, length); logits are unnormalised log-probabilities over
# the V characters of the vocabulary, shape (batch, length, V). Cross-entropies are in nats.


def char_cross_entropy(targets, logits):
    """Implements Eq. (AR.2) of notebooks/08_autoregressive_text.ipynb: per sequence, the mean over positions of -log softmax(logits)[target], in nats.

    Teacher forcing: position t's logits predict ``targets[:, t]``, the character after the
    inputs up to t. The result has shape ``(batch,)``; its mean over a batch is the nats per
    character that maximum likelihood minimises.
    """
    targets = ops.cast(ops.convert_to_tensor(targets), "int32")
    logits = ops.convert_to_tensor(logits, dtype="float32")
    log_probs = ops.log_softmax(logits, axis=-1)
    chosen = ops.take_along_axis(log_probs, ops.expand_dims(targets, -1), axis=-1)[..., 0]
    return -ops.mean(chosen, axis=-1)


def bits_per_char(nats):
    """Implements Eq. (AR.3) of notebooks/08_autoregressive_text.ipynb: bits/char = nats/char / ln 2."""
    return nats / math.log(2.0)


def perplexity(nats):
    """Implements Eq. (AR.3) of notebooks/08_autoregressive_text.ipynb: perplexity = exp(nats/char)."""
    if isinstance(nats, (int, float, np.floating, np.ndarray)):
        return np.exp(nats)
    return ops.exp(nats)
