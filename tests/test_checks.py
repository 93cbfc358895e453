"""Tests of genai_tf.checks: each self-check passes a correct answer and catches a typical mistake.

A check's message must help: a failure shows a hint, a stub says "not implemented", and a
shape mistake says which shape was expected.
"""

import math
import os

import numpy as np
import pytest
from scipy import special, stats
from sklearn.decomposition import PCA

from genai_tf import checks, config, data, losses


def assert_passes(result):
    assert isinstance(result, checks.CheckResult)
    assert result and result.passed, result.message
    assert repr(result).startswith(f"PASS {result.name}")


def assert_fails(result, *fragments):
    assert isinstance(result, checks.CheckResult)
    assert not result and not result.passed
    assert repr(result).startswith(f"FAIL {result.name}")
    for fragment in fragments:
        assert fragment in result.message, (fragment, result.message)


def not_implemented(*args):
    raise NotImplementedError


# --- VAE and autoencoder terms ---------------------------------------------------------------


def kl_without_minus_one(mean, log_var):
    return 0.5 * np.sum(mean**2 + np.exp(log_var) - log_var, axis=-1)


def test_describe_error_gives_one_clean_line():
    error = ValueError("\x1b[31mInput 0 of layer\x1b[0m {{node dense/MatMul}} is\nincompatible\n\n"
                       "Arguments received by Dense.call():\n  • inputs=tf.Tensor(shape=(4, 3))")
    assert checks.describe_error(error) == "ValueError: Input 0 of layer is incompatible"
    assert checks.describe_error(NameError("name 'x' is not defined")) == "NameError: name 'x' is not defined"


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


def bce_on_probabilities(images, logits):
    probabilities = special.expit(np.asarray(logits, "float32"))  # rounds to exactly 1 at l = 60
    with np.errstate(divide="ignore", invalid="ignore"):
        per_pixel = images * np.log(probabilities) + (1 - images) * np.log(1 - probabilities)
    return -np.sum(per_pixel, axis=(1, 2, 3))


def test_bernoulli_nll_check():
    assert_passes(checks.bernoulli_nll(losses.bernoulli_nll))
    assert_fails(checks.bernoulli_nll(bce_on_probabilities), "case 1", "inf", "Hint:", "logits")
    assert_fails(checks.bernoulli_nll(lambda x, logits: -np.sum(
        x * np.log(special.expit(logits)) + (1 - x) * np.log(1 - special.expit(logits)), axis=-1)),
        "returned shape", "one value per example")
    assert_fails(checks.bernoulli_nll(not_implemented), "not implemented")


def test_gaussian_nll_check():
    assert_passes(checks.gaussian_nll(losses.gaussian_nll))
    assert_passes(checks.gaussian_nll(
        lambda x, m, v: -np.sum(stats.norm.logpdf(x, m, math.exp(0.5 * v)), axis=(1, 2, 3))))

    def without_log_2pi(x, m, v):
        return np.sum(0.5 * ((x - m) ** 2 / math.exp(v) + v), axis=(1, 2, 3))

    assert_fails(checks.gaussian_nll(without_log_2pi), "Hint:", "2πσ²")
    assert_fails(checks.gaussian_nll(not_implemented), "not implemented")


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


def test_pca_mse_check():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(100, 3, 3, 1)) @ np.ones((1, 1)) + 0.5
    test = rng.normal(size=(30, 3, 3, 1)) + 0.5

    def with_sklearn(train_images, test_images, latent_dim):
        pca = PCA(latent_dim).fit(train_images.reshape(len(train_images), -1))
        flat = test_images.reshape(len(test_images), -1)
        return np.mean((flat - pca.inverse_transform(pca.transform(flat))) ** 2)

    def centred_with_test_mean(train_images, test_images, latent_dim):
        flat_train = train_images.reshape(len(train_images), -1)
        flat = test_images.reshape(len(test_images), -1)
        _, _, directions = np.linalg.svd(flat_train - flat_train.mean(0), full_matrices=False)
        basis = directions[:latent_dim].T
        mean = flat.mean(0)
        return np.mean((flat - (mean + (flat - mean) @ basis @ basis.T)) ** 2)

    assert_passes(checks.pca_mse(with_sklearn, train, test, 2))
    assert_fails(checks.pca_mse(centred_with_test_mean, train, test, 2), "Hint:", "TRAIN mean")
    assert_fails(checks.pca_mse(not_implemented, train, test, 2), "not implemented")


