"""Diffusion samplers (notebook 07): the DDPM and DDIM updates, guidance, and the sampling loop.

The update rules are pure functions of tensors, one per equation; :func:`sample` runs the
reverse chain with any noise predictor ``predict_noise(x, i) -> ε̂`` (a trained network, or
:func:`gaussian_mixture_noise`'s exact one for data whose optimum is known in closed form).
Timesteps use the code index ``i = 0 … T-1`` (the notebook's t = i + 1); ``alpha_bars[i]`` is
ᾱ_t and ᾱ_0 = 1 (see ``genai_tf.losses``).
"""

from __future__ import annotations

import numpy as np
from keras import ops

from genai_tf import losses


def ddpm_step(noisy, predicted_noise, alpha_bar, alpha_bar_prev, variance, noise):
    """Implements Eq. (DM.11) of notebooks/07_diffusion.ipynb: x_{t-1} = (x_t - β_t/√(1-ᾱ_t) ε̂)/√α_t + σ_t z.

    ``variance`` is σ_t² (β_t, or the posterior's β̃_t); ``noise`` is z ~ N(0, I). The schedule
    values are scalars or ``(batch,)``.
    """
    noisy = ops.convert_to_tensor(noisy, dtype="float32")
    alpha_bar = ops.convert_to_tensor(alpha_bar, dtype="float32")
    alpha = alpha_bar / ops.convert_to_tensor(alpha_bar_prev, dtype="float32")
    mean = (noisy - losses._per_example((1.0 - alpha) / ops.sqrt(1.0 - alpha_bar), noisy)
            * ops.convert_to_tensor(predicted_noise, dtype="float32")) / losses._per_example(ops.sqrt(alpha), noisy)
    return mean + losses._per_example(ops.sqrt(ops.convert_to_tensor(variance, dtype="float32")), noisy) * noise


def ddim_sigma(alpha_bar, alpha_bar_prev, eta):
    """σ of Eq. (DM.12): η √((1-ᾱ_{t'})/(1-ᾱ_t)) √(1-ᾱ_t/ᾱ_{t'}); η = 1 is the posterior's √β̃_t."""
    alpha_bar = ops.convert_to_tensor(alpha_bar, dtype="float32")
    alpha_bar_prev = ops.convert_to_tensor(alpha_bar_prev, dtype="float32")
    return eta * ops.sqrt((1.0 - alpha_bar_prev) / (1.0 - alpha_bar) * (1.0 - alpha_bar / alpha_bar_prev))


def ddim_step(noisy, predicted_noise, alpha_bar, alpha_bar_prev, eta, noise):
    """Implements Eq. (DM.12) of notebooks/07_diffusion.ipynb: x_{t'} = √ᾱ_{t'} x̂_0 + √(1-ᾱ_{t'}-σ²) ε̂ + σ z.

    From timestep t to an earlier t' (not necessarily t - 1), with x̂_0 from Eq. (DM.3) and σ
    from :func:`ddim_sigma`. ``eta = 0`` is deterministic (z is unused).
    """
    noisy = ops.convert_to_tensor(noisy, dtype="float32")
    predicted_noise = ops.convert_to_tensor(predicted_noise, dtype="float32")
    clean = losses.predicted_clean(noisy, predicted_noise, alpha_bar)
    sigma = ddim_sigma(alpha_bar, alpha_bar_prev, eta)
    alpha_bar_prev = ops.convert_to_tensor(alpha_bar_prev, dtype="float32")
    direction = ops.sqrt(ops.maximum(1.0 - alpha_bar_prev - ops.square(sigma), 0.0))
    return (losses._per_example(ops.sqrt(alpha_bar_prev), noisy) * clean
            + losses._per_example(direction, noisy) * predicted_noise
            + losses._per_example(sigma, noisy) * noise)


def guided_noise(conditional_noise, unconditional_noise, guidance):
    """Implements Eq. (DM.13) of notebooks/07_diffusion.ipynb: ε̃ = (1 + w) ε(x, y) - w ε(x, ∅), classifier-free guidance."""
    conditional_noise = ops.convert_to_tensor(conditional_noise, dtype="float32")
    return (1.0 + guidance) * conditional_noise - guidance * ops.convert_to_tensor(unconditional_noise, dtype="float32")


