"""Tests of genai_tf.exercises.wasserstein_gans, the self-checks of notebook 06 (Wasserstein GANs):
each passes a correct answer and catches a typical mistake, with a message that helps."""

import numpy as np
from scipy import special

from genai_tf import losses
from genai_tf.exercises import wasserstein_gans as checks
from tests.test_exercises_engine import assert_fails, assert_passes, not_implemented


def test_wasserstein_1d_check():
    from genai_tf import metrics

    assert_passes(checks.wasserstein_1d(metrics.wasserstein_1d))
    assert_fails(checks.wasserstein_1d(lambda p, q: np.mean(np.abs(np.asarray(p) - np.asarray(q)))), "Hint:", "sort")
    assert_fails(checks.wasserstein_1d(lambda p, q: abs(np.mean(p) - np.mean(q))), "Hint:")
    assert_fails(checks.wasserstein_1d(not_implemented), "not implemented")


def test_interpolation_weights_check():
    assert_passes(checks.interpolation_weights(lambda n, rng: rng.uniform(size=n)))
    assert_fails(checks.interpolation_weights(lambda n, rng: rng.normal(size=n)), "outside [0, 1]")
    assert_fails(checks.interpolation_weights(lambda n, rng: np.full(n, rng.uniform())), "same")
    assert_fails(checks.interpolation_weights(lambda n, rng: rng.uniform(size=(n, 1))), "one α per example")
    assert_fails(checks.interpolation_weights(lambda n, rng: rng.beta(2, 2, size=n)), "not uniform")
    assert_fails(checks.interpolation_weights(not_implemented), "not implemented")


def test_gradient_penalty_check():
    assert_passes(checks.gradient_penalty(losses.gradient_penalty))

    def one_sided(g, w):
        norms = np.sqrt(np.sum(np.reshape(g, (len(g), -1)) ** 2, axis=1))
        return w * np.maximum(norms - 1.0, 0.0) ** 2

    def per_pixel(g, w):
        return w * np.sum((np.abs(np.reshape(g, (len(g), -1))) - 1.0) ** 2, axis=1)

    for wrong in (one_sided, per_pixel):
        assert_fails(checks.gradient_penalty(wrong), "Hint:", "two-sided")
    assert_fails(checks.gradient_penalty(not_implemented), "not implemented")


def test_wasserstein_critic_loss_check():
    assert_passes(checks.wasserstein_critic_loss(losses.wasserstein_critic_loss))
    sigmoid = special.expit
    for wrong in (lambda r, f: np.reshape(r - f, -1),
                  lambda r, f: np.reshape(sigmoid(f) - sigmoid(r), -1),
                  lambda r, f: np.reshape(np.logaddexp(0, -r) + np.logaddexp(0, f), -1)):
        assert_fails(checks.wasserstein_critic_loss(wrong), "Hint:", "no sigmoid")
    assert_fails(checks.wasserstein_critic_loss(not_implemented), "not implemented")
