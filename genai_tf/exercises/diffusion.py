"""Self-checks of notebook 07, diffusion: the forward process from β, x̂₀, guidance, the cosine
schedule, the DDIM step and a whole DDIM sampling loop.

Each check returns a :class:`~genai_tf.exercises.engine.CheckResult`, truthy only on a pass.
"""

from __future__ import annotations

import math

import numpy as np

from genai_tf import sampling
from genai_tf.exercises.engine import CheckResult, run_cases, seeded_rng

_IMAGE_SHAPED = ("x_t has the image's shape: reshape the (batch,) schedule values to (batch, 1, 1, 1) "
                 "so they broadcast over each image, not along its last axis")


def _diffusion_images(rng, batch=3):
    return (rng.uniform(-1.0, 1.0, (batch, 4, 5, 1)).astype("float32"),
            rng.standard_normal((batch, 4, 5, 1)).astype("float32"))


def q_sample_from_betas(function) -> CheckResult:
    """Check ``function(clean, noise, betas, index) -> x_t``, Eq. (DM.2) with ᾱ_t = Π_{s≤t} (1 - β_s).

    ``betas`` is ``(T,)``; ``index`` holds code indices ``(batch,)``, where index i is the
    notebook's t = i + 1, so ᾱ at index i multiplies (1 - β) over indices 0 … i. The schedules
    are steep enough that the one-step formula or an off-by-one product is far off.
    """
    rng = seeded_rng(14)
    cases = []
    for betas, index in ((np.linspace(0.05, 0.3, 8), np.array([0, 3, 7])),
                         (np.linspace(1e-4, 0.02, 1000), np.array([999, 10, 500])),
                         (np.full(5, 0.2), np.array([4, 4, 1, 0]))):
        clean, noise = _diffusion_images(rng, batch=len(index))
        cases.append((clean, noise, betas, index))
    expected = []
    for clean, noise, betas, index in cases:
        alpha_bar = np.cumprod(1.0 - betas)[index].reshape(-1, 1, 1, 1)
        expected.append(np.sqrt(alpha_bar) * clean + np.sqrt(1.0 - alpha_bar) * noise)
    return run_cases("q_sample_from_betas", function, cases, expected,
                     "x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε with ᾱ at code index i = Π_{s=0}^{i} (1 − β_s) "
                     "(np.cumprod(1 − betas)[index]): the product of every step so far, not one step's β, "
                     "and the noise scale is the square root of 1 − ᾱ.", shape_hint=_IMAGE_SHAPED)


def predicted_clean(function) -> CheckResult:
    """Check ``function(noisy, predicted_noise, alpha_bar (batch,)) -> x̂_0``, Eq. (DM.3)."""
    rng = seeded_rng(15)
    cases = []
    for alpha_bar in (np.array([0.99, 0.5, 0.02]), np.array([0.9999, 0.3, 0.001, 0.7])):
        clean, noise = _diffusion_images(rng, batch=len(alpha_bar))
        shaped = alpha_bar.reshape(-1, 1, 1, 1)
        noisy = (np.sqrt(shaped) * clean + np.sqrt(1.0 - shaped) * noise).astype("float32")
        cases.append((noisy, rng.standard_normal(noisy.shape).astype("float32"), alpha_bar))
    expected = [(noisy - np.sqrt(1.0 - a.reshape(-1, 1, 1, 1)) * eps) / np.sqrt(a.reshape(-1, 1, 1, 1))
                for noisy, eps, a in cases]
    return run_cases("predicted_clean", function, cases, expected,
                     "solve x_t = √ᾱ x_0 + √(1 − ᾱ) ε for x_0: subtract √(1 − ᾱ) ε̂ (a square root, and a "
                     "minus), then divide by √ᾱ (not by ᾱ).", shape_hint=_IMAGE_SHAPED)


