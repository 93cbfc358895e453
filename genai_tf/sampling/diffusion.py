"""Diffusion sampling (notebook 07): the DDPM and DDIM updates, guidance, and the one reverse loop.

The update rules are pure functions of tensors, one per equation. :func:`reverse_loop` is the
only loop over the reverse chain: every diffusion sampler runs through it (:func:`sample` with
any noise predictor ``predict_noise(x, i) -> ε̂``, e.g. :func:`gaussian_mixture_noise`'s exact
one for data whose optimum is known in closed form; the point and image models' compiled
steps). Its step hook sees each update (:class:`ReverseStep`) and may replace the state: what
inpainting (pinning known pixels) builds on. Timesteps use the code index ``i = 0 … T-1`` (the
notebook's t = i + 1); ``alpha_bars[i]`` is ᾱ_t and ᾱ_0 = 1 (see
``genai_tf.sampling.schedules``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
from keras import ops

from genai_tf import losses


def ddpm_step(noisy, predicted_noise, alpha_bar, alpha_bar_prev, variance, noise):
    """Implements Eq. (DM.12) of notebooks/07_diffusion.ipynb: x_{t-1} = (x_t - β_t/√(1-ᾱ_t) ε̂)/√α_t + σ_t z.

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
    """Implements σ of Eq. (DM.13) of notebooks/07_diffusion.ipynb: σ = η √((1-ᾱ_{t'})/(1-ᾱ_t)) √(1-ᾱ_t/ᾱ_{t'}).

    η = 1 gives the posterior's √β̃_t, η = 0 a deterministic step.
    """
    alpha_bar = ops.convert_to_tensor(alpha_bar, dtype="float32")
    alpha_bar_prev = ops.convert_to_tensor(alpha_bar_prev, dtype="float32")
    return eta * ops.sqrt((1.0 - alpha_bar_prev) / (1.0 - alpha_bar) * (1.0 - alpha_bar / alpha_bar_prev))


