"""Tests of genai_tf.exercises.variational_autoencoder, the self-checks of notebook 02 (variational
autoencoders): each passes a correct answer and catches a typical mistake, with a message that
helps."""

import math

import numpy as np
import pytest
from scipy import special

from genai_tf import losses
from genai_tf.exercises import variational_autoencoder as checks
from tests.test_exercises_engine import assert_fails, assert_passes, not_implemented


def kl_without_minus_one(mean, log_var):
    return 0.5 * np.sum(mean**2 + np.exp(log_var) - log_var, axis=-1)


def test_gaussian_kl_check():
    assert_passes(checks.gaussian_kl(losses.gaussian_kl))
    assert_passes(checks.gaussian_kl(
        lambda m, v: 0.5 * np.sum(m**2 + np.exp(v) - v - 1.0, axis=-1)))
    assert_fails(checks.gaussian_kl(kl_without_minus_one), "Hint:", "− 1")
    # σ² mistaken for log σ²
    with np.errstate(divide="ignore", invalid="ignore"):
        result = checks.gaussian_kl(lambda m, v: 0.5 * np.sum(m**2 + v - np.log(v) - 1, axis=-1))
    assert_fails(result, "case 0", "Hint:")
    assert_fails(checks.gaussian_kl(lambda m, v: 0.5 * np.sum(m**2 + np.exp(v) - v - 1.0)),
                 "returned shape ()", "expected (2,)", "one value per example")
    assert_fails(checks.gaussian_kl(not_implemented), "not implemented")


def test_reparameterize_check():
    assert_passes(checks.reparameterize(lambda m, v, e: m + np.exp(0.5 * v) * e))
    assert_fails(checks.reparameterize(lambda m, v, e: m + np.exp(v) * e), "Hint:", "σ = exp(½")
    assert_fails(checks.reparameterize(not_implemented), "not implemented")


def test_iwae_bound_check():
    assert_passes(checks.iwae_bound(losses.iwae_bound))
    assert_passes(checks.iwae_bound(lambda w: special.logsumexp(w, axis=0) - math.log(len(w))))

    def naive(log_weights):
        with np.errstate(divide="ignore"):
            return np.log(np.mean(np.exp(np.asarray(log_weights, "float32")), axis=0))  # exp(-800) = 0

    assert_fails(checks.iwae_bound(naive), "case 1", "-inf", "Hint:", "log-sum-exp")
    # forgetting the 1/k
    assert_fails(checks.iwae_bound(lambda w: special.logsumexp(w, axis=0)), "case 0", "Hint:")
    assert_fails(checks.iwae_bound(lambda w: special.logsumexp(w) - math.log(len(w))),
                 "returned shape ()", "expected (3,)")
    assert_fails(checks.iwae_bound(not_implemented), "not implemented")


def test_a_learner_error_is_reported_with_the_hint():
    def broken(mean, log_var):
        return mean + "oops"

    result = checks.gaussian_kl(broken)
    assert_fails(result, "raised", "Hint:")


def test_active_units_check():
    assert_passes(checks.active_units(lambda z, threshold: int(np.sum(np.var(z, axis=0) > threshold))))
    assert_fails(checks.active_units(lambda z, threshold: int(np.sum(np.std(z, axis=0) > threshold))),
                 "Hint:", "variance")
    assert_fails(checks.active_units(lambda z, threshold: int(np.sum(np.mean(z**2, axis=0) > threshold))),
                 "Hint:")
    assert_fails(checks.active_units(not_implemented), "not implemented")


def test_equivalent_beta_check_needs_the_formula_not_one_value():
    assert_passes(checks.equivalent_beta(lambda variance: 2.0 * variance))
    for wrong in (lambda v: 0.1,            # right at σ² = 0.05 only: the first check's hole
                  lambda v: v, lambda v: 1.0 / (2.0 * v), lambda v: math.sqrt(v)):
        assert_fails(checks.equivalent_beta(wrong), "Hint:", "every σ²")
    assert_fails(checks.equivalent_beta(not_implemented), "not implemented")


@pytest.mark.parametrize("name", ["gaussian_kl", "iwae_bound"])
def test_checks_accept_tensors_from_keras(name):
    """A learner writing with keras.ops passes too: results are converted, not compared as tensors."""
    assert_passes(getattr(checks, name)(getattr(losses, name)))