def test_value_in_range_check():
    assert_passes(checks.value_in_range("test_mse", 0.02, 0.0, 0.05, "train longer"))
    assert_fails(checks.value_in_range("test_mse", 0.2, 0.0, 0.05, "train longer"),
                 "outside", "Hint: train longer")
    assert_fails(checks.value_in_range("test_mse", float("nan"), 0.0, 0.05, "train longer"), "Hint:")


def test_a_learner_error_is_reported_with_the_hint():
    def broken(mean, log_var):
        return mean + "oops"

    result = checks.gaussian_kl(broken)
    assert_fails(result, "raised", "Hint:")


# --- notebook 00 -------------------------------------------------------------------------


def test_num_pixels_check():
    assert_passes(checks.num_pixels(lambda shape: math.prod(shape)))
    assert_fails(checks.num_pixels(lambda shape: shape[0] * shape[1]), "Hint:", "channels")
    assert_fails(checks.num_pixels(not_implemented), "not implemented")


def test_digits_split_sizes_check():
    def sizes(seed, fraction):
        loaded = data.load_dataset("digits", seed=seed, validation_fraction=fraction)
        return [len(loaded.images(split)) for split in data.SPLITS]

    assert_passes(checks.digits_split_sizes(sizes))

    def validation_of_everything(seed, fraction):  # forgets the test split comes off first
        validation = round(fraction * 1797)
        return [1797 - 270 - validation, validation, 270]

    assert_fails(checks.digits_split_sizes(validation_of_everything), "Hint:", "load_dataset")
    assert_fails(checks.digits_split_sizes(not_implemented), "not implemented")


@pytest.mark.parametrize("starting_profile", [None, "smoke", "full"])
def test_profile_switch_check(starting_profile, monkeypatch):
    """Whatever profile is active when the check runs (CI runs under smoke), mistakes show."""
    if starting_profile is None:
        monkeypatch.delenv(config.PROFILE_ENV, raising=False)
    else:
        monkeypatch.setenv(config.PROFILE_ENV, starting_profile)
    before = os.environ.get(config.PROFILE_ENV)

    def correct(profile, task):
        saved = os.environ.get(config.PROFILE_ENV)
        os.environ[config.PROFILE_ENV] = profile
        try:
            return task()
        finally:
            restore(saved)

    def restore(saved):
        if saved is None:
            os.environ.pop(config.PROFILE_ENV, None)
        else:
            os.environ[config.PROFILE_ENV] = saved

    def no_finally(profile, task):
        saved = os.environ.get(config.PROFILE_ENV)
        os.environ[config.PROFILE_ENV] = profile
        value = task()
        restore(saved)
        return value

    def restores_none(profile, task):
        saved = os.environ.get(config.PROFILE_ENV)
        os.environ[config.PROFILE_ENV] = profile
        try:
            return task()
        finally:
            os.environ[config.PROFILE_ENV] = saved  # TypeError when it was unset

    def never_restores(profile, task):
        os.environ[config.PROFILE_ENV] = profile
        return task()

    def ignores_profile(profile, task):
        return task()

    assert_passes(checks.profile_switch(correct))
    assert_fails(checks.profile_switch(no_finally), "finally")
    assert_fails(checks.profile_switch(never_restores), "Hint:", "put it back")
    assert_fails(checks.profile_switch(ignores_profile), "Hint:", "os.environ")
    assert_fails(checks.profile_switch(not_implemented), "not implemented")
    if starting_profile is None:
        assert_fails(checks.profile_switch(restores_none), "raised TypeError", "Hint:", "pop")
    else:
        assert_passes(checks.profile_switch(restores_none))
    # whatever the learner did, the check leaves the environment as it found it
    assert os.environ.get(config.PROFILE_ENV) == before


# --- notebook 02 exercise and GAN terms --------------------------------------------------------


def test_active_units_check():
    assert_passes(checks.active_units(lambda z, threshold: int(np.sum(np.var(z, axis=0) > threshold))))
    assert_fails(checks.active_units(lambda z, threshold: int(np.sum(np.std(z, axis=0) > threshold))),
                 "Hint:", "variance")
    assert_fails(checks.active_units(lambda z, threshold: int(np.sum(np.mean(z**2, axis=0) > threshold))),
                 "Hint:")
    assert_fails(checks.active_units(not_implemented), "not implemented")


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


