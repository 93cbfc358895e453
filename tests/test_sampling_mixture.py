"""genai_tf.sampling.mixture: guidance's nominal target p(x|y) p(y|x)^w on a Gaussian mixture, normalised on a
grid, against independent maths; and that the guided chain with exact predictions does not sample it."""

import numpy as np
import pytest
from scipy import integrate, special, stats

from genai_tf import sampling
from genai_tf.models import point_diffusion
from genai_tf.sampling import mixture

MEANS = np.array([[-1.0, -0.5], [1.0, -0.5], [0.0, 1.0]])
STDS = np.array([0.5, 0.55, 0.45])
WEIGHTS = np.array([0.3, 0.45, 0.25])


def test_class_posterior_is_bayes_rule_with_scipy_densities():
    points = np.random.default_rng(0).normal(scale=1.5, size=(7, 2))
    for alpha_bar in (1.0, 0.3):
        joint = np.stack([w * stats.multivariate_normal(np.sqrt(alpha_bar) * m, (alpha_bar * s**2 + 1 - alpha_bar)
                                                        * np.eye(2)).pdf(points)
                          for m, s, w in zip(MEANS, STDS, WEIGHTS)], axis=-1)
        np.testing.assert_allclose(mixture.class_posterior(points, MEANS, STDS, WEIGHTS, alpha_bar),
                                   joint / joint.sum(-1, keepdims=True), rtol=1e-10)


def test_without_guidance_the_target_is_the_component():
    target = mixture.tilted_target(MEANS, STDS, WEIGHTS, 0, 0.0)
    np.testing.assert_allclose(target.mean, MEANS[0], atol=1e-6)
    np.testing.assert_allclose(target.covariance, STDS[0] ** 2 * np.eye(2), atol=2e-4)  # midpoint rule, h = 0.025
    assert target.masses.shape == (40, 40) and abs(target.masses.sum() - 1) < 1e-12
    points, _ = point_diffusion.sample_mixture(MEANS[:1], STDS[:1], [1.0], 200_000, seed=1)
    share = np.mean(point_diffusion.mixture_component(points, MEANS, STDS, WEIGHTS) == 0)
    assert abs(target.accuracy - share) < 4 * np.sqrt(share * (1 - share) / len(points))


@pytest.mark.parametrize("guidance", [1.0, 3.0])
def test_the_tilted_target_of_two_components_against_a_one_dimensional_integral(guidance):
    # two components of equal sd: p(0 | x) = sigmoid of a linear function, so π_w factorises into a Gaussian across
    # the line joining the means and a 1-D density u ↦ N(u; 0, s²) sigmoid(a u + b)^w along it
    means, stds, weights = np.array([[-0.8, 0.3], [0.9, -0.2]]), np.array([0.6, 0.6]), np.array([0.4, 0.6])
    direction = (means[1] - means[0]) / np.linalg.norm(means[1] - means[0])
    gap = np.linalg.norm(means[1] - means[0])
    slope, offset = -gap / stds[0] ** 2, gap**2 / (2 * stds[0] ** 2) + np.log(weights[0] / weights[1])

    def along(u):  # u: the coordinate along `direction`, from μ_0
        return stats.norm.pdf(u, 0, stds[0]) * special.expit(slope * u + offset) ** guidance

    total = integrate.quad(along, -8, 8)[0]
    mean_u = integrate.quad(lambda u: u * along(u), -8, 8)[0] / total
    variance_u = integrate.quad(lambda u: (u - mean_u) ** 2 * along(u), -8, 8)[0] / total
    target = mixture.tilted_target(means, stds, weights, 0, guidance, bins=40, refine=10)
    np.testing.assert_allclose(target.mean, means[0] + mean_u * direction, atol=1e-4)
    expected_covariance = (stds[0] ** 2 * (np.eye(2) - np.outer(direction, direction))
                           + variance_u * np.outer(direction, direction))
    np.testing.assert_allclose(target.covariance, expected_covariance, atol=3e-4)
    assert mean_u < -0.05   # the tilt pushes away from the other component


