"""Tests of genai_tf.exercises.diffusion, the self-checks of notebook 07 (diffusion): each passes a
correct answer and catches a typical mistake, with a message that helps."""

import numpy as np

from genai_tf import losses
from genai_tf.exercises import diffusion as checks
from genai_tf.sampling import diffusion as sampling
from genai_tf.sampling import schedules
from tests.test_exercises_engine import assert_fails, assert_passes, not_implemented


def per_example(values):
    return np.asarray(values, "float64").reshape(-1, 1, 1, 1)


def q_sample_numpy(clean, noise, betas, index):
    alpha_bar = per_example(np.cumprod(1.0 - np.asarray(betas))[index])
    return np.sqrt(alpha_bar) * clean + np.sqrt(1.0 - alpha_bar) * noise


def test_q_sample_from_betas_check():
    assert_passes(checks.q_sample_from_betas(q_sample_numpy))
    assert_passes(checks.q_sample_from_betas(  # the course's loss terms, on keras tensors
        lambda x, e, betas, i: losses.q_sample(x, e, schedules.alpha_bars_from_betas(betas)[i])))

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
    assert_passes(checks.guided_noise(sampling.guided_noise))
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
    assert_passes(checks.cosine_alpha_bars(lambda timesteps, offset: schedules.cosine_alpha_bars(timesteps, offset)))
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
    assert_passes(checks.ddim_step(ddim_by_hand))
    assert_passes(checks.ddim_step(sampling.ddim_step))
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


def sampler_by_hand(predict, x, alpha_bars, steps, eta, noises, clip, *, no_clip=False, no_rederive=False,
                    previous_code_index=False, skip_last_update=False, sigma_without_eta=False, noisy_for_clean=False,
                    noise_of_the_next_step=False):
    """A DDIM sampling loop in float64 NumPy, with switches for the usual mistakes."""
    x = np.asarray(x, "float64")
    sequence = sampling.timestep_sequence(len(alpha_bars), steps)
    for k, i in enumerate(sequence):
        if skip_last_update and k + 1 == len(sequence):   # stops at ᾱ_1 instead of updating to ᾱ_0 = 1
            break
        alpha_bar = alpha_bars[i]
        if previous_code_index:                            # ᾱ at i - 1: right only for the full chain
            alpha_bar_prev = alpha_bars[i - 1]
        else:
            alpha_bar_prev = alpha_bars[sequence[k + 1]] if k + 1 < len(sequence) else 1.0
        eps = np.asarray(predict(x, int(i)), "float64")
        clean = (x - np.sqrt(1 - alpha_bar) * eps) / np.sqrt(alpha_bar)
        if clip is not None and not no_clip:
            clean = np.clip(clean, *clip)
            if not no_rederive:
                eps = (x - np.sqrt(alpha_bar) * clean) / np.sqrt(1 - alpha_bar)
        if noisy_for_clean:
            clean = x
        sigma = (1.0 if sigma_without_eta else eta) * np.sqrt(
            (1 - alpha_bar_prev) / (1 - alpha_bar) * (1 - alpha_bar / alpha_bar_prev))
        z = noises[(k + 1) % len(noises)] if noise_of_the_next_step else noises[k]
        x = np.sqrt(alpha_bar_prev) * clean + np.sqrt(max(1 - alpha_bar_prev - sigma**2, 0.0)) * eps + sigma * z
    return x


def test_ddim_sampler_check():
    assert_passes(checks.ddim_sampler(sampler_by_hand))
    # the package's own sampler, sampling.diffusion.sample, with the case's x_T and z's fed through its step hook's
    # loop: reverse_loop with denoising_update is what sample runs
    assert_passes(checks.ddim_sampler(lambda p, x, ab, steps, eta, noises, clip: np.asarray(sampling.reverse_loop(
        lambda x, i, a, ap, z: sampling.denoising_update(x, p(np.asarray(x, "float64"), i), a, ap, eta, z, clip),
        np.asarray(x, "float32"), ab, steps, iter(np.asarray(noises, "float32")).__next__)[0])))
    mistakes = ("no_clip",                 # the clip ignored: x̂_0 ≈ ±100 at the first step of 10 cosine steps
                "no_rederive",             # x̂_0 clipped but the update still uses the network's ε̂
                "previous_code_index",     # ᾱ_t' = alpha_bars[i - 1] instead of the next visited level
                "skip_last_update",        # the loop ends at t = 1, without the last update to ᾱ = 1
                "sigma_without_eta",       # σ ≠ 0 at η = 0: always DDPM's variance
                "noisy_for_clean",         # x_t in place of x̂_0
                "noise_of_the_next_step")  # the z's out of order
    for mistake in mistakes:
        with np.errstate(all="ignore"):
            result = checks.ddim_sampler(lambda *a, mistake=mistake: sampler_by_hand(*a, **{mistake: True}))
        assert_fails(result, "Hint:", "timestep_sequence", "1 after the last step")
    assert_fails(checks.ddim_sampler(lambda p, x, *rest: x[:, :1]), "returned shape (6, 1)", "x_T")
    assert_fails(checks.ddim_sampler(not_implemented), "not implemented")
