"""Self-checks of notebook 03, GANs: the losses on logits, where the minimax loss saturates, and the
optimal discriminator.

Each check returns a :class:`~genai_tf.exercises.engine.CheckResult`, truthy only on a pass.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from genai_tf.exercises.engine import CheckResult, run_cases, seeded_rng

# the notebook also calls checks.value_in_range and checks.describe_error
from genai_tf.exercises.engine import describe_error as describe_error
from genai_tf.exercises.engine import value_in_range as value_in_range


def discriminator_loss(function) -> CheckResult:
    """Check ``function(real_logits, fake_logits) -> (batch,)`` against Eq. (GAN.2), on logits.

    Includes logits of ±100, where log(sigmoid(l)) computed naively gives log 0 = -inf.
    """
    rng = seeded_rng(6)
    cases = [
        (rng.normal(scale=3.0, size=(5, 1)).astype("float32"),
         rng.normal(scale=3.0, size=(5, 1)).astype("float32")),
        (np.array([[100.0], [-100.0], [0.0]], "float32"), np.array([[-100.0], [100.0], [0.0]], "float32")),
    ]
    expected = [np.logaddexp(0.0, -r.astype("float64")).reshape(-1)
                + np.logaddexp(0.0, f.astype("float64")).reshape(-1) for r, f in cases]
    return run_cases("discriminator_loss", function, cases, expected,
                     "−log σ(l_real) − log(1 − σ(l_fake)) = softplus(−l_real) + softplus(l_fake); "
                     "return one value per example, shape (batch,).")


def generator_nonsaturating_loss(function) -> CheckResult:
    """Check ``function(fake_logits) -> (batch,)`` against −log D(G(z)), Eq. (GAN.6), on logits."""
    rng = seeded_rng(7)
    cases = [(rng.normal(scale=3.0, size=(6, 1)).astype("float32"),),
             (np.array([[-100.0], [100.0]], "float32"),)]
    expected = [np.logaddexp(0.0, -f.astype("float64")).reshape(-1) for (f,) in cases]
    return run_cases("generator_nonsaturating_loss", function, cases, expected,
                     "−log σ(l) = softplus(−l); at l = −100 the answer is 100, not inf.")


def saturation_point(function) -> CheckResult:
    """Check ``function(ratio, minimax_loss, non_saturating_loss) -> D(G(z))`` (notebook 03).

    The answer is where ``ratio · |∂ minimax/∂l| = |∂ non-saturating/∂l|``. For the package's losses
    that is ``1 / (1 + ratio)``; the check also passes scaled losses, ``a·minimax`` and
    ``b·non-saturating``, whose answer ``b / (a·ratio + b)`` a closed form written for the package's
    losses misses: only gradients taken of the losses given (``tf.GradientTape``) get every case.
    """
    from genai_tf import losses

    def scaled(loss, factor):
        return lambda logits: factor * loss(logits)

    cases, expected = [], []
    for ratio, a, b in [(100.0, 1.0, 1.0), (10.0, 1.0, 1.0), (100.0, 3.0, 1.0), (50.0, 1.0, 2.0)]:
        cases.append((ratio, scaled(losses.generator_minimax_loss, a), scaled(losses.generator_nonsaturating_loss, b)))
        expected.append(b / (a * ratio + b))
    return run_cases("saturation_point", lambda *case: float(function(*case)), cases, expected,
                     "differentiate the two loss functions you are given with tf.GradientTape (the check "
                     "passes scaled losses, so a closed form for the package's losses is not enough), and find "
                     "the logit where ratio·|g_minimax| = |g_non_saturating| with brentq; return σ(logit).",
                     rtol=1e-3, atol=1e-6, shape_hint="one number, D(G(z)) in (0, 1)")


def optimal_discriminator(function) -> CheckResult:
    """Check ``function(x, mean_data, std_data, mean_model, std_model) -> D*(x)``, Eq. (GAN.3).

    The two densities are 1-D Gaussians. Includes far-tail points where both densities
    underflow to 0, so p_data / (p_data + p_g) must be computed in log space.
    """
    from scipy import stats

    def reference(x, m1, s1, m2, s2):
        return special.expit(stats.norm.logpdf(x, m1, s1) - stats.norm.logpdf(x, m2, s2))

    cases = [(np.linspace(-3.0, 4.0, 15), 0.0, 1.0, 1.5, 0.7),
             (np.array([-2.0, 0.0, 2.0]), 1.0, 1.0, 1.0, 1.0),
             (np.array([-40.0, 40.0]), 0.0, 1.0, 1.5, 0.7)]
    expected = [reference(*case) for case in cases]
    return run_cases("optimal_discriminator", function, cases, expected,
                     "D* = p_data / (p_data + p_g) = sigmoid(log p_data − log p_g): use log densities "
                     "(scipy.stats.norm.logpdf) so far-tail points don't give 0 / 0.")