@pytest.mark.parametrize("name", ["gaussian_kl", "bernoulli_nll", "gaussian_nll", "iwae_bound"])
def test_checks_accept_tensors_from_keras(name):
    """A learner writing with keras.ops passes too: results are converted, not compared as tensors."""
    assert_passes(getattr(checks, name)(getattr(losses, name)))


# --- notebook 04: the VAE-GAN's feature likelihood and the CVAE's bound ----------------------


def feature_nll(real, reconstructed):
    difference = np.asarray(real, "float64") - np.asarray(reconstructed, "float64")
    return 0.5 * np.sum(difference.reshape(len(difference), -1) ** 2, axis=1)


def test_feature_reconstruction_nll_check():
    assert_passes(checks.feature_reconstruction_nll(feature_nll))
    assert_passes(checks.feature_reconstruction_nll(losses.feature_reconstruction_nll))  # keras tensors
    # the ½ of the unit-variance Gaussian forgotten
    assert_fails(checks.feature_reconstruction_nll(lambda a, b: 2.0 * feature_nll(a, b)),
                 "case 0", "Hint:", "½ Σ (real − reconstructed)²")
    # the Gaussian's ½ log 2π per feature kept: right up to a constant, but not what is asked
    assert_fails(checks.feature_reconstruction_nll(
        lambda a, b: feature_nll(a, b) + 0.5 * math.log(2 * math.pi) * np.prod(np.shape(a)[1:])),
        "case 0", "Hint:", "constant and is dropped")
    # a mean over features instead of a sum
    assert_fails(checks.feature_reconstruction_nll(
        lambda a, b: 0.5 * np.mean((np.asarray(a) - b).reshape(len(a), -1) ** 2, axis=1)), "case 0", "Hint:")
    # summed over the last axis only: fine for flat features, wrong for (batch, h, w, c) maps
    assert_fails(checks.feature_reconstruction_nll(lambda a, b: 0.5 * np.sum((np.asarray(a) - b) ** 2, axis=-1)),
                 "case 1", "returned shape (3, 2, 2)", "expected (3,)", "one value per example")
    # summed over the batch as well
    assert_fails(checks.feature_reconstruction_nll(lambda a, b: np.sum(feature_nll(a, b))),
                 "case 0", "returned shape ()", "expected (4,)")
    assert_fails(checks.feature_reconstruction_nll(not_implemented), "not implemented")


def kl_closed_form(z_mean, z_log_var):
    return 0.5 * np.sum(z_mean**2 + np.exp(z_log_var) - z_log_var - 1.0, axis=-1)


def log_px_on_logits(images, logits):
    x, logit = np.asarray(images, "float64"), np.asarray(logits, "float64")
    return np.sum(x * special.log_expit(logit) + (1 - x) * special.log_expit(-logit), axis=(1, 2, 3))


def test_conditional_elbo_check():
    assert_passes(checks.conditional_elbo(
        lambda x, logits, m, v: log_px_on_logits(x, logits) - kl_closed_form(m, v)))
    assert_passes(checks.conditional_elbo(  # with the course's loss terms, on keras tensors
        lambda x, logits, m, v: losses.elbo(losses.bernoulli_nll(x, logits), losses.gaussian_kl(m, v))))
    # wrong sign of the KL
    assert_fails(checks.conditional_elbo(lambda x, logits, m, v: log_px_on_logits(x, logits) + kl_closed_form(m, v)),
                 "case 0", "Hint:", "½ Σ_j (μ_j² + σ_j² − log σ_j² − 1)")
    # the training loss (negative ELBO) returned instead of the bound
    assert_fails(checks.conditional_elbo(lambda x, logits, m, v: -log_px_on_logits(x, logits) + kl_closed_form(m, v)),
                 "case 0", "Hint:", "mind the sign", "not a loss")
    # the KL without its ½
    assert_fails(checks.conditional_elbo(
        lambda x, logits, m, v: log_px_on_logits(x, logits) - 2.0 * kl_closed_form(m, v)), "case 0", "Hint:")

    def on_probabilities(x, logits, m, v):  # log σ(60) is fine, but log(1 − σ(60)) = log 0 in float32
        p = special.expit(np.asarray(logits, "float32"))
        with np.errstate(divide="ignore", invalid="ignore"):
            log_px = np.sum(x * np.log(p) + (1 - x) * np.log(1 - p), axis=(1, 2, 3))
        return log_px - kl_closed_form(m, v)

    assert_fails(checks.conditional_elbo(on_probabilities), "case 1", "inf", "Hint:", "Bernoulli NLL on logits")
    # averaged over the batch
    assert_fails(checks.conditional_elbo(
        lambda x, logits, m, v: np.mean(log_px_on_logits(x, logits) - kl_closed_form(m, v))),
        "case 0", "returned shape ()", "expected (5,)", "one value per example")
    assert_fails(checks.conditional_elbo(not_implemented), "not implemented")


