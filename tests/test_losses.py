"""Tests of genai_tf.losses against independent numpy/scipy computations.

Every reference here is written with numpy or scipy (float64), never with ``keras.ops``, so a
mistake in the course's formula can't be reproduced by the reference.
"""

import math

import numpy as np
import pytest
import tensorflow as tf
from scipy import special, stats

from genai_tf import losses


def as_numpy(value):
    return np.asarray(value, dtype="float64")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# --- shapes -------------------------------------------------------------------------------


def test_every_function_returns_one_value_per_example(rng):
    batch = 5
    images = rng.uniform(size=(batch, 6, 6, 2)).astype("float32")
    other = rng.uniform(size=(batch, 6, 6, 2)).astype("float32")
    latents = rng.normal(size=(batch, 3)).astype("float32")
    per_example = rng.normal(size=(batch,)).astype("float32")
    results = {
        "squared_error": losses.squared_error(images, other),
        "gaussian_nll": losses.gaussian_nll(images, other),
        "gaussian_nll per-pixel variance": losses.gaussian_nll(images, other, other - 1.0),
        "bernoulli_nll": losses.bernoulli_nll(images, other),
        "gaussian_kl": losses.gaussian_kl(latents, latents),
        "log_normal_pdf": losses.log_normal_pdf(latents, latents, latents),
        "log_normal_pdf standard": losses.log_normal_pdf(latents),
        "elbo": losses.elbo(per_example, per_example, beta=0.5),
        "iwae_bound": losses.iwae_bound(rng.normal(size=(7, batch)).astype("float32")),
    }
    for name, value in results.items():
        assert tuple(value.shape) == (batch,), name
        assert np.all(np.isfinite(as_numpy(value))), name


# --- reconstruction terms -----------------------------------------------------------------


def test_squared_error_is_the_per_example_mean_over_pixels(rng):
    x = rng.uniform(size=(4, 5, 3, 2))
    x_hat = rng.uniform(size=(4, 5, 3, 2))
    expected = ((x - x_hat) ** 2).reshape(4, -1).mean(axis=1)
    np.testing.assert_allclose(as_numpy(losses.squared_error(x, x_hat)), expected, rtol=1e-5)
    np.testing.assert_allclose(as_numpy(losses.squared_error(x, x)), 0.0, atol=0)


def test_gaussian_nll_scalar_variance_matches_scipy(rng):
    x = rng.uniform(size=(3, 4, 4, 1))
    mu = rng.uniform(size=(3, 4, 4, 1))
    for log_var in (0.0, math.log(0.01), 1.5):
        expected = -stats.norm.logpdf(x, loc=mu, scale=math.exp(0.5 * log_var)).sum(axis=(1, 2, 3))
        got = as_numpy(losses.gaussian_nll(x, mu, log_var))
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)


def test_gaussian_nll_default_variance_is_one(rng):
    x = rng.uniform(size=(2, 3, 3, 1))
    mu = rng.uniform(size=(2, 3, 3, 1))
    expected = -stats.norm.logpdf(x, loc=mu, scale=1.0).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(as_numpy(losses.gaussian_nll(x, mu)), expected, rtol=1e-5)


def test_gaussian_nll_per_pixel_variance_matches_scipy(rng):
    x = rng.uniform(size=(3, 4, 4, 2))
    mu = rng.uniform(size=(3, 4, 4, 2))
    log_var = rng.uniform(-3.0, 1.0, size=(3, 4, 4, 2))
    expected = -stats.norm.logpdf(x, loc=mu, scale=np.exp(0.5 * log_var)).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(as_numpy(losses.gaussian_nll(x, mu, log_var)), expected,
                               rtol=1e-5, atol=1e-4)
    # a variance broadcast over the batch: one value per pixel shared by every example
    shared = log_var[:1]
    expected = -stats.norm.logpdf(x, loc=mu, scale=np.exp(0.5 * shared)).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(as_numpy(losses.gaussian_nll(x, mu, shared)), expected,
                               rtol=1e-5, atol=1e-4)


