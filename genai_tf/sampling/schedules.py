"""The noise schedules of diffusion (notebook 07): ᾱ_t and β_t for t = 1 … T.

Code index ``i = 0 … T-1`` is the notebook's timestep ``t = i + 1``; ``alpha_bars[i]`` is ᾱ_t,
and ᾱ_0 = 1. Every function returns float64 numpy arrays of shape ``(T,)``.
"""

from __future__ import annotations

import numpy as np


def linear_beta_schedule(timesteps, beta_start=1e-4, beta_end=0.02):
    """Implements Eq. (DM.4) of notebooks/07_diffusion.ipynb: β_t rising linearly from β_1 to β_T (Ho et al. 2020).

    Returns float64 ``(T,)``; the defaults are the DDPM paper's for T = 1000.
    """
    if int(timesteps) < 1:
        raise ValueError(f"timesteps={timesteps}: a diffusion chain needs at least one step.")
    return np.linspace(beta_start, beta_end, int(timesteps), dtype="float64")


def cosine_alpha_bars(timesteps, offset=0.008, max_beta=0.999):
    """Implements Eq. (DM.5) of notebooks/07_diffusion.ipynb: ᾱ_t = f(t)/f(0), f(t) = cos²((t/T + s)/(1 + s) · π/2) (Nichol & Dhariwal 2021).

    Returns float64 ``(T,)`` for t = 1 … T. As in the paper, each β_t = 1 - ᾱ_t/ᾱ_{t-1} is
    clipped to ``max_beta`` so the last steps do not reach ᾱ_T = 0 exactly.
    """
    if int(timesteps) < 1:
        raise ValueError(f"timesteps={timesteps}: a diffusion chain needs at least one step.")
    steps = np.arange(int(timesteps) + 1, dtype="float64") / int(timesteps)
    f = np.cos((steps + offset) / (1.0 + offset) * np.pi / 2.0) ** 2
    betas = np.clip(1.0 - f[1:] / f[:-1], 0.0, max_beta)
    return alpha_bars_from_betas(betas)


def alpha_bars_from_betas(betas):
    """Implements the definition under Eq. (DM.2) of notebooks/07_diffusion.ipynb: ᾱ_t = Π_{s≤t} (1 - β_s)."""
    return np.cumprod(1.0 - np.asarray(betas, dtype="float64"))


def betas_from_alpha_bars(alpha_bars):
    """Implements Eq. (DM.2) of notebooks/07_diffusion.ipynb read backwards: β_t = 1 - ᾱ_t / ᾱ_{t-1}, with ᾱ_0 = 1."""
    alpha_bars = np.asarray(alpha_bars, dtype="float64")
    return 1.0 - alpha_bars / np.concatenate([[1.0], alpha_bars[:-1]])


def noise_schedule(name, timesteps):
    """Implements Eq. (DM.4) or Eq. (DM.5) of notebooks/07_diffusion.ipynb: ᾱ_t for t = 1 … T of the ``"linear"`` or ``"cosine"`` schedule."""
    if name == "linear":
        return alpha_bars_from_betas(linear_beta_schedule(timesteps))
    if name == "cosine":
        return cosine_alpha_bars(timesteps)
    raise ValueError(f"Unknown noise schedule {name!r}; use 'linear' or 'cosine'.")
