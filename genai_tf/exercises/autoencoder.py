"""Self-checks of notebook 01, autoencoders: the reconstruction likelihoods of Eqs. (AE.1)-(AE.2) and
PCA as the linear baseline.

Each check returns a :class:`~genai_tf.exercises.engine.CheckResult`, truthy only on a pass.
"""

from __future__ import annotations

import math

import numpy as np

from genai_tf.exercises.engine import CheckResult, run_cases, seeded_rng

# the notebook also calls checks.value_in_range
from genai_tf.exercises.engine import value_in_range as value_in_range


def bernoulli_nll(function) -> CheckResult:
    """Check ``function(images, logits) -> (batch,)`` against Eq. (AE.2), including large logits."""
    rng = seeded_rng(2)
    images = rng.uniform(size=(3, 4, 4, 1)).astype("float32")
    logits = rng.normal(scale=3.0, size=(3, 4, 4, 1)).astype("float32")
    big = np.full((1, 2, 2, 1), 60.0, "float32")
    cases = [(images, logits), (np.zeros_like(big), big)]
    expected = []
    for x, logit in cases:
        log_p, log_not_p = -np.logaddexp(0.0, -logit.astype("float64")), -np.logaddexp(0.0, logit.astype("float64"))
        expected.append(-np.sum(x * log_p + (1 - x) * log_not_p, axis=(1, 2, 3)))
    return run_cases("bernoulli_nll", function, cases, expected,
                     "work on logits: max(l,0) − l·x + log(1+exp(−|l|)) avoids log(0) when σ(l) rounds to 1.")


def gaussian_nll(function) -> CheckResult:
    """Check ``function(images, means, log_variance) -> (batch,)`` against Eq. (AE.1)."""
    rng = seeded_rng(3)
    x = rng.uniform(size=(2, 3, 3, 1)).astype("float32")
    mu = rng.uniform(size=(2, 3, 3, 1)).astype("float32")
    cases = [(x, mu, 0.0), (x, mu, math.log(0.1))]
    expected = [np.sum(0.5 * ((a - b) ** 2 / math.exp(v) + v + math.log(2 * math.pi)), axis=(1, 2, 3))
                for a, b, v in cases]
    return run_cases("gaussian_nll", function, cases, expected,
                     "don't forget the ½ log(2πσ²) constant per pixel.")


def pca_mse(function, train_images, test_images, latent_dim) -> CheckResult:
    """Check a learner's PCA reconstruction error against the course's SVD reference."""
    from genai_tf.metrics import pca_reconstruction_mse

    expected = [pca_reconstruction_mse(train_images, test_images, latent_dim)]
    return run_cases("pca_mse", lambda: np.asarray(function(train_images, test_images, latent_dim)),
                     [()], expected, "centre with the TRAIN mean and project onto the top right-singular vectors.",
                     rtol=1e-3, atol=1e-5)
