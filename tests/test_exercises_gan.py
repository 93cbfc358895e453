"""Tests of genai_tf.exercises.gan, the self-checks of notebook 03 (GANs): each passes a correct answer
and catches a typical mistake, with a message that helps."""

import numpy as np
from scipy import special, stats

from genai_tf import losses
from genai_tf.exercises import gan as checks
from tests.test_exercises_engine import assert_fails, assert_passes, not_implemented


def naive_log_sigmoid(logits):
    with np.errstate(divide="ignore"):
        return np.log(special.expit(np.asarray(logits, "float32")))


def test_discriminator_loss_check():
    assert_passes(checks.discriminator_loss(losses.discriminator_loss))

    def naive(real, fake):
        with np.errstate(divide="ignore"):
            value = -naive_log_sigmoid(real) - np.log(1.0 - special.expit(np.asarray(fake, "float32")))
        return value.reshape(-1)

    assert_fails(checks.discriminator_loss(naive), "case 1", "inf", "Hint:", "softplus")
    assert_fails(checks.discriminator_loss(lambda r, f: np.mean(losses.discriminator_loss(r, f))),
                 "returned shape ()", "one value per example")
    assert_fails(checks.discriminator_loss(not_implemented), "not implemented")


def test_generator_nonsaturating_loss_check():
    assert_passes(checks.generator_nonsaturating_loss(losses.generator_nonsaturating_loss))
    assert_fails(checks.generator_nonsaturating_loss(lambda logits: -naive_log_sigmoid(logits).reshape(-1)),
                 "case 1", "inf", "Hint:", "softplus")
    assert_fails(checks.generator_nonsaturating_loss(losses.generator_minimax_loss), "case 0", "Hint:")
    assert_fails(checks.generator_nonsaturating_loss(not_implemented), "not implemented")


def test_optimal_discriminator_check():
    def in_log_space(x, m1, s1, m2, s2):
        return special.expit(stats.norm.logpdf(x, m1, s1) - stats.norm.logpdf(x, m2, s2))

    def density_ratio(x, m1, s1, m2, s2):  # 0 / 0 in the far tails
        p, q = stats.norm.pdf(x, m1, s1), stats.norm.pdf(x, m2, s2)
        with np.errstate(invalid="ignore"):
            return p / (p + q)

    assert_passes(checks.optimal_discriminator(in_log_space))
    assert_fails(checks.optimal_discriminator(density_ratio), "case 2", "nan", "Hint:", "log")
    assert_fails(checks.optimal_discriminator(lambda x, m1, s1, m2, s2: np.full_like(x, 0.5)), "case 0")
    assert_fails(checks.optimal_discriminator(not_implemented), "not implemented")


def tape_saturation_point(ratio, minimax_loss=losses.generator_minimax_loss,
                          non_saturating_loss=losses.generator_nonsaturating_loss):
    import tensorflow as tf
    from scipy import optimize

    def gap(logit):
        logits = tf.constant([[logit]], dtype="float32")
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(logits)
            a, b = minimax_loss(logits), non_saturating_loss(logits)
        return ratio * abs(float(tape.gradient(a, logits)[0, 0])) - abs(float(tape.gradient(b, logits)[0, 0]))

    return float(special.expit(optimize.brentq(gap, -20.0, 20.0, xtol=1e-10)))


def test_saturation_point_check_rejects_a_closed_form_that_ignores_the_losses():
    assert_passes(checks.saturation_point(tape_saturation_point))
    assert_fails(checks.saturation_point(lambda ratio, *given: 1.0 / (1.0 + ratio)), "case 2", "GradientTape")
    assert_fails(checks.saturation_point(lambda ratio, *given: 1.0 / ratio), "case 0", "Hint:")
    assert_fails(checks.saturation_point(lambda ratio, *given: ratio / (1.0 + ratio)), "case 0")
    assert_fails(checks.saturation_point(not_implemented), "not implemented")