def guided_noise(function) -> CheckResult:
    """Check ``function(conditional, unconditional, guidance) -> ε̃``, Eq. (DM.14): (1 + w) ε(x, y) - w ε(x, ∅)."""
    rng = seeded_rng(16)
    conditional, unconditional = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    cases = [(conditional, unconditional, w) for w in (0.0, 1.0, 3.0)]
    expected = [(1.0 + w) * c - w * u for c, u, w in cases]
    return run_cases("guided_noise", function, cases, expected,
                     "ε̃ = (1 + w) ε(x, y) − w ε(x, ∅): w = 0 is the plain conditional prediction, and larger "
                     "w moves *away* from the unconditional one. (Written with a scale s = 1 + w: "
                     "ε(x, ∅) + s (ε(x, y) − ε(x, ∅)).)", shape_hint="ε̃ has the shape of ε")


def cosine_alpha_bars(function) -> CheckResult:
    """Check ``function(timesteps, offset) -> ᾱ (T,)``, Eq. (DM.5), for t = 1 … T.

    ᾱ_t = f(t)/f(0) with f(t) = cos²((t/T + s)/(1 + s) · π/2), and each β_t = 1 - ᾱ_t/ᾱ_{t-1}
    clipped to 0.999 (so ᾱ_T > 0). Compared with a relative tolerance only, so the clipped
    last value (about 10⁻⁵ for T = 10) counts.
    """
    cases = [(10, 0.008), (1000, 0.008), (50, 0.05)]
    expected = []
    for timesteps, offset in cases:
        f = np.cos((np.arange(timesteps + 1) / timesteps + offset) / (1 + offset) * np.pi / 2) ** 2
        expected.append(np.cumprod(1.0 - np.minimum(1.0 - f[1:] / f[:-1], 0.999)))
    return run_cases("cosine_alpha_bars", function, cases, expected,
                     "f(t) = cos²((t/T + s)/(1 + s) · π/2) for t = 0 … T; return f(t)/f(0) for t = 1 … T, "
                     "but build it from β_t = min(1 − f(t)/f(t − 1), 0.999), so the last ᾱ is not ≈ 0.",
                     rtol=1e-6, atol=1e-12, shape_hint="one ᾱ per timestep t = 1 … T, not t = 0 … T")


def ddim_step(function) -> CheckResult:
    """Check ``function(noisy, predicted_noise, alpha_bar, alpha_bar_prev, eta, noise) -> x_{t'}``, Eq. (DM.13).

    Scalars ᾱ_t, ᾱ_{t'}; η = 0 (deterministic), 0.5 and 1 (σ² = β̃_t, DDPM's posterior variance
    when t' = t - 1), including a jump over many steps.
    """
    rng = seeded_rng(17)
    cases = []
    for alpha_bar, alpha_bar_prev, eta in ((0.3, 0.5, 0.0), (0.3, 0.5, 1.0), (0.05, 0.9, 0.5), (0.6, 1.0, 1.0)):
        noisy, noise = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
        cases.append((noisy, rng.standard_normal((2, 3, 4)), alpha_bar, alpha_bar_prev, eta, noise))
    expected = []
    for noisy, epsilon, alpha_bar, alpha_bar_prev, eta, noise in cases:
        clean = (noisy - math.sqrt(1 - alpha_bar) * epsilon) / math.sqrt(alpha_bar)
        variance = eta**2 * (1 - alpha_bar_prev) / (1 - alpha_bar) * (1 - alpha_bar / alpha_bar_prev)
        expected.append(math.sqrt(alpha_bar_prev) * clean + math.sqrt(1 - alpha_bar_prev - variance) * epsilon
                        + math.sqrt(variance) * noise)
    return run_cases("ddim_step", function, cases, expected,
                     "x̂_0 = (x_t − √(1 − ᾱ_t) ε̂)/√ᾱ_t; σ = η √((1 − ᾱ_t')/(1 − ᾱ_t)) √(1 − ᾱ_t/ᾱ_t'); "
                     "x_t' = √ᾱ_t' x̂_0 + √(1 − ᾱ_t' − σ²) ε̂ + σ z. The σ² taken out of the ε̂ term is what "
                     "the fresh noise σ z puts back.", shape_hint="x_t' has the shape of x_t")


