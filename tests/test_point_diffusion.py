"""The point diffusion model of notebook 07: an MLP noise predictor on 2-D Gaussian-mixture data,
compared with the exact predictor E[ε | x_t] that the mixture has in closed form. Fixed step
counts throughout, so the verdicts do not depend on the machine's speed."""

import functools

import keras
import numpy as np
import pytest
import tensorflow as tf

from genai_tf import sampling
from genai_tf.models import point_diffusion

pytestmark = pytest.mark.filterwarnings("ignore:`shuffle=True` was passed")

MEANS = np.array([[-1.0, -0.5], [1.0, -0.5], [0.0, 1.0]])
STDS = np.array([0.5, 0.55, 0.45])
WEIGHTS = np.array([0.3, 0.45, 0.25])
T = 1000
STAGES = (150, 600)  # cumulative training steps at which the network is evaluated


def mixture_moments():
    mean = WEIGHTS @ MEANS
    second = sum(w * (s**2 * np.eye(2) + np.outer(m, m)) for m, s, w in zip(MEANS, STDS, WEIGHTS, strict=True))
    return mean, second - np.outer(mean, mean)


def exact_noise_errors(predict, clean, noise, index, alpha_bars):
    """Per-example ε-MSE of the exact predictor at the same (x_0, ε, i) as PointDiffusion.noise_errors."""
    noisy = np.sqrt(alpha_bars[index])[:, None] * clean + np.sqrt(1 - alpha_bars[index])[:, None] * noise
    errors = np.empty(len(index))
    for i in np.unique(index):
        rows = index == i
        errors[rows] = np.mean((noise[rows] - predict(noisy[rows], i)) ** 2, axis=1)
    return errors


def evaluation_set(n=3000, seed=7):
    clean, _ = point_diffusion.sample_mixture(MEANS, STDS, WEIGHTS, n, seed=seed)
    rng = np.random.default_rng(seed)
    return clean, rng.standard_normal(clean.shape).astype("float32"), rng.integers(0, T, n)


@pytest.fixture(scope="module")
def trained():
    """A model trained in stages, with its ε-MSE over the exact predictor's after each stage."""
    keras.utils.set_random_seed(0)
    model = point_diffusion.build_point_diffusion(2, hidden=64, depth=3, timesteps=T, schedule="linear", seed=0)
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(3e-3, STAGES[-1], 0.05)))
    points, _ = point_diffusion.sample_mixture(MEANS, STDS, WEIGHTS, 50_000, seed=1)
    dataset = tf.data.Dataset.from_tensor_slices(points).shuffle(len(points), seed=0).batch(256).repeat()
    clean, noise, index = evaluation_set()
    exact = exact_noise_errors(sampling.diffusion.gaussian_mixture_noise(MEANS, STDS, WEIGHTS, model.alpha_bars),
                               clean, noise, index, model.alpha_bars).mean()
    ratios, done = [model.noise_errors(clean, noise, index).mean() / exact], 0
    for stage in STAGES:
        model.fit(dataset, steps_per_epoch=stage - done, epochs=1, verbose=0)
        done = stage
        ratios.append(model.noise_errors(clean, noise, index).mean() / exact)
    return model, np.array(ratios)


def test_an_untrained_network_predicts_no_noise():
    """The zero-initialised output layer: ε̂ = 0, so the ε-MSE of every example is exactly mean(ε²)."""
    keras.utils.set_random_seed(1)
    model = point_diffusion.build_point_diffusion(2, hidden=16, depth=1, seed=0)
    clean, noise, index = evaluation_set(200)
    np.testing.assert_allclose(model.noise_errors(clean, noise, index), np.mean(noise**2, axis=1), rtol=1e-6)
    assert model.compute_losses(clean)["loss"].numpy() == pytest.approx(1.0, abs=0.15)  # E[ε²] = 1