def test_bernoulli_nll_matches_direct_formula_on_moderate_logits(rng):
    x = rng.uniform(size=(4, 5, 5, 1))  # grey levels: the continuous cross-entropy
    logits = rng.normal(scale=3.0, size=(4, 5, 5, 1))
    p = special.expit(logits)
    expected = -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(as_numpy(losses.bernoulli_nll(x, logits)), expected, rtol=1e-5)
    binary = (x > 0.5).astype("float64")
    expected = -stats.bernoulli.logpmf(binary, p).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(as_numpy(losses.bernoulli_nll(binary, logits)), expected, rtol=1e-5)


@pytest.mark.parametrize(
    ("target", "logit", "per_pixel"),
    [(1.0, 100.0, 0.0), (0.0, 100.0, 100.0), (1.0, -100.0, 100.0), (0.0, -100.0, 0.0),
     (0.5, 100.0, 50.0)],
)
def test_bernoulli_nll_is_stable_at_huge_logits(target, logit, per_pixel):
    pixels = 3 * 3
    images = np.full((2, 3, 3, 1), target, "float32")
    logits = np.full((2, 3, 3, 1), logit, "float32")
    got = as_numpy(losses.bernoulli_nll(images, logits))
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, pixels * per_pixel, atol=1e-3, rtol=1e-6)


def test_bernoulli_nll_gradient_is_sigmoid_minus_target_everywhere():
    """d/dl = σ(l) - x, including huge logits and a logit of exactly 0 (a kink of max and |·|)."""
    values = np.array([100.0, -100.0, 0.0, 0.0, 0.0, 2.5, -1.0])
    targets = np.array([0.0, 1.0, 1.0, 0.0, 0.5, 0.3, 0.7])
    logits = tf.Variable(values.astype("float32").reshape(1, 1, -1, 1))
    images = targets.astype("float32").reshape(1, 1, -1, 1)
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(losses.bernoulli_nll(images, logits))
    gradient = tape.gradient(value, logits).numpy().ravel()
    np.testing.assert_allclose(gradient, special.expit(values) - targets, atol=1e-6)


# --- KL, log densities --------------------------------------------------------------------


def numpy_kl(mean, log_var):
    return 0.5 * np.sum(mean**2 + np.exp(log_var) - log_var - 1.0, axis=-1)


def test_gaussian_kl_matches_closed_form(rng):
    mean = rng.normal(size=(6, 4))
    log_var = rng.normal(size=(6, 4))
    np.testing.assert_allclose(as_numpy(losses.gaussian_kl(mean, log_var)),
                               numpy_kl(mean, log_var), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(as_numpy(losses.gaussian_kl(np.zeros((2, 3)), np.zeros((2, 3)))),
                               0.0, atol=0)


def test_gaussian_kl_matches_monte_carlo(rng):
    mean = np.array([[0.5, -1.0, 2.0], [0.0, 0.3, -0.2]])
    log_var = np.array([[-1.0, 0.5, 0.0], [1.0, -2.0, 0.2]])
    std = np.exp(0.5 * log_var)
    num = 200_000
    z = mean[None] + std[None] * rng.standard_normal((num, *mean.shape))  # (num, batch, d)
    log_q = stats.norm.logpdf(z, loc=mean, scale=std).sum(axis=-1)
    log_p = stats.norm.logpdf(z).sum(axis=-1)
    samples = log_q - log_p  # (num, batch)
    estimate = samples.mean(axis=0)
    standard_error = samples.std(axis=0) / math.sqrt(num)
    got = as_numpy(losses.gaussian_kl(mean, log_var))
    assert np.all(np.abs(got - estimate) < 5 * standard_error + 1e-6), (got, estimate, standard_error)


def test_gaussian_kl_gradients_match_analytic_and_finite_differences(rng):
    mean0 = rng.normal(size=(3, 4))
    log_var0 = rng.normal(size=(3, 4))
    mean = tf.Variable(mean0.astype("float32"))
    log_var = tf.Variable(log_var0.astype("float32"))
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(losses.gaussian_kl(mean, log_var))
    grad_mean, grad_log_var = (g.numpy() for g in tape.gradient(total, [mean, log_var]))

    np.testing.assert_allclose(grad_mean, mean0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad_log_var, 0.5 * (np.exp(log_var0) - 1.0), rtol=1e-5, atol=1e-6)

    def total_kl(m, v):
        return numpy_kl(m, v).sum()

    step = 1e-6
    for grad, which in ((grad_mean, 0), (grad_log_var, 1)):
        numeric = np.zeros_like(mean0)
        for index in np.ndindex(mean0.shape):
            delta = np.zeros_like(mean0)
            delta[index] = step
            args_plus = [mean0, log_var0]
            args_minus = [mean0, log_var0]
            args_plus[which] = args_plus[which] + delta
            args_minus[which] = args_minus[which] - delta
            numeric[index] = (total_kl(*args_plus) - total_kl(*args_minus)) / (2 * step)
        np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-5)