def _sampler_cases():
    """The cases of :func:`ddim_sampler`: ``(predict_noise, x_T, alpha_bars, steps, eta, noises, clip)``."""
    rng = seeded_rng(18)
    means, stds, weights = np.array([[-1.0, -0.5], [1.0, -0.5], [0.0, 1.0]]), np.array([0.5, 0.55, 0.45]), [3, 4, 3]
    cases = []
    for schedule, timesteps, steps, eta, clip, bias in (("linear", 40, 40, 0.0, None, 0.0),   # the full chain
                                                        ("cosine", 200, 10, 0.0, (-1.0, 1.0), 0.3),
                                                        ("linear", 100, 7, 1.0, None, 0.0),
                                                        ("cosine", 100, 13, 0.5, (-1.5, 1.5), 0.2)):
        alpha_bars = sampling.schedules.noise_schedule(schedule, timesteps)
        exact = sampling.diffusion.gaussian_mixture_noise(means, stds, weights, alpha_bars)
        # an imperfect predictor (the exact one, shifted) makes x̂_0 leave the clip range near t = T
        predict = exact if not bias else (lambda x, i, exact=exact, bias=bias: exact(x, i) + bias)
        x, noises = rng.standard_normal((6, 2)), rng.standard_normal((steps, 6, 2))
        cases.append((predict, x, alpha_bars, steps, eta, noises, clip))
    return cases


def _package_sampler(predict, x, alpha_bars, steps, eta, noises, clip):
    """The reference: the package's own loop, ``sampling.diffusion.reverse_loop``, with its update."""
    draws = iter(np.asarray(noises, "float32"))

    def update(x, index, alpha_bar, alpha_bar_prev, noise):
        return sampling.diffusion.denoising_update(x, predict(np.asarray(x, "float64"), index), alpha_bar,
                                                   alpha_bar_prev, eta, noise, clip)

    final, _ = sampling.diffusion.reverse_loop(update, np.asarray(x, "float32"), alpha_bars, steps, lambda: next(draws))
    return np.asarray(final, "float64")


def ddim_sampler(function) -> CheckResult:
    """Check ``function(predict_noise, x_T, alpha_bars, steps, eta, noises, clip) -> x_0``: a whole DDIM
    sampling loop (Eqs. DM.3 and DM.13) against the package's, ``sampling.diffusion.reverse_loop``.

    The loop visits ``sampling.diffusion.timestep_sequence(T, steps)`` (code indices, T-1 down to T/steps - 1);
    ᾱ_{t'} is the *next visited* level, and 1 after the last update; the k-th update uses
    ``noises[k]``; with ``clip = (low, high)`` x̂_0 is clipped and ε̂ re-derived from it. Cases: the
    full chain at η = 0; 10 of 200 cosine steps with an imperfect predictor and a clip; η = 1 and
    η = 0.5 over subsequences. The exact predictor of a 2-D Gaussian mixture (shifted by a constant
    where x̂_0 must be clipped).
    """
    cases = _sampler_cases()
    with np.errstate(all="ignore"):
        expected = [_package_sampler(*case) for case in cases]
    return run_cases("ddim_sampler", function, cases, expected,
                     "for each code index i of timestep_sequence(T, steps): ε̂ = predict_noise(x, i); "
                     "x̂_0 = (x − √(1 − ᾱ_t) ε̂)/√ᾱ_t with ᾱ_t = alpha_bars[i]; with a clip, x̂_0 = clip(x̂_0) and "
                     "ε̂ = (x − √ᾱ_t x̂_0)/√(1 − ᾱ_t); ᾱ_t' = alpha_bars[next visited index] (not i − 1), 1 after the "
                     "last step; σ = η √((1 − ᾱ_t')/(1 − ᾱ_t)) √(1 − ᾱ_t/ᾱ_t') (0 at η = 0); "
                     "x = √ᾱ_t' x̂_0 + √(1 − ᾱ_t' − σ²) ε̂ + σ noises[k] at the k-th update.",
                     rtol=1e-3, atol=1e-3, shape_hint="x_0 has the shape of x_T")
