"""Self-checks of notebook 02, variational autoencoders: the KL term, the reparameterisation, the IWAE
bound, active units and β.

Each check returns a :class:`~genai_tf.exercises.engine.CheckResult`, truthy only on a pass.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from genai_tf.exercises.engine import CheckResult, run_cases, seeded_rng

# the notebook also calls checks.value_in_range
from genai_tf.exercises.engine import value_in_range as value_in_range


def gaussian_kl(function) -> CheckResult:
    """Check ``function(z_mean, z_log_var) -> (batch,)`` against KL(N(μ, σ²) ‖ N(0, I)), Eq. (VAE.4)."""
    rng = seeded_rng(1)
    cases = [
        (np.zeros((2, 3), "float32"), np.zeros((2, 3), "float32")),
        (rng.normal(size=(4, 5)).astype("float32"), rng.normal(size=(4, 5)).astype("float32")),
    ]
    expected = [0.5 * np.sum(m**2 + np.exp(v) - v - 1.0, axis=-1) for m, v in cases]
    return run_cases("gaussian_kl", function, cases, expected,
                     "½ Σ_j (μ_j² + exp(log σ_j²) − log σ_j² − 1), summed over the latent axis only.")


def reparameterize(function) -> CheckResult:
    """Check ``function(z_mean, z_log_var, epsilon) -> z`` is μ + σ·ε, Eq. (VAE.5)."""
    rng = seeded_rng(4)
    cases = [tuple(rng.normal(size=(3, 2)).astype("float32") for _ in range(3))]
    expected = [m + np.exp(0.5 * v) * e for m, v, e in cases]
    return run_cases("reparameterize", function, cases, expected,
                     "σ = exp(½ · log σ²), not exp(log σ²).")


def iwae_bound(function) -> CheckResult:
    """Check ``function(log_weights (k, batch)) -> (batch,)`` against log-mean-exp, Eq. (VAE.7)."""
    rng = seeded_rng(5)
    cases = [(rng.normal(size=(7, 3)).astype("float32"),), (np.full((4, 2), -800.0, "float32"),)]
    expected = [special.logsumexp(w.astype("float64"), axis=0) - math.log(w.shape[0]) for (w,) in cases]
    return run_cases("iwae_bound", function, cases, expected,
                     "use a log-sum-exp (subtract the max) so exp(−800) does not underflow to log 0.")


def active_units(function) -> CheckResult:
    """Check ``function(z_means (N, latent_dim), threshold) -> count`` of active latent units.

    A unit u is active when Cov_x(E_q[z_u]) > threshold, i.e. the variance over examples of
    its posterior mean (Burda et al., 2016; notebook 02, exercise 4). The cases separate the
    variance from the standard deviation and from the uncentred second moment.
    """
    rng = seeded_rng(6)
    spreads = np.array([1.0, 0.5, 0.05, 0.0, 0.2, 0.001])  # standard deviation of each unit
    offsets = np.array([0.0, 2.0, -1.5, 0.7, 0.0, 3.0])     # non-zero means, as encoders give
    z_means = (rng.standard_normal((2000, 6)) * spreads + offsets).astype("float32")
    cases = [(z_means, 0.01), (z_means, 0.1)]
    expected = [np.sum(np.var(z_means.astype("float64"), axis=0) > threshold)
                for _, threshold in cases]
    return run_cases("active_units", function, cases, expected,
                     "take the variance over examples (axis 0) of each unit's posterior mean, "
                     "not its standard deviation or mean square, and count those above threshold.",
                     rtol=0, atol=0)


def equivalent_beta(function) -> CheckResult:
    """Check ``function(decoder_variance) -> β`` (notebook 02): times 2σ², the Gaussian decoder's
    loss ‖x − μ‖²/(2σ²) + KL is ‖x − μ‖² + 2σ²·KL, so β = 2σ² for every σ²."""
    variances = [0.01, 0.05, 0.3, 1.0, 4.0]
    return run_cases("equivalent_beta", lambda v: float(function(v)), [(v,) for v in variances], [2 * v for v in variances],
                     "multiply ‖x − μ‖²/(2σ²) + KL by 2σ² so the squared error has weight 1; the KL's weight is β. "
                     "It must hold for every σ², not one.", shape_hint="one number")