def test_histogram_distance():
    target = mixture.GridDensity(edges=np.array([0.0, 1.0, 2.0]), masses=np.full((2, 2), 0.25), mean=np.ones(2),
                                 covariance=np.eye(2), accuracy=1.0)
    centres = np.array([[0.5, 0.5], [0.5, 1.5], [1.5, 0.5], [1.5, 1.5]])
    assert mixture.histogram_distance(centres, target) == pytest.approx(0.0)
    assert mixture.histogram_distance(centres[:1].repeat(4, 0), target) == pytest.approx(0.75)
    assert mixture.histogram_distance(centres + 5.0, target) == pytest.approx(1.0)   # all outside the grid
    # points drawn from the target itself: about the floor ½ Σ √(2 p/(π n)), far below a shifted copy's distance
    tilted = mixture.tilted_target(MEANS, STDS, WEIGHTS, 0, 1.0)
    rng, n = np.random.default_rng(2), 20_000
    cells = rng.choice(tilted.masses.size, size=n, p=tilted.masses.ravel())
    width = tilted.edges[1] - tilted.edges[0]
    points = tilted.edges[0] + width * (np.stack(np.unravel_index(cells, tilted.masses.shape), -1)
                                        + rng.uniform(size=(n, 2)))
    floor = 0.5 * np.sum(np.sqrt(2 * tilted.masses / (np.pi * n)))
    assert mixture.histogram_distance(points, tilted) < 1.3 * floor
    assert mixture.histogram_distance(points + [0.3, 0.0], tilted) > 5 * floor


def test_the_guided_chain_with_exact_predictions_misses_the_tilted_target():
    # w = 0: the chain samples p(x | y) (its mean within 4.5 standard errors); w = 3: its mean lies far beyond π_w's
    alpha_bars = sampling.schedules.noise_schedule("linear", 1000)
    unconditional = sampling.diffusion.gaussian_mixture_noise(MEANS, STDS, WEIGHTS, alpha_bars)
    conditional = sampling.diffusion.gaussian_mixture_noise(MEANS[:1], STDS[:1], [1.0], alpha_bars)
    n = 2000
    for guidance, far in ((0.0, False), (3.0, True)):
        target = mixture.tilted_target(MEANS, STDS, WEIGHTS, 0, guidance)
        points = sampling.diffusion.sample(
            lambda x, i, w=guidance: sampling.diffusion.guided_noise(conditional(x, i), unconditional(x, i), w),
            (n, 2), alpha_bars, 200, seed=3)
        z = np.abs(points.mean(0) - target.mean) / np.sqrt(np.diag(target.covariance) / n)
        assert (z.max() > 20) if far else (z.max() < 4.5), (guidance, z)


def test_the_figure_draws_each_target_with_its_point_sets():
    from genai_tf.viz import densities

    targets = {w: mixture.tilted_target(MEANS, STDS, WEIGHTS, 0, w, bins=20, refine=4) for w in (0.0, 2.0)}
    points = np.random.default_rng(0).normal(MEANS[0], 0.5, (300, 2))
    figure = densities.density_and_points({f"w = {w:g}": (target, {"η = 0": points, "η = 1": points + 0.1})
                                           for w, target in targets.items()}, title="t")
    assert [axis.get_title() for axis in figure.axes] == ["w = 0", "w = 2"]
    labels = [text.get_text() for text in figure.axes[1].get_legend().get_texts()]
    assert labels == ["η = 0", "η = 1", "target's mean"]
    # the outlined regions hold 50 % and 90 % of the mass: the levels are increasing cell masses
    low, high = densities._mass_levels(targets[0.0].masses, (0.9, 0.5))
    assert 0 < low < high and targets[0.0].masses[targets[0.0].masses >= high].sum() == pytest.approx(0.5, abs=0.1)