def timestep_sequence(timesteps, steps):
    """The ``steps`` code indices a sampler visits, from T-1 down to 0, evenly spaced (DDIM's τ).

    ``steps = timesteps`` is the full chain T-1, …, 0.
    """
    timesteps, steps = int(timesteps), int(steps)
    if not 1 <= steps <= timesteps:
        raise ValueError(f"steps={steps}: a sampler takes between 1 and the training chain's {timesteps} steps.")
    return np.round(np.linspace(timesteps - 1, 0, steps)).astype("int64")  # strictly decreasing: steps ≤ T


def sample(predict_noise, shape, alpha_bars, steps, eta=0.0, seed=0, clip=None, trajectory=False):
    """Run the reverse chain from x_T ~ N(0, I) with ``steps`` DDIM updates (Eq. DM.12).

    ``predict_noise(x, i)`` returns ε̂ for a batch ``x`` at code index ``i`` (an int). With
    ``eta = 1`` and ``steps = T`` this is DDPM's ancestral sampler with σ_t² = β̃_t. ``clip``
    (e.g. ``(-1, 1)``) clips x̂_0 to the data's range before each update. Returns x_0 as a
    numpy array, or ``(x_0, [x̂_0 at each step])`` with ``trajectory=True``.
    """
    import keras

    alpha_bars = np.asarray(alpha_bars, dtype="float64")
    generator = keras.random.SeedGenerator(seed)
    x = keras.random.normal(tuple(shape), seed=generator)
    sequence = timestep_sequence(len(alpha_bars), steps)
    predictions = []
    for position, index in enumerate(sequence):
        alpha_bar = float(alpha_bars[index])
        alpha_bar_prev = float(alpha_bars[sequence[position + 1]]) if position + 1 < len(sequence) else 1.0
        epsilon = ops.convert_to_tensor(predict_noise(x, int(index)), dtype="float32")
        if clip is not None or trajectory:
            clean = losses.predicted_clean(x, epsilon, alpha_bar)
            if clip is not None:
                clean = ops.clip(clean, *clip)
                epsilon = (x - np.sqrt(alpha_bar) * clean) / np.sqrt(1.0 - alpha_bar)
            predictions.append(ops.convert_to_numpy(clean))
        x = ddim_step(x, epsilon, alpha_bar, alpha_bar_prev, eta, keras.random.normal(tuple(shape), seed=generator))
    result = ops.convert_to_numpy(x)
    return (result, predictions) if trajectory else result


def gaussian_mixture_noise(means, stds, weights, alpha_bars):
    """The exact noise predictor E[ε | x_t] for data from a mixture of isotropic Gaussians.

    Data x_0 ~ Σ_k π_k N(μ_k, s_k² I) makes x_t ~ Σ_k π_k N(√ᾱ_t μ_k, v_k I) with
    v_k = ᾱ_t s_k² + 1 - ᾱ_t, so E[ε | x_t] = √(1-ᾱ_t) Σ_k r_k(x_t) (x_t - √ᾱ_t μ_k) / v_k, with
    r_k the components' posterior weights: -√(1-ᾱ_t) ∇ log p_t, Eq. (DM.10) read backwards.
    ``means`` is ``(K, d)``; returns ``predict_noise(x, i)`` for :func:`sample` (x of shape
    ``(batch, d)``), in float64 numpy.
    """
    means = np.asarray(means, dtype="float64")
    stds = np.asarray(stds, dtype="float64")
    log_weights = np.log(np.asarray(weights, dtype="float64") / np.sum(weights))
    alpha_bars = np.asarray(alpha_bars, dtype="float64")

    def predict_noise(x, index):
        x = np.asarray(x, dtype="float64")
        alpha_bar = alpha_bars[index]
        variances = alpha_bar * stds**2 + 1.0 - alpha_bar  # (K,)
        offsets = x[:, None, :] - np.sqrt(alpha_bar) * means[None]  # (batch, K, d)
        log_density = log_weights - 0.5 * np.sum(offsets**2, -1) / variances - 0.5 * means.shape[1] * np.log(variances)
        responsibilities = np.exp(log_density - log_density.max(-1, keepdims=True))
        responsibilities /= responsibilities.sum(-1, keepdims=True)
        return np.sqrt(1.0 - alpha_bar) * np.sum(responsibilities[..., None] * offsets / variances[None, :, None], 1)

    return predict_noise
