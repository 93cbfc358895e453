"""Tests of genai_tf.exercises.wasserstein_gans, the self-checks of notebook 06 (Wasserstein GANs):
each passes a correct answer and catches a typical mistake, with a message that helps."""

import numpy as np
import pytest
import tensorflow as tf
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
    # a fixed ramp passes every marginal test (range, spread, KS) but is no draw: issue 24
    assert_fails(checks.interpolation_weights(lambda n, rng: np.linspace(0, 1, n)), "not a random draw", "linspace")
    assert_fails(checks.interpolation_weights(lambda n, rng: np.sort(rng.uniform(size=n))), "not a random draw")
    assert_fails(checks.interpolation_weights(lambda n, rng: np.random.default_rng(0).uniform(size=n)),
                 "not a random draw")  # ignores rng: the same α whatever generator it is given
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


def penalised_step(critic, optimizer, real, fake, alpha, penalty_weight=10.0, sign=1.0, penalty_at="interpolates",
                   apply=True):
    """A learner's critic step written out with two tapes; the keyword arguments make the usual mistakes."""
    alpha = tf.reshape(alpha, (-1, 1, 1, 1))
    points = {"interpolates": alpha * real + (1.0 - alpha) * fake, "real": real, "fake": fake, None: None}[penalty_at]
    with tf.GradientTape() as tape:
        loss = sign * (tf.reduce_mean(critic(fake, training=True)) - tf.reduce_mean(critic(real, training=True)))
        if points is not None:
            with tf.GradientTape() as inner:
                inner.watch(points)
                scores = critic(points, training=True)
            gradients = inner.gradient(scores, points)
            norms = tf.sqrt(tf.reduce_sum(gradients**2, axis=[1, 2, 3]) + 1e-12)
            loss = loss + penalty_weight * tf.reduce_mean((norms - 1.0) ** 2)
    if apply:
        optimizer.apply(tape.gradient(loss, critic.trainable_weights), critic.trainable_weights)
    return loss


def test_critic_step_check_passes_a_correct_step_and_names_the_usual_mistakes():
    assert_passes(checks.critic_step(penalised_step))
    assert_passes(checks.critic_step(lambda c, o, r, f, a, w: penalised_step(c, o, r, f, np.asarray(a), w)))
    for mistake, wrong in [
        ("no penalty", lambda c, o, r, f, a, w: penalised_step(c, o, r, f, a, w, penalty_at=None)),
        ("the wrong sign", lambda c, o, r, f, a, w: penalised_step(c, o, r, f, a, w, sign=-1.0)),
        ("real images only", lambda c, o, r, f, a, w: penalised_step(c, o, r, f, a, w, penalty_at="real")),
        ("generated images only", lambda c, o, r, f, a, w: penalised_step(c, o, r, f, a, w, penalty_at="fake")),
    ]:
        assert_fails(checks.critic_step(wrong), "looks like", mistake)
    # λ fixed at 10: the second case (λ = 3) catches it
    assert_fails(checks.critic_step(lambda c, o, r, f, a, w: penalised_step(c, o, r, f, a, 10.0)), "λ = 3", "Hint:")
    # α drawn afresh instead of the given one; and a step that is never applied
    assert_fails(checks.critic_step(lambda c, o, r, f, a, w: penalised_step(c, o, r, f, tf.random.uniform((5,)), w)),
                 "Hint:")
    assert_fails(checks.critic_step(lambda c, o, r, f, a, w: penalised_step(c, o, r, f, a, w, apply=False)),
                 "did not change")
    assert_fails(checks.critic_step(not_implemented), "not implemented")


@pytest.mark.parametrize("case", [0, 1])
def test_the_critic_step_checks_cases_have_a_penalty_that_moves_the_weights(case):
    """The cases must tell a penalised step from an unpenalised one: the penalty's gradient is not ~0."""
    import keras

    rng = np.random.default_rng(case)
    real, fake = (tf.constant(rng.normal(size=(5, 6, 6, 1)).astype("float32")) for _ in range(2))
    alpha = tf.constant(rng.uniform(size=5).astype("float32"))
    moved = []
    for penalty_at in ("interpolates", None):
        critic = checks._step_critic(case)
        penalised_step(critic, keras.optimizers.SGD(0.05), real, fake, alpha, 10.0, penalty_at=penalty_at)
        moved.append(np.concatenate([w.ravel() for w in critic.get_weights()]))
    assert np.max(np.abs(moved[0] - moved[1])) > 1e-3
