"""Diffusion (notebook 07): each equation against independent maths, the samplers on data whose
optimal noise predictor is known in closed form, the model's training and sampling contract, and
the command line."""

import contextlib
import io

import keras
import numpy as np
import pytest

from genai_tf import cli, losses, sampling
from genai_tf.data import images as image_data
from genai_tf.models import diffusion, registry

pytestmark = pytest.mark.filterwarnings("ignore:`shuffle=True` was passed")

T = 1000


# --- schedules, Eqs. (DM.2), (DM.4), (DM.5) ---------------------------------------------------
def test_linear_schedule_is_the_papers():
    betas = sampling.schedules.linear_beta_schedule(T)
    assert betas.shape == (T,) and betas[0] == pytest.approx(1e-4) and betas[-1] == pytest.approx(0.02)
    np.testing.assert_allclose(np.diff(betas), (0.02 - 1e-4) / (T - 1), rtol=1e-9)


def test_alpha_bars_are_the_running_product():
    betas = np.random.default_rng(0).uniform(0.001, 0.2, 50)
    product, expected = 1.0, []
    for beta in betas:
        product *= 1.0 - beta
        expected.append(product)
    np.testing.assert_allclose(sampling.schedules.alpha_bars_from_betas(betas), expected, rtol=1e-12)
    np.testing.assert_allclose(sampling.schedules.betas_from_alpha_bars(expected), betas, rtol=1e-9)