def test_log_normal_pdf_matches_scipy_multivariate_normal(rng):
    values = rng.normal(size=(5, 3))
    mean = rng.normal(size=(5, 3))
    log_var = rng.uniform(-2.0, 1.0, size=(5, 3))
    expected = [stats.multivariate_normal.logpdf(v, mean=m, cov=np.diag(np.exp(s)))
                for v, m, s in zip(values, mean, log_var)]
    np.testing.assert_allclose(as_numpy(losses.log_normal_pdf(values, mean, log_var)), expected,
                               rtol=1e-5, atol=1e-5)
    standard = stats.multivariate_normal.logpdf(values, mean=np.zeros(3), cov=np.eye(3))
    np.testing.assert_allclose(as_numpy(losses.log_normal_pdf(values)), standard, rtol=1e-5)


def test_log_normal_pdf_broadcasts_over_leading_sample_axis(rng):
    # the (k, batch, d) layout VAE.log_importance_weights uses
    values = rng.normal(size=(4, 2, 3))
    mean = rng.normal(size=(2, 3))
    log_var = rng.normal(size=(2, 3))
    got = as_numpy(losses.log_normal_pdf(values, mean[None], log_var[None]))
    expected = stats.norm.logpdf(values, loc=mean, scale=np.exp(0.5 * log_var)).sum(axis=-1)
    assert got.shape == (4, 2)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


# --- ELBO and IWAE on a model whose evidence is known ---------------------------------------
# p(z) = N(0, 1), p(x|z) = N(z, s²)  ⇒  p(x) = N(0, 1 + s²),  p(z|x) = N(x/(1+s²), s²/(1+s²)).

NOISE_VAR = 0.5


def linear_gaussian_log_evidence(x):
    return stats.norm.logpdf(x, scale=math.sqrt(1.0 + NOISE_VAR))


def exact_posterior(x):
    return x / (1.0 + NOISE_VAR), NOISE_VAR / (1.0 + NOISE_VAR)


def as_images(values):
    """(batch,) → 1-pixel images (batch, 1, 1, 1)."""
    return np.asarray(values, "float32").reshape(-1, 1, 1, 1)


def analytic_elbo(x, q_mean, q_var, beta=1.0):
    """E_q[-log p(x|z)] = gaussian_nll(x; q_mean, s²) + q_var / (2 s²), exactly."""
    nll = as_numpy(losses.gaussian_nll(as_images(x), as_images(q_mean), math.log(NOISE_VAR)))
    nll = nll + q_var / (2.0 * NOISE_VAR)
    kl = losses.gaussian_kl(np.reshape(q_mean, (-1, 1)), np.full((len(x), 1), math.log(q_var)))
    return as_numpy(losses.elbo(nll, kl, beta=beta))


def test_elbo_is_minus_nll_plus_beta_kl(rng):
    nll = rng.uniform(0, 100, size=5)
    kl = rng.uniform(0, 10, size=5)
    np.testing.assert_allclose(as_numpy(losses.elbo(nll, kl)), -(nll + kl), rtol=1e-6)
    np.testing.assert_allclose(as_numpy(losses.elbo(nll, kl, beta=4.0)), -(nll + 4.0 * kl), rtol=1e-6)
    np.testing.assert_allclose(as_numpy(losses.elbo(nll, kl, beta=0.0)), -nll, rtol=1e-6)