def test_training_approaches_the_exact_predictor(trained):
    _, ratios = trained
    print("ε-MSE / exact ε-MSE after", (0, *STAGES), "steps:", np.round(ratios, 4))
    assert ratios[0] > 1.5  # ε̂ = 0 is far from E[ε | x_t]
    assert np.all(ratios >= 1.0 - 1e-3)  # nothing beats the conditional mean (up to the float32 rounding)
    assert np.all(np.diff(ratios) < 0)  # the excess falls at every stage
    assert ratios[-1] - 1 < 0.25 * (ratios[0] - 1) and ratios[-1] < 1.1


def test_samples_approach_the_data_moments(trained):
    model, _ = trained
    mean, covariance = mixture_moments()
    samples = model.generate(4000, seed=3, steps=T, eta=1.0)  # DDPM's ancestral sampler
    assert samples.shape == (4000, 2) and np.all(np.isfinite(samples))
    print("mean error", samples.mean(0) - mean, "relative covariance error",
          np.linalg.norm(np.cov(samples.T) - covariance) / np.linalg.norm(covariance))
    assert np.all(np.abs(samples.mean(0) - mean) < 0.1)
    assert np.linalg.norm(np.cov(samples.T) - covariance) < 0.15 * np.linalg.norm(covariance)


def test_generate_is_seeded_and_can_clip(trained):
    model, _ = trained
    first = model.generate(50, seed=5, steps=10)
    np.testing.assert_allclose(model.generate(50, seed=5, steps=10), first)
    assert not np.allclose(model.generate(50, seed=6, steps=10), first)
    assert not np.allclose(model.generate(50, seed=5, steps=10, clip=(-0.5, 0.5)), first)
    with pytest.raises(ValueError, match="between 1 and the training chain's 1000 steps"):
        model.generate(5, steps=T + 1)
    with pytest.raises(ValueError, match="eta=2"):
        model.generate(5, eta=2)


@pytest.mark.parametrize(("steps", "eta", "clip"), [(10, 0.0, None), (25, 1.0, None), (10, 0.5, (-0.5, 0.5))])
def test_generate_is_the_library_sampler_with_the_network(trained, steps, eta, clip):
    """The compiled loop makes the same draws and updates as sampling.diffusion.sample with predict_noise."""
    model, _ = trained
    expected = sampling.diffusion.sample(model.predict_noise, (40, 2), model.alpha_bars, steps, eta=eta, seed=9, clip=clip)
    np.testing.assert_allclose(model.generate(40, seed=9, steps=steps, eta=eta, clip=clip), expected,
                               rtol=1e-4, atol=1e-4)


def test_save_and_load_keep_the_predictor(trained, tmp_path):
    model, _ = trained
    path = tmp_path / "points.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, point_diffusion.PointDiffusion)
    assert (loaded.timesteps, loaded.schedule, loaded.dim) == (T, "linear", 2)
    np.testing.assert_allclose(loaded.alpha_bars, sampling.schedules.noise_schedule("linear", T))
    clean, noise, index = evaluation_set(100)
    np.testing.assert_allclose(loaded.noise_errors(clean, noise, index), model.noise_errors(clean, noise, index),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loaded.generate(20, seed=2, steps=5), model.generate(20, seed=2, steps=5), atol=1e-5)


def test_points_of_the_wrong_shape_are_refused():
    model = point_diffusion.build_point_diffusion(2, hidden=8, depth=1, seed=0)
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match=r"built for points of shape \(batch, 2\).*\(None, 3\)"):
        model.fit(tf.data.Dataset.from_tensor_slices(np.zeros((8, 3), "float32")).batch(4), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="must all be ≥ 1"):
        point_diffusion.build_point_network(0)


def test_sample_mixture_draws_each_component_by_its_weight():
    points, components = point_diffusion.sample_mixture(MEANS, STDS, WEIGHTS * 2, 30_000, seed=0)  # unnormalised
    assert points.shape == (30_000, 2) and points.dtype == np.float32
    np.testing.assert_allclose(np.bincount(components) / 30_000, WEIGHTS, atol=0.015)
    for k in range(3):
        chosen = points[components == k]
        np.testing.assert_allclose(chosen.mean(0), MEANS[k], atol=0.03)
        np.testing.assert_allclose(chosen.std(0), STDS[k], rtol=0.05)


