"""Self-checks for the notebooks' exercises.

Each check calls the learner's function on cases with a known answer and returns a
:class:`CheckResult`: it prints ``PASS`` or what is wrong with a hint, and is truthy only on
a pass, so a notebook can ``assert checks.gaussian_kl(my_kl)``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from keras import ops
from scipy import special

from genai_tf import losses


@dataclasses.dataclass
class CheckResult:
    name: str
    passed: bool
    message: str

    def __bool__(self):
        return self.passed

    def __repr__(self):
        return f"{'PASS' if self.passed else 'FAIL'} {self.name}: {self.message}"


def _numpy(value):
    return np.asarray(ops.convert_to_numpy(value), dtype="float64")


def _run(name, function, cases, expected, hint, rtol=1e-4, atol=1e-4):
    """Call ``function(*case)`` for each case and compare with ``expected[i]``."""
    for index, (case, want) in enumerate(zip(cases, expected)):
        try:
            got = _numpy(function(*case))
        except NotImplementedError:
            return CheckResult(name, False, "not implemented yet: replace the `raise NotImplementedError`.")
        except Exception as error:  # show the learner's error, not a traceback from here
            return CheckResult(name, False, f"raised {type(error).__name__}: {error}. Hint: {hint}")
        want = np.asarray(want, dtype="float64")
        if got.shape != want.shape:
            return CheckResult(
                name, False,
                f"case {index}: returned shape {got.shape}, expected {want.shape} "
                f"(one value per example: reduce over every axis but the batch axis).",
            )
        if not np.allclose(got, want, rtol=rtol, atol=atol):
            return CheckResult(
                name, False,
                f"case {index}: got {np.round(got, 4)}, expected {np.round(want, 4)}. Hint: {hint}",
            )
    return CheckResult(name, True, f"all {len(cases)} cases match.")


def _rng(seed=0):
    return np.random.default_rng(seed)


def gaussian_kl(function) -> CheckResult:
    """Check ``function(z_mean, z_log_var) -> (batch,)`` against KL(N(μ, σ²) ‖ N(0, I)), Eq. (VAE.4)."""
    rng = _rng(1)
    cases = [
        (np.zeros((2, 3), "float32"), np.zeros((2, 3), "float32")),
        (rng.normal(size=(4, 5)).astype("float32"), rng.normal(size=(4, 5)).astype("float32")),
    ]
    expected = [0.5 * np.sum(m**2 + np.exp(v) - v - 1.0, axis=-1) for m, v in cases]
    return _run("gaussian_kl", function, cases, expected,
                "½ Σ_j (μ_j² + exp(log σ_j²) − log σ_j² − 1), summed over the latent axis only.")


def bernoulli_nll(function) -> CheckResult:
    """Check ``function(images, logits) -> (batch,)`` against Eq. (AE.2), including large logits."""
    rng = _rng(2)
    images = rng.uniform(size=(3, 4, 4, 1)).astype("float32")
    logits = rng.normal(scale=3.0, size=(3, 4, 4, 1)).astype("float32")
    big = np.full((1, 2, 2, 1), 60.0, "float32")
    cases = [(images, logits), (np.zeros_like(big), big)]
    expected = []
    for x, l in cases:
        log_p, log_not_p = -np.logaddexp(0.0, -l.astype("float64")), -np.logaddexp(0.0, l.astype("float64"))
        expected.append(-np.sum(x * log_p + (1 - x) * log_not_p, axis=(1, 2, 3)))
    return _run("bernoulli_nll", function, cases, expected,
                "work on logits: max(l,0) − l·x + log(1+exp(−|l|)) avoids log(0) when σ(l) rounds to 1.")


def gaussian_nll(function) -> CheckResult:
    """Check ``function(images, means, log_variance) -> (batch,)`` against Eq. (AE.1)."""
    rng = _rng(3)
    x = rng.uniform(size=(2, 3, 3, 1)).astype("float32")
    mu = rng.uniform(size=(2, 3, 3, 1)).astype("float32")
    cases = [(x, mu, 0.0), (x, mu, math.log(0.1))]
    expected = [np.sum(0.5 * ((a - b) ** 2 / math.exp(v) + v + math.log(2 * math.pi)), axis=(1, 2, 3))
                for a, b, v in cases]
    return _run("gaussian_nll", function, cases, expected,
                "don't forget the ½ log(2πσ²) constant per pixel.")


def reparameterize(function) -> CheckResult:
    """Check ``function(z_mean, z_log_var, epsilon) -> z`` is μ + σ·ε, Eq. (VAE.5)."""
    rng = _rng(4)
    cases = [tuple(rng.normal(size=(3, 2)).astype("float32") for _ in range(3))]
    expected = [m + np.exp(0.5 * v) * e for m, v, e in cases]
    return _run("reparameterize", function, cases, expected,
                "σ = exp(½ · log σ²), not exp(log σ²).")


def iwae_bound(function) -> CheckResult:
    """Check ``function(log_weights (k, batch)) -> (batch,)`` against log-mean-exp, Eq. (VAE.7)."""
    rng = _rng(5)
    cases = [(rng.normal(size=(7, 3)).astype("float32"),), (np.full((4, 2), -800.0, "float32"),)]
    expected = [special.logsumexp(w.astype("float64"), axis=0) - math.log(w.shape[0]) for (w,) in cases]
    return _run("iwae_bound", function, cases, expected,
                "use a log-sum-exp (subtract the max) so exp(−800) does not underflow to log 0.")


def pca_mse(function, train_images, test_images, latent_dim) -> CheckResult:
    """Check a learner's PCA reconstruction error against the course's SVD reference."""
    from genai_tf.metrics import pca_reconstruction_mse

    expected = [pca_reconstruction_mse(train_images, test_images, latent_dim)]
    return _run("pca_mse", lambda: np.asarray(function(train_images, test_images, latent_dim)),
                [()], expected, "centre with the TRAIN mean and project onto the top right-singular vectors.",
                rtol=1e-3, atol=1e-5)


def value_in_range(name, value, low, high, hint) -> CheckResult:
    """Check a learner's measured number (e.g. a test error) lies in ``[low, high]``."""
    value = float(value)
    if math.isfinite(value) and low <= value <= high:
        return CheckResult(name, True, f"{value:.4g} is in [{low:.4g}, {high:.4g}].")
    return CheckResult(name, False, f"{value:.4g} is outside [{low:.4g}, {high:.4g}]. Hint: {hint}")