def test_elbo_equals_log_evidence_with_the_exact_posterior():
    x = np.array([-2.0, -0.3, 0.0, 0.7, 1.9])
    post_mean, post_var = exact_posterior(x)
    np.testing.assert_allclose(analytic_elbo(x, post_mean, post_var),
                               linear_gaussian_log_evidence(x), atol=2e-5)


def test_elbo_is_strictly_lower_with_a_wrong_posterior():
    x = np.array([-2.0, -0.3, 0.0, 0.7, 1.9])
    post_mean, post_var = exact_posterior(x)
    log_evidence = linear_gaussian_log_evidence(x)
    for q_mean, q_var in ((post_mean + 0.5, post_var), (post_mean, 3.0 * post_var),
                          (np.zeros_like(x), 1.0)):
        gap = log_evidence - analytic_elbo(x, q_mean, q_var)
        # the gap is KL(q ‖ p(z|x)), in closed form for two Gaussians
        expected_gap = 0.5 * (q_var / post_var + (q_mean - post_mean) ** 2 / post_var - 1.0
                              + math.log(post_var / q_var))
        assert np.all(gap > 1e-3)
        np.testing.assert_allclose(gap, expected_gap, atol=5e-5)


def test_elbo_monte_carlo_reconstruction_term_with_gaussian_nll(rng):
    """The same bound, with E_q[log p(x|z)] estimated by sampling z and calling gaussian_nll."""
    x = np.array([-1.0, 0.5, 1.5])
    q_mean, q_var = exact_posterior(x)
    q_mean = q_mean - 0.4  # a wrong q
    num = 50_000
    z = q_mean[None] + math.sqrt(q_var) * rng.standard_normal((num, len(x)))
    nll = as_numpy(losses.gaussian_nll(as_images(np.broadcast_to(x, z.shape)), as_images(z),
                                       math.log(NOISE_VAR))).reshape(num, len(x))
    kl = as_numpy(losses.gaussian_kl(q_mean[:, None], np.full((len(x), 1), math.log(q_var))))
    samples = -(nll + kl)
    estimate = samples.mean(axis=0)
    standard_error = samples.std(axis=0) / math.sqrt(num)
    assert np.all(np.abs(estimate - analytic_elbo(x, q_mean, q_var)) < 5 * standard_error + 1e-4)
    assert np.all(estimate < linear_gaussian_log_evidence(x))


def test_iwae_bound_matches_scipy_logsumexp(rng):
    log_weights = rng.normal(scale=5.0, size=(9, 4))
    expected = special.logsumexp(log_weights, axis=0) - math.log(9)
    np.testing.assert_allclose(as_numpy(losses.iwae_bound(log_weights)), expected, rtol=1e-5)


def test_iwae_bound_with_one_sample_is_the_weight(rng):
    log_weights = rng.normal(size=(1, 6))
    np.testing.assert_allclose(as_numpy(losses.iwae_bound(log_weights)), log_weights[0], rtol=1e-6)


def test_iwae_bound_is_stable_with_very_negative_weights():
    log_weights = np.array([[-1000.0, -2000.0], [-1000.0, -2001.0], [-1000.0, -1999.0]])
    got = as_numpy(losses.iwae_bound(log_weights))
    assert np.all(np.isfinite(got))
    expected = special.logsumexp(log_weights, axis=0) - math.log(3)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    np.testing.assert_allclose(got[0], -1000.0, rtol=1e-6)


def linear_gaussian_log_weights(x, q_mean, q_var, num_samples, rng):
    """log w = log p(x|z) + log p(z) - log q(z|x), z ~ q, with the course's loss functions."""
    z = q_mean[None] + math.sqrt(q_var) * rng.standard_normal((num_samples, len(x)))
    log_px_z = -as_numpy(losses.gaussian_nll(as_images(np.broadcast_to(x, z.shape)), as_images(z),
                                             math.log(NOISE_VAR))).reshape(z.shape)
    log_pz = as_numpy(losses.log_normal_pdf(z[..., None]))
    log_qz = as_numpy(losses.log_normal_pdf(z[..., None], np.broadcast_to(q_mean, z.shape)[..., None],
                                            math.log(q_var)))
    return log_px_z + log_pz - log_qz  # (k, batch)


