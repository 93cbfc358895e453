"""Self-checks of notebook 06, Wasserstein GANs: W₁ in 1-D, the gradient penalty's interpolation
weights and term, the critic's loss, and a whole critic step with the penalty.

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

    Rejects a normal draw (α outside [0, 1]), one α for the whole batch, per-pixel weights, and
    a fixed ramp such as ``np.linspace(0, 1, n)`` (the same α for the i-th pair of every batch).
    """
    from scipy import stats

    name = "interpolation_weights"
    try:
        alpha = to_numpy(function(20_000, np.random.default_rng(19)))
        other = to_numpy(function(20_000, np.random.default_rng(23)))
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
    rises = float(np.mean(np.diff(alpha) > 0))  # about 1/2 for independent draws (sd 0.004 at n = 20,000)
    repeated = other.shape == alpha.shape and np.array_equal(other, alpha)
    if repeated or not 0.45 < rises < 0.55:
        return CheckResult(name, False, f"α is not a random draw ({100 * rises:.0f} % of neighbours rise; the same "
                                        f"values from another rng: {repeated}): a fixed "
                                        "ramp like np.linspace(0, 1, n) gives the i-th pair of every batch the "
                                        "same α, so the penalty samples the same points of each segment in a "
                                        "fixed order. Draw α from rng: rng.uniform(size=batch_size).")
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


def _step_critic(seed=0):
    """A small nonlinear critic on 6×6 images (tanh: its input gradient varies from point to point)."""
    import keras

    rng = seeded_rng(seed)
    inputs = keras.Input((6, 6, 1))
    hidden = keras.layers.Dense(8, activation="tanh")(keras.layers.Flatten()(inputs))
    critic = keras.Model(inputs, keras.layers.Dense(1)(hidden))
    critic.set_weights([rng.normal(scale=s, size=np.shape(w)).astype("float32")
                        for w, s in zip(critic.get_weights(), (0.4, 0.1, 0.6, 0.1))])
    return critic


def _reference_step(critic, optimizer, real, fake, alpha, penalty_weight, mistake=None):
    """One SGD step of the package's critic objective (``mistake=None``) or of a typical wrong one."""
    import tensorflow as tf

    from genai_tf import losses
    from genai_tf.models import wgan

    with tf.GradientTape() as tape:
        if mistake is None:
            loss = wgan.critic_objective(critic, real, fake, alpha, penalty_weight)["critic_loss"]
        else:
            at = {"no penalty": None, "the wrong sign": losses.interpolates(real, fake, alpha),
                  "a penalty on the real images only": real, "a penalty on the generated images only": fake}[mistake]
            wasserstein = tf.reduce_mean(critic(fake, training=True) - critic(real, training=True))
            if mistake == "the wrong sign":
                wasserstein = -wasserstein
            penalty = 0.0
            if at is not None:
                _, gradients = wgan.critic_gradients(critic, at)
                penalty = tf.reduce_mean(losses.gradient_penalty(gradients, penalty_weight))
            loss = wasserstein + penalty
    optimizer.apply(tape.gradient(loss, critic.trainable_weights), critic.trainable_weights)
    return float(loss), [np.asarray(w) for w in critic.get_weights()]


def critic_step(function) -> CheckResult:
    """Check ``function(critic, optimizer, real, fake, alpha, penalty_weight) -> loss``: one optimizer
    step of the critic on Eq. (WGAN.4) + Eq. (WGAN.7) at the interpolates of Eq. (WGAN.6).

    Runs it and ``wgan.critic_objective`` from the same weights, on the same batch and α, with SGD,
    in two cases (λ = 10 and λ = 3), and compares the returned loss and the updated weights. Names
    the typical mistakes: no penalty, the wrong sign of Eq. (WGAN.4), the penalty at the real (or
    the generated) images instead of the interpolates.
    """
    import keras
    import tensorflow as tf

    name = "critic_step"
    rng = seeded_rng(24)
    hint = ("inside one outer GradientTape: the interpolates x̂ = α x + (1 − α) x̃ (α reshaped to (batch, 1, 1, 1)), "
            "an inner tape that watches x̂ for ∇f(x̂), the loss mean f(x̃) − mean f(x) + λ mean (‖∇f(x̂)‖ − 1)²; "
            "then optimizer.apply(outer.gradient(loss, critic.trainable_weights), critic.trainable_weights) and "
            "return the loss.")
    mistakes = ("no penalty", "the wrong sign", "a penalty on the real images only",
                "a penalty on the generated images only")
    for case, penalty_weight in enumerate((10.0, 3.0)):
        real, fake = (tf.constant(rng.normal(size=(5, 6, 6, 1)).astype("float32")) for _ in range(2))
        alpha = tf.constant(rng.uniform(size=5).astype("float32"))
        want_loss, want = _reference_step(_step_critic(case), keras.optimizers.SGD(0.05), real, fake, alpha,
                                          penalty_weight)
        critic, start = _step_critic(case), _step_critic(case).get_weights()
        try:
            got_loss = float(np.ravel(to_numpy(function(critic, keras.optimizers.SGD(0.05), real, fake, alpha,
                                                        penalty_weight)))[0])
        except Exception as error:
            return raised(name, error, hint)
        got = [np.asarray(w) for w in critic.get_weights()]
        if all(np.array_equal(g, s) for g, s in zip(got, start)):
            return CheckResult(name, False, "the critic's weights did not change: take the optimizer step "
                                            f"inside the function. Hint: {hint}")
        if np.isclose(got_loss, want_loss, rtol=1e-4, atol=1e-5) and all(
                np.allclose(g, w, rtol=1e-4, atol=1e-6) for g, w in zip(got, want)):
            continue
        for mistake in mistakes:
            wrong_loss, wrong = _reference_step(_step_critic(case), keras.optimizers.SGD(0.05), real, fake, alpha,
                                                penalty_weight, mistake)
            if all(np.allclose(g, w, rtol=1e-4, atol=1e-6) for g, w in zip(got, wrong)):
                return CheckResult(name, False, f"case {case} (λ = {penalty_weight:g}): this looks like {mistake}. "
                                                f"Hint: {hint}")
        gap = max(float(np.max(np.abs(g - w))) for g, w in zip(got, want))
        return CheckResult(name, False, f"case {case} (λ = {penalty_weight:g}): loss {got_loss:.5f}, expected "
                                        f"{want_loss:.5f}; the updated weights differ by up to {gap:.2e}. Hint: {hint}")
    return CheckResult(name, True, "both cases match one step of wgan.critic_objective: same loss, same new weights.")