# --- comparing samples with the mixture (MixtureMoments, the Bayes classifier) --------------
def test_mixture_component_is_the_bayes_classifier():
    """Two equal-width components meet where π_1 N(x; μ_1, s²) = π_2 N(x; μ_2, s²), i.e. at
    x* = (μ_1 + μ_2)/2 - s² log(π_2/π_1)/(μ_2 - μ_1); with unequal widths, the argmax of scipy's
    posterior. Unnormalised weights give the same answer."""
    means, s, weights = np.array([[-1.0], [2.0]]), 0.8, np.array([0.3, 0.7])
    boundary = 0.5 - s**2 * np.log(weights[1] / weights[0]) / 3.0
    points = boundary + np.array([[-1e-6], [1e-6], [-5.0], [5.0]])
    np.testing.assert_array_equal(point_diffusion.mixture_component(points, means, [s, s], weights), [0, 1, 0, 1])
    np.testing.assert_array_equal(point_diffusion.mixture_component(points, means, [s, s], 10 * weights), [0, 1, 0, 1])

    from scipy import stats

    points = np.random.default_rng(0).normal(scale=1.5, size=(2000, 2))
    posterior = np.stack([w * stats.multivariate_normal(m, sd**2 * np.eye(2)).pdf(points)
                          for m, sd, w in zip(MEANS, STDS, WEIGHTS, strict=True)], axis=-1)
    np.testing.assert_array_equal(point_diffusion.mixture_component(points, MEANS, STDS, WEIGHTS),
                                  np.argmax(posterior, axis=-1))


def test_mixture_moments_of_gaussian_points_follow_isserlis():
    """For x ~ N(μ, Σ): the sample mean and covariance estimate μ and Σ, and one point's centred
    product (x - μ)_i (x - μ)_j has variance Σ_ii Σ_jj + Σ_ij² (Isserlis' theorem)."""
    mean, covariance = np.array([0.5, -1.0]), np.array([[1.0, 0.6], [0.6, 2.0]])
    points = np.random.default_rng(1).multivariate_normal(mean, covariance, size=200_000)
    moments = point_diffusion.MixtureMoments.of(points, [[0.0, 0.0]], [1.0], [1.0])  # one component
    assert moments.count == 200_000 and moments.shares.tolist() == [1.0]
    np.testing.assert_allclose(moments.mean, mean, atol=0.01)
    np.testing.assert_allclose(moments.covariance, covariance, atol=0.02)
    np.testing.assert_allclose(moments.product_sd, np.sqrt(np.outer(np.diag(covariance), np.diag(covariance))
                                                            + covariance**2), rtol=0.02)


def test_mixture_moments_of_well_separated_modes_give_the_weights():
    """Components 20 standard deviations apart: the Bayes classifier is never wrong, so the mode
    shares are the weights up to binomial error, and mean and covariance are the mixture's."""
    means, stds = 10 * MEANS, STDS
    points, _ = point_diffusion.sample_mixture(means, stds, WEIGHTS, 100_000, seed=2)
    moments = point_diffusion.MixtureMoments.of(points, means, stds, WEIGHTS)
    np.testing.assert_allclose(moments.shares, WEIGHTS, atol=4 * np.sqrt(0.25 / 100_000))
    mean = WEIGHTS @ means
    second = sum(w * (s**2 * np.eye(2) + np.outer(m, m)) for m, s, w in zip(means, stds, WEIGHTS, strict=True))
    np.testing.assert_allclose(moments.mean, mean, atol=0.05)
    np.testing.assert_allclose(moments.covariance, second - np.outer(mean, mean), rtol=0.02, atol=0.5)