def test_cosine_schedule_matches_its_formula_where_unclipped():
    alpha_bars = sampling.schedules.cosine_alpha_bars(T)
    t = np.arange(1, T + 1)
    formula = np.cos((t / T + 0.008) / 1.008 * np.pi / 2) ** 2 / np.cos(0.008 / 1.008 * np.pi / 2) ** 2
    np.testing.assert_allclose(alpha_bars[:-20], formula[:-20], rtol=1e-9)
    assert np.all(np.diff(alpha_bars) < 0) and alpha_bars[-1] > 0
    assert sampling.schedules.betas_from_alpha_bars(alpha_bars).max() <= 0.999 + 1e-12
    # the cosine schedule destroys information more slowly: its SNR stays higher mid-chain
    linear = sampling.schedules.noise_schedule("linear", T)
    assert alpha_bars[T // 2] > 2 * linear[T // 2]
    with pytest.raises(ValueError, match="Unknown noise schedule 'quadratic'"):
        sampling.schedules.noise_schedule("quadratic", T)


# --- the forward process, Eqs. (DM.1)-(DM.6) -------------------------------------------------
def test_closed_form_marginal_matches_iterating_the_chain():
    """q(x_t | x_0) = N(√ᾱ_t x_0, 1-ᾱ_t) against 200 one-step updates x ← √(1-β)x + √β z."""
    rng = np.random.default_rng(1)
    betas = sampling.schedules.linear_beta_schedule(T)
    alpha_bars = sampling.schedules.alpha_bars_from_betas(betas)
    clean = np.array([-0.8, 0.1, 0.9])
    n, t = 40_000, 200
    x = np.repeat(clean[None], n, axis=0)
    for step in range(t):
        x = np.sqrt(1 - betas[step]) * x + np.sqrt(betas[step]) * rng.standard_normal(x.shape)
    mean, variance = np.sqrt(alpha_bars[t - 1]) * clean, 1 - alpha_bars[t - 1]
    standard_error = np.sqrt(variance / n)
    np.testing.assert_array_less(np.abs(x.mean(0) - mean), 4 * standard_error)
    np.testing.assert_array_less(np.abs(x.var(0) - variance), 4 * variance * np.sqrt(2 / n))
    # and q_sample draws from that closed form
    noise = rng.standard_normal((n, 3))
    drawn = np.asarray(losses.q_sample(np.repeat(clean[None], n, 0), noise, np.full(n, alpha_bars[t - 1])))
    np.testing.assert_allclose(drawn, mean + np.sqrt(variance) * noise, rtol=1e-5, atol=1e-5)


def test_predicted_clean_inverts_q_sample():
    rng = np.random.default_rng(2)
    clean, noise = rng.uniform(-1, 1, (4, 5, 5, 1)), rng.standard_normal((4, 5, 5, 1))
    alpha_bar = np.array([0.999, 0.6, 0.2, 0.01])
    noisy = losses.q_sample(clean, noise, alpha_bar)
    np.testing.assert_allclose(np.asarray(losses.predicted_clean(noisy, noise, alpha_bar)), clean, atol=2e-4)


def test_posterior_is_bayes_rule_on_the_two_gaussians():
    """q(x_{t-1} | x_t, x_0) ∝ q(x_t | x_{t-1}) q(x_{t-1} | x_0): precisions add, means weight."""
    alpha_bar_prev, alpha_bar = np.array([0.9, 0.5, 0.05]), np.array([0.85, 0.45, 0.04])
    clean, noisy = np.array([0.3, -0.7, 0.5]), np.array([0.1, 0.4, -1.2])
    alpha = alpha_bar / alpha_bar_prev
    beta = 1 - alpha
    precision = 1 / (1 - alpha_bar_prev) + alpha / beta
    expected_mean = (np.sqrt(alpha_bar_prev) * clean / (1 - alpha_bar_prev) + np.sqrt(alpha) * noisy / beta) / precision
    mean, variance = losses.posterior_mean_variance(clean, noisy, alpha_bar, alpha_bar_prev)
    np.testing.assert_allclose(np.asarray(mean), expected_mean, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(variance), 1 / precision, rtol=1e-5)


def test_bound_term_is_the_weighted_noise_error():
    """KL(q(x_{t-1}|x_t,x_0) ‖ p_θ(x_{t-1}|x_t)) between Gaussians of variance σ² is λ_t ‖ε - ε̂‖² (Eq. DM.8)."""
    rng = np.random.default_rng(3)
    alpha_bars = sampling.schedules.noise_schedule("linear", T)
    for index in (1, 100, 700):
        alpha_bar, alpha_bar_prev = alpha_bars[index], alpha_bars[index - 1]
        beta = 1 - alpha_bar / alpha_bar_prev
        variance = (1 - alpha_bar_prev) / (1 - alpha_bar) * beta  # σ_t² = β̃_t
        clean, noise, guess = rng.uniform(-1, 1, 6), rng.standard_normal(6), rng.standard_normal(6)
        noisy = np.sqrt(alpha_bar) * clean + np.sqrt(1 - alpha_bar) * noise
        # μ̃ by Bayes' rule in float64 (the float32 library function is checked above)
        precision = 1 / (1 - alpha_bar_prev) + (1 - beta) / beta
        true_mean = (np.sqrt(alpha_bar_prev) * clean / (1 - alpha_bar_prev) + np.sqrt(1 - beta) * noisy / beta) / precision
        model_mean = (noisy - beta / np.sqrt(1 - alpha_bar) * guess) / np.sqrt(1 - beta)  # μ_θ from ε̂
        kl = np.sum((true_mean - model_mean) ** 2) / (2 * variance)  # equal variances
        weight = losses.bound_weight(alpha_bar, alpha_bar_prev, variance)
        assert weight * np.sum((noise - guess) ** 2) == pytest.approx(kl, rel=1e-4)


def test_noise_prediction_loss_is_the_mean_squared_error():
    rng = np.random.default_rng(4)
    noise, predicted = rng.standard_normal((3, 4, 4, 2)), rng.standard_normal((3, 4, 4, 2))
    expected = ((noise - predicted) ** 2).reshape(3, -1).mean(1)
    np.testing.assert_allclose(np.asarray(losses.noise_prediction_loss(noise, predicted)), expected, rtol=1e-5)


# --- v-prediction, Eqs. (DM.15)-(DM.17) -------------------------------------------------------
def test_velocity_round_trip_recovers_the_clean_image_and_the_noise():
    """Given the true v, Eq. (DM.16) returns x_0 and ε exactly, even where ᾱ_t is 2·10⁻⁹."""
    rng = np.random.default_rng(11)
    clean, noise = rng.uniform(-1, 1, (4, 3, 3, 1)), rng.standard_normal((4, 3, 3, 1))
    alpha_bar = np.array([0.999, 0.5, 1e-3, 2.4e-9])
    a = alpha_bar[:, None, None, None]
    noisy = np.sqrt(a) * clean + np.sqrt(1 - a) * noise
    velocity = np.sqrt(a) * noise - np.sqrt(1 - a) * clean  # written out, not the library's
    np.testing.assert_allclose(np.asarray(losses.velocity_target(clean, noise, alpha_bar)), velocity, atol=1e-6)
    recovered_clean, recovered_noise = losses.clean_and_noise_from_velocity(noisy, velocity, alpha_bar)
    np.testing.assert_allclose(np.asarray(recovered_clean), clean, atol=1e-5)
    np.testing.assert_allclose(np.asarray(recovered_noise), noise, atol=1e-5)


def test_a_velocity_error_stays_bounded_where_a_noise_error_explodes():
    """The same-size prediction error at ᾱ_T ≈ 2·10⁻⁹: Eq. (DM.3) multiplies it by √((1-ᾱ)/ᾱ) ≈ 2·10⁴, Eq. (DM.16) by √(1-ᾱ) ≤ 1."""
    rng = np.random.default_rng(12)
    clean, noise, error = rng.uniform(-1, 1, (1, 64)), rng.standard_normal((1, 64)), 0.01 * rng.standard_normal((1, 64))
    alpha_bar = np.array([2.4e-9])
    noisy = np.sqrt(alpha_bar) * clean + np.sqrt(1 - alpha_bar) * noise
    from_noise = np.asarray(losses.predicted_clean(noisy, noise + error, alpha_bar)) - clean
    velocity = np.sqrt(alpha_bar) * noise - np.sqrt(1 - alpha_bar) * clean
    from_velocity = np.asarray(losses.clean_and_noise_from_velocity(noisy, velocity + error, alpha_bar)[0]) - clean
    assert np.linalg.norm(from_noise) / np.linalg.norm(error) == pytest.approx(np.sqrt((1 - 2.4e-9) / 2.4e-9), rel=0.02)
    assert np.linalg.norm(from_velocity) / np.linalg.norm(error) == pytest.approx(1.0, rel=1e-3)


def test_velocity_weight_is_min_snr_on_the_clean_image_error():
    """Eq. (DM.17): w_t ‖v - v̂‖² = min(1 + SNR_t, γ) ‖x_0 - x̂_0‖², x̂_0 by Eq. (DM.16), for any v̂."""
    rng = np.random.default_rng(13)
    alpha_bar = np.array([0.999, 0.9, 0.5, 0.1, 1e-4])
    clean, noise, guess = (rng.standard_normal((5, 6)) for _ in range(3))
    a = alpha_bar[:, None]
    noisy = np.sqrt(a) * clean + np.sqrt(1 - a) * noise
    velocity = np.sqrt(a) * noise - np.sqrt(1 - a) * clean
    clean_guess = np.sqrt(a) * noisy - np.sqrt(1 - a) * guess
    weight = np.asarray(losses.min_snr_velocity_weight(alpha_bar, 5.0))
    snr = alpha_bar / (1 - alpha_bar)
    np.testing.assert_allclose(weight * np.sum((velocity - guess) ** 2, 1),
                               np.minimum(1 + snr, 5.0) * np.sum((clean - clean_guess) ** 2, 1), rtol=2e-4)
    np.testing.assert_allclose(weight[-3:], 1.0, rtol=1e-6)  # the noisy steps (1 + SNR ≤ γ) count fully


def _mixture_log_density(x, means, stds, weights, alpha_bar):
    variances = alpha_bar * stds**2 + 1 - alpha_bar
    offsets = x[:, None, :] - np.sqrt(alpha_bar) * means[None]
    d = means.shape[1]
    log_terms = (np.log(weights) - 0.5 * np.sum(offsets**2, -1) / variances
                 - 0.5 * d * np.log(2 * np.pi * variances))
    return np.log(np.sum(np.exp(log_terms), -1))


def test_exact_noise_predictor_is_the_scaled_score():
    """Eq. (DM.11): the mixture's E[ε | x_t] = -√(1-ᾱ) ∇ log p_t, the gradient by finite differences."""
    means, stds, weights = np.array([[-1.5, 0.5], [1.0, -0.5]]), np.array([0.3, 0.6]), np.array([0.4, 0.6])
    alpha_bars = sampling.schedules.noise_schedule("cosine", T)
    predict = sampling.diffusion.gaussian_mixture_noise(means, stds, weights, alpha_bars)
    x = np.random.default_rng(5).standard_normal((5, 2))
    for index in (10, 400, 900):
        h, gradient = 1e-5, np.zeros_like(x)
        for k in range(2):
            step = np.zeros(2)
            step[k] = h
            gradient[:, k] = (_mixture_log_density(x + step, means, stds, weights, alpha_bars[index])
                              - _mixture_log_density(x - step, means, stds, weights, alpha_bars[index])) / (2 * h)
        epsilon = predict(x, index)
        np.testing.assert_allclose(epsilon, -np.sqrt(1 - alpha_bars[index]) * gradient, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(np.asarray(losses.score_from_noise(epsilon, np.full(5, alpha_bars[index]))),
                                   gradient, rtol=1e-4, atol=1e-5)


# --- samplers, Eqs. (DM.12)-(DM.14) ----------------------------------------------------------
def test_ddim_with_eta_one_is_the_posterior_step_and_ddpm():
    rng = np.random.default_rng(6)
    alpha_bars = sampling.schedules.noise_schedule("linear", T)
    alpha_bar, alpha_bar_prev = alpha_bars[300], alpha_bars[299]
    noisy, epsilon, z = rng.standard_normal((3, 8)), rng.standard_normal((3, 8)), rng.standard_normal((3, 8))
    clean = (noisy - np.sqrt(1 - alpha_bar) * epsilon) / np.sqrt(alpha_bar)
    mean, variance = losses.posterior_mean_variance(clean, noisy, np.full(3, alpha_bar), np.full(3, alpha_bar_prev))
    posterior_draw = np.asarray(mean) + np.sqrt(np.asarray(variance))[:, None] * z
    ddim = sampling.diffusion.ddim_step(noisy, epsilon, alpha_bar, alpha_bar_prev, 1.0, z)
    ddpm = sampling.diffusion.ddpm_step(noisy, epsilon, alpha_bar, alpha_bar_prev, float(np.asarray(variance)[0]), z)
    np.testing.assert_allclose(np.asarray(ddim), posterior_draw, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(ddpm), posterior_draw, rtol=1e-4, atol=1e-4)
    # η = 0 ignores z, and steps x along ε̂ onto the earlier marginal's mean ± noise direction
    deterministic = np.asarray(sampling.diffusion.ddim_step(noisy, epsilon, alpha_bar, alpha_bar_prev, 0.0, z))
    expected = np.sqrt(alpha_bar_prev) * clean + np.sqrt(1 - alpha_bar_prev) * epsilon
    np.testing.assert_allclose(deterministic, expected, rtol=1e-4, atol=1e-4)


def test_guided_noise_extrapolates_away_from_the_unconditional():
    conditional, unconditional = np.array([1.0, -2.0]), np.array([0.5, 1.0])
    np.testing.assert_allclose(np.asarray(sampling.diffusion.guided_noise(conditional, unconditional, 0.0)), conditional)
    np.testing.assert_allclose(np.asarray(sampling.diffusion.guided_noise(conditional, unconditional, 2.0)),
                               3 * conditional - 2 * unconditional)


def test_timestep_sequences():
    np.testing.assert_array_equal(sampling.diffusion.timestep_sequence(T, T), np.arange(T)[::-1])
    np.testing.assert_array_equal(sampling.diffusion.timestep_sequence(T, 1), [T - 1])
    sequence = sampling.diffusion.timestep_sequence(T, 25)
    # trailing: t = 1000, 960, …, 40, so code indices 999 … 39, all 40 apart
    assert len(sequence) == 25 and sequence[0] == T - 1 and sequence[-1] == T // 25 - 1
    np.testing.assert_array_equal(np.diff(sequence), -T // 25)
    np.testing.assert_array_equal(sampling.diffusion.timestep_sequence(T, 5), [999, 799, 599, 399, 199])
    assert np.all(np.diff(sampling.diffusion.timestep_sequence(T, 999)) < 0)  # distinct even when T/steps < 2
    with pytest.raises(ValueError, match="between 1 and the training chain's 1000 steps"):
        sampling.diffusion.timestep_sequence(T, T + 1)


def _snr_levels(lam):
    """ᾱ at half log-SNR λ (ᾱ = sigmoid(2λ)), and α, σ."""
    alpha_bar = 1.0 / (1.0 + np.exp(-2.0 * lam))
    return alpha_bar, np.sqrt(alpha_bar), np.sqrt(1.0 - alpha_bar)


def test_dpm_solver_first_step_is_ddim_and_the_last_returns_the_clean_estimate():
    rng = np.random.default_rng(0)
    noisy, clean = rng.normal(size=(4, 3)), rng.uniform(-1, 1, size=(4, 3))
    alpha_bar, alpha_bar_prev = 0.3, 0.6
    epsilon = (noisy - np.sqrt(alpha_bar) * clean) / np.sqrt(1 - alpha_bar)
    ddim = sampling.diffusion.ddim_step(noisy, epsilon, alpha_bar, alpha_bar_prev, 0.0, np.zeros_like(noisy))
    first = sampling.diffusion.dpm_solver_2m_step(noisy, clean, None, alpha_bar, alpha_bar_prev)
    np.testing.assert_allclose(first, ddim, atol=1e-5)
    last = sampling.diffusion.dpm_solver_2m_step(noisy, clean, clean + 1, alpha_bar, 1.0, 0.1)
    np.testing.assert_allclose(last, clean, atol=1e-6)
    assert sampling.diffusion.log_snr(0.5) == 0.0


def test_dpm_solver_2m_step_has_third_order_local_error():
    """If x̂_0 is linear in λ, x̂_0(u) = a + b (u - λ), the probability-flow ODE in λ integrates in
    closed form: x_{t'} = (σ'/σ) x_t + α' [a (1 - e^{-h}) + b (h - 1 + e^{-h})]. The 2M step's error
    against it shrinks like h³ (×8 per halving); the first-order (DDIM) step's like h² (×4)."""
    rng = np.random.default_rng(1)
    noisy, a, b = rng.normal(size=5), rng.normal(size=5), rng.normal(size=5)
    lam = -1.0
    errors = {"2m": [], "ddim": []}
    for h in (0.4, 0.2, 0.1):
        (ab, _, sigma), (ab_next, alpha_next, sigma_next) = _snr_levels(lam), _snr_levels(lam + h)
        exact = sigma_next / sigma * noisy + alpha_next * (a * -np.expm1(-h) + b * (h - 1 + np.exp(-h)))
        ab_before = _snr_levels(lam - h)[0]  # the previous prediction, one step of h earlier: a - b h
        two = sampling.diffusion.dpm_solver_2m_step(noisy, a, a - b * h, ab, ab_next, ab_before)
        one = sampling.diffusion.dpm_solver_2m_step(noisy, a, None, ab, ab_next)
        errors["2m"].append(np.abs(np.asarray(two) - exact).max())
        errors["ddim"].append(np.abs(np.asarray(one) - exact).max())
    two, one = np.array(errors["2m"]), np.array(errors["ddim"])
    assert np.all(two < one / 5)
    np.testing.assert_allclose(two[:-1] / two[1:], 8.0, rtol=0.2)
    np.testing.assert_allclose(one[:-1] / one[1:], 4.0, rtol=0.2)


def test_solver_requests_are_checked():
    with pytest.raises(ValueError, match="choose one of"):
        sampling.diffusion.check_solver("euler", 0.0)
    with pytest.raises(ValueError, match="needs solver='ddim'"):
        sampling.diffusion.check_solver("dpm++2m", 1.0)


MEANS, STDS, WEIGHTS = np.array([[-2.0], [1.5]]), np.array([0.3, 0.5]), np.array([0.3, 0.7])
DATA_MEAN = float(WEIGHTS @ MEANS[:, 0])
DATA_VARIANCE = float(WEIGHTS @ (STDS**2 + MEANS[:, 0] ** 2)) - DATA_MEAN**2


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
@pytest.mark.parametrize(("steps", "eta", "solver"), [(T, 1.0, "ddim"), (50, 0.0, "ddim"), (15, 0.0, "dpm++2m")])
def test_samplers_with_the_exact_predictor_recover_the_data(schedule, steps, eta, solver):
    alpha_bars = sampling.schedules.noise_schedule(schedule, T)
    predict = sampling.diffusion.gaussian_mixture_noise(MEANS, STDS, WEIGHTS, alpha_bars)
    n = 20_000 if steps == T else 40_000
    x = sampling.diffusion.sample(predict, (n, 1), alpha_bars, steps, eta=eta, seed=1, solver=solver)[:, 0]
    assert abs(x.mean() - DATA_MEAN) < 4.5 * np.sqrt(DATA_VARIANCE / n)
    assert x.var() == pytest.approx(DATA_VARIANCE, rel=0.05)
    # the two modes keep their weights
    assert np.mean(x < -0.25) == pytest.approx(WEIGHTS[0], abs=0.02)


def test_one_step_sampling_collapses_to_the_mean():
    """A check that a sampler test can fail: one DDIM step returns E[x_0 | x_T] ≈ the data mean."""
    alpha_bars = sampling.schedules.noise_schedule("linear", T)
    predict = sampling.diffusion.gaussian_mixture_noise(MEANS, STDS, WEIGHTS, alpha_bars)
    x = sampling.diffusion.sample(predict, (5000, 1), alpha_bars, 1, seed=1)[:, 0]
    assert x.var() < 0.01 * DATA_VARIANCE and x.mean() == pytest.approx(DATA_MEAN, abs=0.05)


def test_sample_can_clip_and_return_the_trajectory():
    alpha_bars = sampling.schedules.noise_schedule("cosine", T)
    predict = sampling.diffusion.gaussian_mixture_noise(MEANS, STDS, WEIGHTS, alpha_bars)
    x, path = sampling.diffusion.sample(predict, (200, 1), alpha_bars, 10, seed=3, clip=(-1.0, 1.0), trajectory=True)
    assert len(path) == 10 and all(p.shape == (200, 1) for p in path)
    assert max(np.abs(p).max() for p in path) <= 1.0 + 1e-6
    np.testing.assert_allclose(x, path[-1], atol=1e-5)  # the last step lands on its own x̂_0


# --- the model -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    return image_data.load("digits", batch_size=32, limit=256, seed=0)


def _small_model(ema_decay=None, seed=0, prediction="v"):
    model = diffusion.build_diffusion((28, 28, 1), channels=(8, 16), ema_decay=ema_decay, seed=seed,
                                      prediction=prediction)
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    return model


def test_training_lowers_the_noise_prediction_loss(digits):
    keras.utils.set_random_seed(0)
    model = _small_model(prediction="epsilon")
    before = model.evaluate(digits.validation, verbose=0, return_dict=True)["loss"]
    model.fit(digits.train, epochs=8, verbose=0)
    after = model.evaluate(digits.validation, verbose=0, return_dict=True)["loss"]
    assert before > 0.7  # an untrained predictor is about as far from ε as ε is from 0
    assert after < 0.6 * before


def test_weight_average_follows_its_recursion(digits):
    keras.utils.set_random_seed(0)
    model = _small_model(ema_decay=0.9)
    start = [w.copy() for w in model.network.get_weights()]
    images, labels = next(iter(digits.train))
    model.train_on_batch(images, labels)
    decay = min(0.9, 2 / 11)  # the warm-up after one step
    for average, first, now in zip(model.ema_network.get_weights(), start, model.network.get_weights(), strict=True):
        np.testing.assert_allclose(average, decay * first + (1 - decay) * now, rtol=1e-5, atol=1e-6)
    assert not np.allclose(model.ema_network.get_weights()[0], model.network.get_weights()[0])


def test_generate_checks_its_request():
    model = _small_model()
    with pytest.raises(ValueError, match="1000-step chain"):
        model.generate(2, steps=T + 1)
    with pytest.raises(ValueError, match="guidance weight w must be a finite number ≥ 0"):
        model.generate(2, labels=[1, 2], guidance=-1.0)
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 10\)"):
        model.generate(2, labels=[1, 10])
    with pytest.raises(ValueError, match="Guidance needs labels"):
        model.generate(2, guidance=1.0)
    with pytest.raises(ValueError, match="eta=2"):
        model.generate(2, eta=2)
    with pytest.raises(ValueError, match="needs solver='ddim'"):
        model.generate(2, eta=1.0, solver="dpm++2m")


def test_sampling_is_seeded_and_batched():
    model = _small_model()
    first = model.generate(5, seed=3, steps=4)
    assert first.shape == (5, 28, 28, 1) and first.dtype == np.float32 and 0 <= first.min() <= first.max() <= 1
    np.testing.assert_allclose(model.generate(5, seed=3, steps=4, batch_size=2), first, atol=1e-5)  # η = 0
    assert not np.allclose(model.generate(5, seed=4, steps=4), first)
    noisy = model.generate(5, seed=3, steps=4, eta=1.0)
    assert not np.allclose(noisy, first)  # η = 1 adds fresh noise at each step
    labels = [0, 1, 2, 3, 4]
    guided = model.generate(5, seed=3, steps=4, labels=labels, guidance=2.0)
    plain = model.generate(5, seed=3, steps=4, labels=labels, guidance=0.0)
    assert not np.allclose(guided, plain)
    final, path = model.denoise(5, seed=3, steps=4, trajectory=True)
    np.testing.assert_allclose(final, first, atol=1e-6)
    # at η = 0 the default solver is DPM-Solver++(2M); DDIM differs from its second step on
    np.testing.assert_allclose(model.generate(5, seed=3, steps=4, solver="dpm++2m"), first, atol=1e-6)
    assert not np.allclose(model.generate(5, seed=3, steps=4, solver="ddim"), first, atol=1e-4)
    # one step: both return x̂_0 (DDIM re-derives it from ε̂ in float32, through 1/√ᾱ_T ≈ 2·10⁴: atol 2e-3)
    np.testing.assert_allclose(model.generate(5, seed=3, steps=1, solver="ddim"),
                               model.generate(5, seed=3, steps=1), atol=2e-3)
    assert len(path) == 4 and path[0].shape == first.shape


def test_unconditional_samples_draw_their_classes_from_the_training_labels():
    """y ~ p(y) (the labels trained on), then x ~ p(x | y) unguided; the null class is a separate sampler."""
    model = _small_model()
    images = np.zeros((16, 28, 28, 1), "float32")
    np.testing.assert_allclose(model.class_prior(), 0.1)  # nothing seen yet: uniform
    model.train_on_batch(images, np.full(16, 3))
    model.train_on_batch(images[:4], np.full(4, 7))
    np.testing.assert_allclose(model.class_prior(), np.eye(10)[3] * 0.8 + np.eye(10)[7] * 0.2)
    single = _small_model()
    single.train_on_batch(images, np.full(16, 3))
    unconditional = single.generate(4, seed=5, steps=3)
    np.testing.assert_allclose(unconditional, single.generate(4, seed=5, steps=3, labels=[3] * 4, guidance=0.0),
                               atol=1e-6)
    assert not np.allclose(single.generate(4, seed=5, steps=3, null_class=True), unconditional)
    with pytest.raises(ValueError, match="takes no labels"):
        single.generate(2, labels=[1, 2], null_class=True)


@pytest.mark.parametrize(("prediction", "saturated"), [("epsilon", True), ("v", False)])
def test_one_step_from_pure_noise_is_bounded_only_with_velocity(prediction, saturated):
    """A network that predicts 0 everywhere: from ᾱ_T ≈ 2·10⁻⁹, ε̂ = 0 sends x̂_0 = x_T/√ᾱ_T to the clip (±1),
    v̂ = 0 sends it to √ᾱ_T x_T ≈ 0, mid-grey."""
    model = diffusion.build_diffusion((28, 28, 1), channels=(8, 16), prediction=prediction, seed=0)
    model.network.set_weights([np.zeros_like(weight) for weight in model.network.get_weights()])
    model.ema_network = None
    images = model.generate(8, seed=0, steps=1, null_class=True)
    share_at_the_clip = np.mean((images < 1e-3) | (images > 1 - 1e-3))
    if saturated:
        assert share_at_the_clip > 0.99
    else:
        np.testing.assert_allclose(images, 0.5, atol=1e-3)


def test_velocity_training_lowers_its_loss(digits):
    keras.utils.set_random_seed(0)
    model = diffusion.build_diffusion((28, 28, 1), channels=(8, 16), prediction="v", seed=0)
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    before = model.evaluate(digits.validation, verbose=0, return_dict=True)["loss"]
    model.fit(digits.train, epochs=6, verbose=0)
    after = model.evaluate(digits.validation, verbose=0, return_dict=True)["loss"]
    assert np.isfinite(after) and after < 0.7 * before
    with pytest.raises(ValueError, match="prediction='x0'"):
        diffusion.build_diffusion((28, 28, 1), channels=(8, 16), prediction="x0")


def test_errors_by_timestep_score_each_network_on_its_own_target():
    """Eq. (DM.9) on ε, or on v = √ᾱ ε - √(1-ᾱ) x_0 (Eq. DM.15), written out here in NumPy."""
    images, labels, t_values = np.random.default_rng(7).uniform(0, 1, (3, 28, 28, 1)), np.array([1, 4, 10]), (1, 500, T)
    for prediction in ("epsilon", "v"):
        model = _small_model(prediction=prediction)
        clean = np.concatenate([2 * images - 1] * 3).astype("float32")
        noise = np.random.default_rng(0).standard_normal(clean.shape).astype("float32")
        index = np.repeat(np.array(t_values) - 1, 3)
        a = model.alpha_bars[index][:, None, None, None]
        noisy = (np.sqrt(a) * clean + np.sqrt(1 - a) * noise).astype("float32")
        target = noise if prediction == "epsilon" else np.sqrt(a) * noise - np.sqrt(1 - a) * clean
        output = np.asarray(model.network([noisy, index.astype("int32"), np.tile(labels, 3)], training=False))
        expected = ((output - target) ** 2).reshape(3, -1).mean(1)
        np.testing.assert_allclose(model.errors_by_timestep(images, labels, t_values, seed=0), expected,
                                   rtol=2e-3, atol=1e-5)


def test_the_family_refuses_a_latent_size():
    with pytest.raises(ValueError, match="no separate latent"):
        registry.family("diffusion").build((28, 28, 1), 16, 0)


def test_a_variant_narrows_the_unet_and_shortens_the_chain_and_keeps_the_recipe():
    family = registry.family("diffusion")
    registered = family.build((28, 28, 1), 0, 0)
    smaller = family.variant(channels=(8, 16), timesteps=50).build((28, 28, 1), 0, 0)
    assert smaller.timesteps == 50 and registered.timesteps == 1000
    assert smaller.network.count_params() < registered.network.count_params() / 5
    for name in ("schedule", "label_dropout", "guidance", "min_snr_gamma", "ema_decay", "num_classes", "prediction"):
        assert getattr(smaller, name) == getattr(registered, name), name
    assert type(smaller.optimizer) is type(registered.optimizer) and smaller.optimizer.built
    assert float(smaller.optimizer.learning_rate) == pytest.approx(float(registered.optimizer.learning_rate))


# --- the command line ----------------------------------------------------------------------
def _cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([str(arg) for arg in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def trained_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli-diffusion")
    code, out, err = _cli(["train", "diffusion", "--dataset", "digits", "--epochs", "1", "--limit", "128",
                           "--batch-size", "64", "--output", folder])
    assert code == 0, err
    return folder


def test_cli_samples_unconditionally_and_on_request(trained_folder, tmp_path):
    output = tmp_path / "samples.npy"
    code, out, err = _cli(["sample", trained_folder, "--num", "6", "--steps", "3", "--output", output])
    assert code == 0, err
    samples = np.load(output)
    assert samples.shape == (6, 28, 28, 1) and np.all(np.isfinite(samples))
    code, _, err = _cli(["sample", trained_folder, "--num", "4", "--steps", "3", "--eta", "1", "--labels", "3",
                         "--guidance", "2", "--output", output])
    assert code == 0, err
    assert not np.allclose(np.load(output), samples[:4])
    code, _, err = _cli(["sample", trained_folder, "--num", "6", "--steps", "3", "--null-class", "--output", output])
    assert code == 0, err
    assert np.load(output).shape == samples.shape and not np.allclose(np.load(output), samples)
    code, _, err = _cli(["sample", trained_folder, "--num", "6", "--steps", "3", "--solver", "ddim", "--output", output])
    assert code == 0, err
    assert np.load(output).shape == samples.shape and not np.allclose(np.load(output), samples, atol=1e-4)


@pytest.mark.parametrize(("options", "message"), [
    (["--steps", "1001"], "1000-step chain"),
    (["--labels", "3", "--guidance", "-1"], "guidance weight must be 0 or more"),
    (["--labels", "12"], "classes run from 0 to 9"),
    (["--guidance", "1"], "--guidance needs --labels"),
    (["--eta", "1.5"], "--eta 1.5"),
    (["--null-class", "--labels", "3"], "takes no --labels"),
    (["--solver", "dpm++2m", "--eta", "1"], "use --solver ddim"),
])
def test_cli_bad_sampling_requests_are_usage_errors(trained_folder, tmp_path, options, message):
    code, _, err = _cli(["sample", trained_folder, "--num", "2", *options, "--output", tmp_path / "s.npy"])
    assert code == 2 and message in err
    assert not (tmp_path / "s.npy").exists()


def test_cli_refuses_a_latent_size_for_diffusion(tmp_path):
    code, _, err = _cli(["train", "diffusion", "--dataset", "digits", "--latent-dim", "8", "--output", tmp_path])
    assert code == 2 and "--latent-dim does not apply to diffusion" in err