# --- notebook 07: diffusion -------------------------------------------------------------------


def per_example(values):
    return np.asarray(values, "float64").reshape(-1, 1, 1, 1)


def q_sample_numpy(clean, noise, betas, index):
    alpha_bar = per_example(np.cumprod(1.0 - np.asarray(betas))[index])
    return np.sqrt(alpha_bar) * clean + np.sqrt(1.0 - alpha_bar) * noise


def test_q_sample_from_betas_check():
    assert_passes(checks.q_sample_from_betas(q_sample_numpy))
    assert_passes(checks.q_sample_from_betas(  # the course's loss terms, on keras tensors
        lambda x, e, betas, i: losses.q_sample(x, e, losses.alpha_bars_from_betas(betas)[i])))

    def one_step(clean, noise, betas, index):  # β_t in place of 1 - ᾱ_t: q(x_t | x_{t-1}), not q(x_t | x_0)
        beta = per_example(np.asarray(betas)[index])
        return np.sqrt(1.0 - beta) * clean + np.sqrt(beta) * noise

    def off_by_one(clean, noise, betas, index):  # ᾱ over indices 0 … i - 1 (t = i, not i + 1)
        alpha_bar = per_example(np.concatenate([[1.0], np.cumprod(1.0 - np.asarray(betas))])[index])
        return np.sqrt(alpha_bar) * clean + np.sqrt(1.0 - alpha_bar) * noise

    def no_square_roots(clean, noise, betas, index):  # ᾱ x_0 + (1 - ᾱ) ε
        alpha_bar = per_example(np.cumprod(1.0 - np.asarray(betas))[index])
        return alpha_bar * clean + (1.0 - alpha_bar) * noise

    def noise_without_root(clean, noise, betas, index):  # √ᾱ x_0 + (1 - ᾱ) ε: the variance as a scale
        alpha_bar = per_example(np.cumprod(1.0 - np.asarray(betas))[index])
        return np.sqrt(alpha_bar) * clean + (1.0 - alpha_bar) * noise

    for wrong in (one_step, off_by_one, no_square_roots, noise_without_root):
        assert_fails(checks.q_sample_from_betas(wrong), "Hint:", "cumprod")
    # (batch,) values not reshaped: they broadcast along the images' last axis
    assert_fails(checks.q_sample_from_betas(
        lambda x, e, betas, i: np.sqrt(np.cumprod(1 - betas)[i]) * x + np.sqrt(1 - np.cumprod(1 - betas)[i]) * e),
        "returned shape (3, 4, 5, 3)", "expected (3, 4, 5, 1)", "(batch, 1, 1, 1)")
    assert_fails(checks.q_sample_from_betas(not_implemented), "not implemented")


def test_predicted_clean_check():
    def by_hand(noisy, eps, alpha_bar):
        return (noisy - np.sqrt(1 - per_example(alpha_bar)) * eps) / np.sqrt(per_example(alpha_bar))

    assert_passes(checks.predicted_clean(by_hand))
    assert_passes(checks.predicted_clean(losses.predicted_clean))
    wrong_answers = [
        lambda x, e, a: (x + np.sqrt(1 - per_example(a)) * e) / np.sqrt(per_example(a)),  # + instead of -
        lambda x, e, a: (x - np.sqrt(1 - per_example(a)) * e) / per_example(a),           # ÷ ᾱ, not √ᾱ
        lambda x, e, a: (x - (1 - per_example(a)) * e) / np.sqrt(per_example(a)),         # (1 - ᾱ), not its root
        lambda x, e, a: x - np.sqrt(1 - per_example(a)) * e,                              # never divided
    ]
    for wrong in wrong_answers:
        assert_fails(checks.predicted_clean(wrong), "case 0", "Hint:", "divide by √ᾱ")
    assert_fails(checks.predicted_clean(lambda x, e, a: (x - np.sqrt(1 - a) * e) / np.sqrt(a)),
                 "returned shape (3, 4, 5, 3)", "(batch, 1, 1, 1)")
    assert_fails(checks.predicted_clean(not_implemented), "not implemented")