def test_mixture_moment_errors():
    eye = np.eye(2)
    reference = point_diffusion.MixtureMoments(np.zeros(2), eye, np.array([0.5, 0.5]), eye, 100)
    sample = point_diffusion.MixtureMoments(np.array([0.1, -0.3]), 1.1 * eye, np.array([0.4, 0.6]), eye, 100)
    errors = sample.errors(reference)
    assert errors.keys() == {"mean error", "rel. covariance error", "max share error"}
    np.testing.assert_allclose(list(errors.values()), [0.3, 0.1, 0.1])


def test_outside_sampling_error_flags_what_differs_and_only_that():
    """Fresh draws of the data agree with it; a shift fails the mean, a stretch the covariance (unless
    an allowance covers it) and other weights the mode shares."""
    moments = functools.partial(point_diffusion.MixtureMoments.of, means=MEANS, stds=STDS, weights=WEIGHTS)
    reference = moments(point_diffusion.sample_mixture(MEANS, STDS, WEIGHTS, 200_000, seed=3)[0])
    for seed in range(10):  # 4-4.5 standard errors: a false alarm is rarer than 1 in 10,000
        points, _ = point_diffusion.sample_mixture(MEANS, STDS, WEIGHTS, 3000, seed=10 + seed)
        assert moments(points).outside_sampling_error(reference) == [], seed
    points, _ = point_diffusion.sample_mixture(MEANS, STDS, WEIGHTS, 3000, seed=30)
    assert moments(points + np.array([0.15, 0.0])).outside_sampling_error(reference) == ["mean"]
    stretched = moments(points.mean(0) + 1.15 * (points - points.mean(0)))
    assert "covariance" in stretched.outside_sampling_error(reference)
    assert "covariance" not in stretched.outside_sampling_error(reference, covariance_allowance=0.4)
    reweighted, _ = point_diffusion.sample_mixture(MEANS, STDS, [0.4, 0.35, 0.25], 3000, seed=31)
    assert "shares" in moments(reweighted).outside_sampling_error(reference)
    assert "shares" not in moments(reweighted).outside_sampling_error(reference, share_allowance=0.15)


def test_the_optimum_probe_measures_the_exact_predictor_and_a_network_against_it(trained):
    model, _ = trained
    clean, _ = point_diffusion.sample_mixture(MEANS, STDS, WEIGHTS, 2000, seed=3)
    exact = sampling.diffusion.gaussian_mixture_noise(MEANS, STDS, WEIGHTS, model.alpha_bars)
    probe = point_diffusion.OptimumProbe.draw(clean, exact, model.alpha_bars, seed=4)
    assert probe.noise.shape == clean.shape and probe.index.shape == (2000,) and probe.index.max() < T
    np.testing.assert_allclose(probe.exact_errors, exact_noise_errors(exact, clean, probe.noise, probe.index,
                                                                      model.alpha_bars), rtol=1e-5)
    assert probe.exact_mse == pytest.approx(probe.exact_errors.mean())
    np.testing.assert_allclose(probe.excess(model), model.noise_errors(clean, probe.noise, probe.index)
                               - probe.exact_errors)
    # the same draws for the same seed
    np.testing.assert_array_equal(point_diffusion.OptimumProbe.draw(clean, exact, model.alpha_bars, seed=4).index,
                                  probe.index)


def test_fit_in_stages_trains_to_each_cumulative_count_and_evaluates_around_them():
    class Recorder:
        def __init__(self, loss=1.0):
            self.steps, self.loss = [], loss

        def fit(self, dataset, steps_per_epoch, epochs, verbose):
            self.steps.append(steps_per_epoch)
            return type("History", (), {"history": {"loss": [self.loss]}})()

    model = Recorder()
    results = point_diffusion.fit_in_stages(model, None, (100, 400, 1000), lambda m: sum(m.steps))
    assert model.steps == [100, 300, 600] and results == [0, 100, 400, 1000]
    with pytest.raises(FloatingPointError, match="after 100 steps"):
        point_diffusion.fit_in_stages(Recorder(loss=float("nan")), None, (100,), lambda m: None)