def test_log_weights_are_exact_with_the_exact_posterior(rng):
    x = np.array([-1.0, 0.0, 2.0])
    q_mean, q_var = exact_posterior(x)
    log_weights = linear_gaussian_log_weights(x, q_mean, q_var, 5, rng)
    # with q = p(z|x), w = p(x, z) / p(z|x) = p(x) for every z
    np.testing.assert_allclose(log_weights, np.broadcast_to(linear_gaussian_log_evidence(x), (5, 3)),
                               atol=1e-4)


def test_iwae_rises_with_k_towards_log_evidence(rng):
    batch = 1000
    x = np.full(batch, 1.2)
    post_mean, post_var = exact_posterior(x)
    q_mean, q_var = post_mean - 0.6, 2.0 * post_var  # mis-specified, heavier-tailed q
    log_evidence = float(linear_gaussian_log_evidence(1.2))
    elbo_value = float(analytic_elbo(x[:1], q_mean[:1], q_var)[0])
    bounds = {}
    for k in (1, 10, 100, 1000):
        weights = linear_gaussian_log_weights(x, q_mean, q_var, k, rng)
        bounds[k] = float(np.mean(as_numpy(losses.iwae_bound(weights))))
    # k = 1 is an unbiased estimate of the ELBO
    assert abs(bounds[1] - elbo_value) < 0.05
    assert elbo_value < bounds[10] < bounds[100] < bounds[1000] <= log_evidence + 1e-3
    assert log_evidence - bounds[1000] < 0.01
    assert log_evidence - elbo_value > 0.2  # the test is not trivially satisfied


# --- autoregressive text (notebook 08): Eqs. (AR.2) and (AR.3) -----------------------------------


def numpy_char_cross_entropy(targets, logits):
    """Per sequence: mean over positions of log Σ_j exp(l_j) - l_target, the log-sum-exp by hand."""
    logits = np.asarray(logits, dtype="float64")
    peak = logits.max(axis=-1, keepdims=True)
    log_normaliser = peak[..., 0] + np.log(np.exp(logits - peak).sum(axis=-1))
    chosen = np.take_along_axis(logits, np.asarray(targets)[..., None], axis=-1)[..., 0]
    return (log_normaliser - chosen).mean(axis=-1)


def test_char_cross_entropy_matches_numpy(rng):
    logits = rng.normal(scale=3.0, size=(4, 6, 9)).astype("float32")
    targets = rng.integers(0, 9, size=(4, 6)).astype("int32")
    result = as_numpy(losses.char_cross_entropy(targets, logits))
    assert result.shape == (4,)
    np.testing.assert_allclose(result, numpy_char_cross_entropy(targets, logits), rtol=1e-5)
    # a sure prediction of the right character costs ~0 nats; of a wrong one, a lot
    sure = np.full((1, 3, 9), -30.0, "float32")
    sure[0, np.arange(3), [1, 2, 3]] = 30.0
    assert float(losses.char_cross_entropy([[1, 2, 3]], sure)[0]) < 1e-6
    assert float(losses.char_cross_entropy([[0, 0, 0]], sure)[0]) > 50.0


@pytest.mark.parametrize("size", [2, 27, 65])
def test_a_uniform_model_scores_log_v_nats_and_log2_v_bits(size, rng):
    targets = rng.integers(0, size, size=(3, 10))
    nats = as_numpy(losses.char_cross_entropy(targets, np.full((3, 10, size), 1.7, "float32")))
    np.testing.assert_allclose(nats, math.log(size), rtol=1e-6)
    np.testing.assert_allclose(as_numpy(losses.bits_per_char(nats)), math.log2(size), rtol=1e-6)
    np.testing.assert_allclose(as_numpy(losses.perplexity(nats)), size, rtol=1e-5)


def test_bits_and_perplexity_match_their_definitions(rng):
    nats = rng.uniform(0.5, 4.0, size=7)
    np.testing.assert_allclose(losses.bits_per_char(nats), nats / np.log(2.0))
    np.testing.assert_allclose(losses.perplexity(nats), np.exp(nats))
    np.testing.assert_allclose(as_numpy(losses.perplexity(tf.constant(nats, tf.float32))), np.exp(nats), rtol=1e-6)
    assert losses.bits_per_char(1.0) == pytest.approx(1.4426950408889634)