def test_guided_noise_check():
    assert_passes(checks.guided_noise(lambda c, u, w: (1 + w) * c - w * u))
    assert_passes(checks.guided_noise(lambda c, u, w: u + (1 + w) * (c - u)))  # the guidance-scale form
    from genai_tf import samplers

    assert_passes(checks.guided_noise(samplers.guided_noise))
    wrong_answers = [
        lambda c, u, w: (1 + w) * u - w * c,   # the two predictions swapped: guides away from the label
        lambda c, u, w: (1 - w) * c + w * u,   # the sign of w flipped: towards the unconditional one
        lambda c, u, w: u + w * (c - u),       # the scale convention with s = w: w = 0 is unconditional
        lambda c, u, w: c + w * u,             # no difference of the two
    ]
    for wrong in wrong_answers:
        assert_fails(checks.guided_noise(wrong), "Hint:", "(1 + w) ε(x, y) − w ε(x, ∅)")
    assert_fails(checks.guided_noise(not_implemented), "not implemented")


def cosine_by_hand(timesteps, offset, clip=True, normalise=True):
    f = np.cos((np.arange(timesteps + 1) / timesteps + offset) / (1 + offset) * np.pi / 2) ** 2
    if not normalise:
        return f[1:]
    if not clip:
        return f[1:] / f[0]
    return np.cumprod(1 - np.minimum(1 - f[1:] / f[:-1], 0.999))


def test_cosine_alpha_bars_check():
    assert_passes(checks.cosine_alpha_bars(cosine_by_hand))
    assert_passes(checks.cosine_alpha_bars(lambda timesteps, offset: losses.cosine_alpha_bars(timesteps, offset)))
    # right everywhere but the clipped last step (ᾱ_T ≈ 10⁻³⁵ instead of ≈ 10⁻⁵): caught by the relative tolerance
    assert_fails(checks.cosine_alpha_bars(lambda T, s: cosine_by_hand(T, s, clip=False)), "case 0", "Hint:", "0.999")
    assert_fails(checks.cosine_alpha_bars(lambda T, s: cosine_by_hand(T, s, normalise=False)), "case 0", "f(0)")
    assert_fails(checks.cosine_alpha_bars(lambda T, s: cosine_by_hand(T, 0.0)), "case 0", "Hint:")  # no offset
    assert_fails(checks.cosine_alpha_bars(  # cos instead of cos²
        lambda T, s: np.sqrt(cosine_by_hand(T, s))), "case 0", "Hint:")
    assert_fails(checks.cosine_alpha_bars(  # t = 0 … T - 1 instead of 1 … T
        lambda T, s: np.concatenate([[1.0], cosine_by_hand(T, s)[:-1]])), "case 0", "Hint:")
    assert_fails(checks.cosine_alpha_bars(  # t = 0 … T: one value too many
        lambda T, s: np.concatenate([[1.0], cosine_by_hand(T, s)])), "returned shape (11,)", "t = 1 … T")
    assert_fails(checks.cosine_alpha_bars(not_implemented), "not implemented")


def ddim_by_hand(noisy, eps, alpha_bar, alpha_bar_prev, eta, noise, *, sigma_in_direction=True, fresh_noise=True,
                 with_eta=True):
    clean = (noisy - np.sqrt(1 - alpha_bar) * eps) / np.sqrt(alpha_bar)
    sigma = (eta if with_eta else 1.0) * np.sqrt((1 - alpha_bar_prev) / (1 - alpha_bar) * (1 - alpha_bar / alpha_bar_prev))
    direction = np.sqrt(1 - alpha_bar_prev - (sigma**2 if sigma_in_direction else 0.0))
    return np.sqrt(alpha_bar_prev) * clean + direction * eps + (sigma * noise if fresh_noise else 0.0)


