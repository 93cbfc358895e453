"""Self-checks of notebook 06, Wasserstein GANs: W₁ in 1-D, the gradient penalty's interpolation
weights and term, and the critic's loss.

Each check returns a :class:`~genai_tf.exercises.engine.CheckResult`, truthy only on a pass.
"""

from __future__ import annotations

import numpy as np

from genai_tf.exercises.engine import CheckResult, raised, run_cases, seeded_rng, to_numpy


def wasserstein_1d(function) -> CheckResult:
    """Check ``function(samples_p, samples_q) -> W₁`` (a float), Eq. (WGAN.1) in 1-D, on unsorted samples."""
    rng = seeded_rng(18)
    cases = [(rng.normal(size=50), rng.normal(2.0, 0.5, size=50)), (rng.uniform(size=7), rng.uniform(size=7) + 0.3),
             (np.array([3.0, 0.0, 1.0]), np.array([0.0, 1.0, 3.0])), (rng.normal(size=40), 3.0 * rng.normal(size=40))]
    expected = [np.mean(np.abs(np.sort(p) - np.sort(q))) for p, q in cases]
    return run_cases("wasserstein_1d", function, cases, expected,
                     "in 1-D the optimal plan matches the i-th smallest p with the i-th smallest q: sort both "
                     "samples, then average |p_(i) − q_(i)|. Pairing them in their given order over-counts; "
                     "|mean(p) − mean(q)| is only a lower bound.", shape_hint="one number, W₁ of the two samples")


def interpolation_weights(function) -> CheckResult:
    """Check ``function(batch_size, rng) -> α (batch,)`` draws one α ~ U[0, 1] per example, Eq. (WGAN.6).

    Rejects a normal draw (α outside [0, 1]), one α for the whole batch, and per-pixel weights.
    """
    from scipy import stats

    name = "interpolation_weights"
    try:
        alpha = to_numpy(function(20_000, np.random.default_rng(19)))
    except Exception as error:
        return raised(name, error, "return rng.uniform(size=batch_size).")
    if alpha.shape != (20_000,):
        return CheckResult(name, False, f"returned shape {alpha.shape}, expected (20000,): one α per example "
                                        "(not per pixel, not one scalar for the batch).")
    if alpha.min() < 0.0 or alpha.max() > 1.0:
        return CheckResult(name, False, f"α ranges over [{alpha.min():.2f}, {alpha.max():.2f}]: outside [0, 1] the "
                                        "point x̂ leaves the segment between x and x̃, where the optimal critic's "
                                        "gradient need not have norm 1. Draw α ~ U[0, 1], not from a normal.")
    if np.std(alpha) < 1e-6:
        return CheckResult(name, False, "every α is the same: draw a fresh α for each example.")
    p_value = stats.kstest(alpha, "uniform").pvalue
    if p_value < 1e-4:
        return CheckResult(name, False, f"α in [0, 1] but not uniform (KS p = {p_value:.1e}, mean {alpha.mean():.3f}): "
                                        "every point of the segment must be equally likely to be penalised.")
    return CheckResult(name, True, f"one α per example, uniform on [0, 1] (KS p = {p_value:.2f}).")


def gradient_penalty(function) -> CheckResult:
    """Check ``function(gradients, weight) -> (batch,)`` against λ (‖g‖₂ − 1)², Eq. (WGAN.7).

    Includes norms below 1 (a one-sided penalty gives 0 there), a zero gradient (must be λ, finite)
    and 4-D image gradients (the norm is over every axis but the batch axis).
    """
    rng = seeded_rng(20)
    images = rng.normal(scale=0.02, size=(3, 4, 4, 1))  # norms about 0.08: well below 1
    images[1] *= 100.0                                  # one above 1
    cases = [(images, 10.0), (np.zeros((2, 5)), 10.0), (rng.normal(size=(4, 6)), 2.5)]
    expected = [w * (np.sqrt(np.sum(g.reshape(len(g), -1) ** 2, axis=1)) - 1.0) ** 2 for g, w in cases]
    result = run_cases("gradient_penalty", function, cases, expected,
                       "λ (‖g‖₂ − 1)² with the norm over all of an example's axes: two-sided, so gradient "
                       "norms below 1 are penalised too, and a zero gradient costs exactly λ.", rtol=1e-4, atol=1e-5)
    if result:
        result.message += " (Is it also finite to differentiate at g = 0? losses.gradient_penalty adds 1e-12 inside √.)"
    return result


def wasserstein_critic_loss(function) -> CheckResult:
    """Check ``function(real_scores, fake_scores) -> (batch,)`` against f(x̃) − f(x), Eq. (WGAN.4).

    Scores are unbounded (no sigmoid), so cases include large ones.
    """
    rng = seeded_rng(21)
    cases = [(rng.normal(scale=3.0, size=(5, 1)), rng.normal(scale=3.0, size=(5, 1))),
             (np.array([[40.0], [-7.0]]), np.array([[-25.0], [3.0]]))]
    expected = [(f - r).reshape(-1) for r, f in cases]
    return run_cases("wasserstein_critic_loss", function, cases, expected,
                     "the critic minimises f(G(z)) − f(x) on raw scores: no sigmoid, no log (it is not a "
                     "discriminator), and mind the sign: real images should score high.")