# --- Wasserstein and conditional GANs (notebook 06) ----------------------------------------------


def test_wasserstein_losses_are_score_differences(rng):
    real, fake = rng.normal(size=(6, 1)), rng.normal(size=(6, 1))
    np.testing.assert_allclose(as_numpy(losses.wasserstein_critic_loss(real, fake)), fake[:, 0] - real[:, 0], rtol=1e-6)
    np.testing.assert_allclose(as_numpy(losses.wasserstein_generator_loss(fake)), -fake[:, 0], rtol=1e-6)


def test_interpolates_use_one_alpha_per_example(rng):
    real, fake = rng.normal(size=(4, 3, 3, 2)), rng.normal(size=(4, 3, 3, 2))
    alpha = np.array([0.0, 0.25, 0.5, 1.0])
    expected = np.stack([a * r + (1 - a) * f for a, r, f in zip(alpha, real, fake)])
    np.testing.assert_allclose(as_numpy(losses.interpolates(real, fake, alpha)), expected, rtol=1e-5, atol=1e-6)


def test_gradient_penalty_matches_the_norm_formula(rng):
    gradients = rng.normal(size=(5, 4, 4, 1)) * np.array([0.1, 0.5, 1.0, 2.0, 4.0])[:, None, None, None]
    norms = np.sqrt(np.sum(gradients.reshape(5, -1) ** 2, axis=1))
    np.testing.assert_allclose(as_numpy(losses.gradient_penalty(gradients, 10.0)), 10.0 * (norms - 1.0) ** 2,
                               rtol=1e-4)
    unit = gradients / norms[:, None, None, None]
    np.testing.assert_allclose(as_numpy(losses.gradient_penalty(unit)), 0.0, atol=1e-5)  # the optimum


def test_gradient_penalty_of_a_quadratic_critic_matches_finite_differences(rng):
    """f(x) = ½ xᵀAx + bᵀx: the penalty through tf's gradient against central differences of f."""
    dim = 6
    a = rng.normal(size=(dim, dim))
    a = (a + a.T) / 2
    b = rng.normal(size=dim)
    points = rng.normal(size=(4, dim))

    def f(x):
        return 0.5 * x @ a @ x + b @ x

    step = 1e-5
    fd = np.array([[(f(x + step * e) - f(x - step * e)) / (2 * step) for e in np.eye(dim)] for x in points])
    reference = 10.0 * (np.linalg.norm(fd, axis=1) - 1.0) ** 2
    x = tf.constant(points, "float64")
    with tf.GradientTape() as tape:
        tape.watch(x)
        scores = 0.5 * tf.einsum("bi,ij,bj->b", x, tf.constant(a), x) + tf.linalg.matvec(x, tf.constant(b))
        total = tf.reduce_sum(scores)
    gradients = tf.cast(tape.gradient(total, x), "float32")
    np.testing.assert_allclose(as_numpy(losses.gradient_penalty(gradients, 10.0)), reference, rtol=1e-4)


def test_gradient_penalty_is_finite_with_a_zero_gradient():
    zeros = tf.zeros((3, 4))
    with tf.GradientTape() as tape:
        tape.watch(zeros)
        penalty = losses.gradient_penalty(zeros, 10.0)
    np.testing.assert_allclose(as_numpy(penalty), 10.0, rtol=1e-5)
    assert np.all(np.isfinite(as_numpy(tape.gradient(penalty, zeros))))


def test_auxiliary_class_loss_matches_scipy_and_is_stable(rng):
    logits = rng.normal(size=(5, 10)) * 3
    labels = rng.integers(0, 10, size=5)
    expected = special.logsumexp(logits, axis=1) - logits[np.arange(5), labels]
    np.testing.assert_allclose(as_numpy(losses.auxiliary_class_loss(labels, logits)), expected, rtol=1e-5)
    huge = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]])
    np.testing.assert_allclose(as_numpy(losses.auxiliary_class_loss([0, 0], huge)), [0.0, 2000.0], rtol=1e-6)