def ddim_step(noisy, predicted_noise, alpha_bar, alpha_bar_prev, eta, noise):
    """Implements Eq. (DM.13) of notebooks/07_diffusion.ipynb: x_{t'} = √ᾱ_{t'} x̂_0 + √(1-ᾱ_{t'}-σ²) ε̂ + σ z.

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
    """Implements Eq. (DM.14) of notebooks/07_diffusion.ipynb: ε̃ = (1 + w) ε(x, y) - w ε(x, ∅), classifier-free guidance."""
    conditional_noise = ops.convert_to_tensor(conditional_noise, dtype="float32")
    return (1.0 + guidance) * conditional_noise - guidance * ops.convert_to_tensor(unconditional_noise, dtype="float32")


def timestep_sequence(timesteps, steps):
    """The ``steps`` code indices a sampler visits, from T-1 down, evenly spaced in t (DDIM's τ).

    The spacing is "trailing" (Lin et al. 2024): t = T, T - T/steps, …, T/steps, so the last
    update starts from t = T/steps and lands on x_0. (Spacing down to t = 1 instead spends one of
    the steps on an image that is already clean: at 5 steps only four would denoise.)
    ``steps = timesteps`` is the full chain T-1, …, 0.
    """
    timesteps, steps = int(timesteps), int(steps)
    if not 1 <= steps <= timesteps:
        raise ValueError(f"steps={steps}: a sampler takes between 1 and the training chain's {timesteps} steps.")
    # strictly decreasing (steps ≤ T), from T-1 to round(T/steps) - 1
    return (np.round(timesteps - np.arange(steps) * (timesteps / steps)) - 1).astype("int64")


def log_snr(alpha_bar):
    """Implements λ_t of Eq. (DM.18) of notebooks/07_diffusion.ipynb: λ_t = ½ log(ᾱ_t / (1-ᾱ_t)), the half log-SNR."""
    alpha_bar = np.asarray(alpha_bar, dtype="float64")
    return 0.5 * np.log(alpha_bar / (1.0 - alpha_bar))


def dpm_solver_2m_step(noisy, clean, previous_clean, alpha_bar, alpha_bar_prev, alpha_bar_before=None):
    """Implements Eq. (DM.18) of notebooks/07_diffusion.ipynb: x_{t'} = (σ_{t'}/σ_t) x_t + √ᾱ_{t'} (1 - e^{-h}) D, DPM-Solver++(2M).

    With h = λ_{t'} - λ_t (:func:`log_snr`) and r = (λ_t - λ_{before}) / h, the slope of x̂_0 in λ
    is taken from the last two predictions: D = (1 + 1/(2r)) x̂_0 - x̂_0^{prev} / (2r) (Lu et al.
    2022). Without ``previous_clean`` (the first update), D = x̂_0 and this is DDIM's η = 0
    step (Eq. DM.13); the last update (ᾱ_{t'} = 1) returns x̂_0. ``alpha_bar_before`` is the noise
    level at which ``previous_clean`` was predicted. Scalars for the schedule values.
    """
    noisy = ops.convert_to_tensor(noisy, dtype="float32")
    clean = ops.convert_to_tensor(clean, dtype="float32")
    if alpha_bar_prev >= 1.0:
        return clean
    h = float(log_snr(alpha_bar_prev) - log_snr(alpha_bar))
    slope = clean
    if previous_clean is not None:
        half_over_r = 0.5 * h / float(log_snr(alpha_bar) - log_snr(alpha_bar_before))
        slope = (1.0 + half_over_r) * clean - half_over_r * ops.convert_to_tensor(previous_clean, dtype="float32")
    scale = float(np.sqrt((1.0 - alpha_bar_prev) / (1.0 - alpha_bar)))
    return scale * noisy + float(np.sqrt(alpha_bar_prev) * -np.expm1(-h)) * slope


SOLVERS = ("ddim", "dpm++2m")


def check_solver(solver, eta):
    """``solver`` if it is one of :data:`SOLVERS` and fits ``eta``, else a ValueError saying what to pass."""
    if solver not in SOLVERS:
        raise ValueError(f"solver={solver!r}; choose one of {SOLVERS}.")
    if solver == "dpm++2m" and eta != 0:
        raise ValueError(f"solver='dpm++2m' solves the deterministic (η = 0) chain; eta={eta} needs solver='ddim'.")
    return solver


def second_order(update):
    """``update`` (one step that returns ``(x_{t'}, x̂_0)``) turned into the DPM-Solver++(2M) step of
    Eq. (DM.18): it keeps ``update``'s x̂_0 and the previous one, and ignores its x_{t'}. One per chain."""
    memory = {"clean": None, "alpha_bar": None}

    def step(x, index, alpha_bar, alpha_bar_prev, noise):
        _, clean = update(x, index, alpha_bar, alpha_bar_prev, noise)
        x = dpm_solver_2m_step(x, clean, memory["clean"], alpha_bar, alpha_bar_prev, memory["alpha_bar"])
        memory.update(clean=clean, alpha_bar=alpha_bar)
        return x, clean

    return step


def denoising_update(noisy, predicted_noise, alpha_bar, alpha_bar_prev, eta, noise, clip=None):
    """Implements Eq. (DM.3), then Eq. (DM.13), of notebooks/07_diffusion.ipynb: one reverse update, ε̂ → x̂_0 → x_{t'}.

    ``clip=(low, high)`` (the data's range) clips x̂_0 and re-derives ε̂ from it before the
    update; ``None`` leaves ε̂ as predicted. Returns ``(x_{t'}, x̂_0)``.
    """
    noisy = ops.convert_to_tensor(noisy, dtype="float32")
    predicted_noise = ops.convert_to_tensor(predicted_noise, dtype="float32")
    clean = losses.predicted_clean(noisy, predicted_noise, alpha_bar)
    if clip is not None:
        clean = ops.clip(clean, *clip)
        alpha_bar = ops.convert_to_tensor(alpha_bar, dtype="float32")
        predicted_noise = (noisy - ops.sqrt(alpha_bar) * clean) / ops.sqrt(1.0 - alpha_bar)
    return ddim_step(noisy, predicted_noise, alpha_bar, alpha_bar_prev, eta, noise), clean


@dataclasses.dataclass(frozen=True)
class ReverseStep:
    """What a step hook of :func:`reverse_loop` sees, once per update, after the update."""

    position: int           # 0 … steps - 1: the update's place in the loop
    index: int              # the code index i of the timestep t updated from (t = i + 1)
    alpha_bar: float        # ᾱ_t, the noise level before the update
    alpha_bar_prev: float   # ᾱ_{t'}, the noise level of ``x`` (1.0 after the last update: x is x_0)
    x: Any                  # the new state x_{t'}, ``(batch, ...)``, in the sampler's own scale
    clean: Any              # x̂_0 that this update used (clipped when the sampler clips)
    rows: slice             # which rows of the whole request this batch is


StepHook = Callable[[ReverseStep], Any]


def reverse_loop(update, x, alpha_bars, steps, draw_noise, hook: StepHook | None = None, trajectory=False,
                 rows=None, solver="ddim"):
    """Run the reverse chain from ``x`` (x_T) over ``steps`` timesteps: the one loop of every sampler.

    Args:
        update: ``update(x, i, ᾱ_t, ᾱ_{t'}, z) -> (x_{t'}, x̂_0)``, one step from code index
            ``i`` (an int) to the next visited one (:func:`denoising_update` with a model's ε̂).
        alpha_bars: ᾱ_t of the training chain, ``(T,)``; the steps visit
            :func:`timestep_sequence` ``(T, steps)`` and end at ᾱ = 1.
        draw_noise: ``draw_noise() -> z``, called once per step before the update.
        hook: called after every update with a :class:`ReverseStep`; if it returns a tensor,
            that replaces the state (e.g. known pixels re-noised to ``alpha_bar_prev``).
        trajectory: also return x̂_0 of every step (numpy, before the hook).
        rows: the rows of the whole request that ``x`` holds, for the hook (default: all).
        solver: "ddim" takes ``update``'s x_{t'}; "dpm++2m" only its x̂_0, combined by
            :func:`second_order` (Eq. DM.18; for a deterministic ``update``).

    Returns ``(x_0, [x̂_0 per step] or None)``.
    """
    alpha_bars = np.asarray(alpha_bars, dtype="float64")
    if check_solver(solver, 0.0) == "dpm++2m":
        update = second_order(update)
    sequence = timestep_sequence(len(alpha_bars), steps)
    levels = [float(alpha_bars[i]) for i in sequence[1:]] + [1.0]
    rows = slice(0, int(x.shape[0])) if rows is None else rows
    path = []
    for position, (index, alpha_bar_prev) in enumerate(zip(sequence, levels, strict=True)):
        alpha_bar = float(alpha_bars[index])
        x, clean = update(x, int(index), alpha_bar, alpha_bar_prev, draw_noise())
        if trajectory:
            path.append(ops.convert_to_numpy(clean))
        if hook is not None:
            replaced = hook(ReverseStep(position, int(index), alpha_bar, alpha_bar_prev, x, clean, rows))
            if replaced is not None:
                x = ops.convert_to_tensor(replaced, dtype="float32")
    return x, (path if trajectory else None)


def sample(predict_noise, shape, alpha_bars, steps, eta=0.0, seed=0, clip=None, trajectory=False, hook=None,
           solver="ddim"):
    """Run the reverse chain from x_T ~ N(0, I) with ``steps`` DDIM updates (Eq. DM.13), or
    DPM-Solver++(2M) ones (Eq. DM.18) with ``solver="dpm++2m"`` and ``eta = 0``.

    ``predict_noise(x, i)`` returns ε̂ for a batch ``x`` at code index ``i`` (an int). With
    ``eta = 1`` and ``steps = T`` this is DDPM's ancestral sampler with σ_t² = β̃_t. ``clip``
    (e.g. ``(-1, 1)``) clips x̂_0 to the data's range before each update; ``hook`` is
    :func:`reverse_loop`'s step hook. Draws x_T, then one z per step, from ``seed``. Returns x_0
    as a numpy array, or ``(x_0, [x̂_0 at each step])`` with ``trajectory=True``.
    """
    check_solver(solver, eta)
    shape = tuple(shape)
    generator = keras.random.SeedGenerator(seed)
    x = keras.random.normal(shape, seed=generator)

    def update(x, index, alpha_bar, alpha_bar_prev, noise):
        return denoising_update(x, predict_noise(x, index), alpha_bar, alpha_bar_prev, eta, noise, clip)

    x, path = reverse_loop(update, x, alpha_bars, steps, lambda: keras.random.normal(shape, seed=generator),
                           hook=hook, trajectory=trajectory, solver=solver)
    result = ops.convert_to_numpy(x)
    return (result, path) if trajectory else result


def gaussian_mixture_noise(means, stds, weights, alpha_bars):
    """The exact noise predictor E[ε | x_t] for data from a mixture of isotropic Gaussians.

    Data x_0 ~ Σ_k π_k N(μ_k, s_k² I) makes x_t ~ Σ_k π_k N(√ᾱ_t μ_k, v_k I) with
    v_k = ᾱ_t s_k² + 1 - ᾱ_t, so E[ε | x_t] = √(1-ᾱ_t) Σ_k r_k(x_t) (x_t - √ᾱ_t μ_k) / v_k, with
    r_k the components' posterior weights: -√(1-ᾱ_t) ∇ log p_t, Eq. (DM.11) read backwards.
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