def test_ddim_step_check():
    from genai_tf import samplers

    assert_passes(checks.ddim_step(ddim_by_hand))
    assert_passes(checks.ddim_step(samplers.ddim_step))
    wrong_answers = [
        lambda *a: ddim_by_hand(*a, sigma_in_direction=False),  # √(1 - ᾱ_t') ε̂: σ² never taken out
        lambda *a: ddim_by_hand(*a, fresh_noise=False),         # σ z forgotten
        lambda *a: ddim_by_hand(*a, with_eta=False),             # σ without η: always DDPM's variance
        lambda x, e, a, ap, eta, z: ddim_by_hand(x, e, a, ap, 0.0, z),  # η ignored: always deterministic
        lambda x, e, a, ap, eta, z: ddim_by_hand(x, e, ap, a, eta, z) if a != ap else x,  # ᾱ_t and ᾱ_t' swapped
        lambda x, e, a, ap, eta, z: np.sqrt(ap) * x + np.sqrt(1 - ap) * e,  # x_t in place of x̂_0
    ]
    with np.errstate(invalid="ignore"):  # the swapped ᾱs give √(negative)
        failures = [checks.ddim_step(wrong) for wrong in wrong_answers]
    for result in failures:
        assert_fails(result, "Hint:", "√(1 − ᾱ_t' − σ²) ε̂ + σ z")
    # at η = 0 (case 0) σ = 0 hides the first two mistakes; the η > 0 cases catch them
    assert all("case 0" not in result.message for result in failures[:2])
    assert_fails(checks.ddim_step(not_implemented), "not implemented")


# --- notebook 06: Wasserstein GANs ------------------------------------------------------------


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


# --- exercises whose first checks passed wrong answers (issue 13) ------------------------------


def test_equivalent_beta_check_needs_the_formula_not_one_value():
    assert_passes(checks.equivalent_beta(lambda variance: 2.0 * variance))
    for wrong in (lambda v: 0.1,            # right at σ² = 0.05 only: the first check's hole
                  lambda v: v, lambda v: 1.0 / (2.0 * v), lambda v: math.sqrt(v)):
        assert_fails(checks.equivalent_beta(wrong), "Hint:", "every σ²")
    assert_fails(checks.equivalent_beta(not_implemented), "not implemented")


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


def test_class_accuracy_check_knows_the_answer():
    def correct(model, classifier, digit, num_samples, seed):
        samples = model.generate(num_samples, seed=seed, labels=np.full(num_samples, digit))
        return float(np.mean(classifier.predict(samples) == digit))

    def forgets_the_labels(model, classifier, digit, num_samples, seed):
        return float(np.mean(classifier.predict(model.generate(num_samples, seed=seed)) == digit))

    def counts_the_wrong_way(model, classifier, digit, num_samples, seed):
        samples = model.generate(num_samples, seed=seed, labels=np.full(num_samples, digit))
        return float(np.mean(classifier.predict(samples) != digit))

    assert_passes(checks.class_accuracy(correct))
    for wrong in (lambda *args: 1.0, forgets_the_labels, counts_the_wrong_way):
        assert_fails(checks.class_accuracy(wrong), "case 0", "Hint:")
    assert_fails(checks.class_accuracy(not_implemented), "not implemented")


def report_with(model, images, labels, classifier, probe_half="other", swap_labels="new", compare_to="new",
                kl_reduce=np.mean):
    from sklearn import linear_model

    z_mean, z_log_var = (np.asarray(t, "float64") for t in model.encode(images, labels))
    kl = float(kl_reduce(losses.gaussian_kl(z_mean, z_log_var).numpy()))
    half = len(images) // 2
    probe = linear_model.LogisticRegression(max_iter=2000).fit(z_mean[:half], labels[:half])
    scored = slice(half, None) if probe_half == "other" else slice(None, half)
    new_labels = (labels + 1) % model.num_classes
    decoded = np.asarray(model.decode(z_mean, new_labels if swap_labels == "new" else labels))
    target = new_labels if compare_to == "new" else labels
    return {"kl": kl, "label_in_z": float(probe.score(z_mean[scored], labels[scored])),
            "swap_accuracy": float(np.mean(classifier.predict(decoded) == target))}


def test_code_report_check_catches_each_measurement_mistake():
    import functools

    assert_passes(checks.code_report(report_with))
    mistakes = {
        "label_in_z": dict(probe_half="same"),                       # scored on the probe's own training half
        "(y + 1) mod 10": dict(swap_labels="old", compare_to="old"),       # no swap at all
        "NEW labels": dict(compare_to="old"),                        # swapped, but compared with the old labels
        "mean over images": dict(kl_reduce=np.sum),                  # KL summed over the images
    }
    for fragment, mistake in mistakes.items():
        assert_fails(checks.code_report(functools.partial(report_with, **mistake)), fragment)
    assert_fails(checks.code_report(lambda *args: {"kl": 0.0}), "lacks")
    assert_fails(checks.code_report(not_implemented), "not implemented")
