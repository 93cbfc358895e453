"""What guidance aims at on a Gaussian mixture (notebook 07, section 10), computed exactly.

Classifier-free guidance, Eq. (DM.14), tilts the score of every *noised* distribution q_t by
p_t(y | x)^w. The density it is usually said to sample is the tilted clean one,

    π_w(x) ∝ p(x | y) p(y | x)^w,

which has no closed-form normaliser even for a mixture. :func:`tilted_target` normalises it
numerically on a grid of the plane; :func:`histogram_distance` says how far a sampler's points
are from it, and :func:`class_posterior` is p_t(k | x) for the noised mixture, the classifier
that guidance's score difference is the gradient of. Mixtures are Σ_k π_k N(μ_k, s_k² I) with
``means (K, d)``, ``stds (K,)`` and ``weights (K,)`` (normalised here), as for
:func:`genai_tf.sampling.diffusion.gaussian_mixture_noise`.
"""

from __future__ import annotations

import dataclasses

import numpy as np


def _component_log_densities(points, means, stds, alpha_bar=1.0):
    """log N(x; √ᾱ μ_k, (ᾱ s_k² + 1 - ᾱ) I) for each point and component: ``(n, K)``."""
    points = np.atleast_2d(np.asarray(points, "float64"))
    means, stds = np.asarray(means, "float64"), np.asarray(stds, "float64")
    variances = alpha_bar * stds**2 + 1.0 - alpha_bar
    squared = np.sum((points[:, None, :] - np.sqrt(alpha_bar) * means[None]) ** 2, axis=-1)
    return -0.5 * squared / variances - 0.5 * means.shape[1] * np.log(2 * np.pi * variances)


def class_posterior(points, means, stds, weights, alpha_bar=1.0):
    """p_t(k | x) of the mixture noised to ``alpha_bar`` (1: the clean data), by Bayes' rule: ``(n, K)``."""
    log_joint = np.log(np.asarray(weights, "float64") / np.sum(weights)) + _component_log_densities(
        points, means, stds, alpha_bar)
    log_joint -= log_joint.max(axis=-1, keepdims=True)
    posterior = np.exp(log_joint)
    return posterior / posterior.sum(axis=-1, keepdims=True)


def tilted_log_density(points, means, stds, weights, label, guidance):
    """log p(x | y) + w log p(y | x), unnormalised: the log of guidance's nominal target π_w, ``(n,)``."""
    conditional = _component_log_densities(points, means, stds)[:, label]
    return conditional + guidance * np.log(np.maximum(class_posterior(points, means, stds, weights)[:, label], 1e-300))


@dataclasses.dataclass(frozen=True, eq=False)  # arrays: compare fields, not objects
class GridDensity:
    """A 2-D density normalised on a grid: cell masses and the moments they imply."""

    edges: np.ndarray     # (bins + 1,): the cells' edges, the same on both axes
    masses: np.ndarray    # (bins, bins): probability of each cell, summing to 1; [i, j] is x in cell i, y in cell j
    mean: np.ndarray      # (2,)
    covariance: np.ndarray  # (2, 2)
    accuracy: float       # the mass the mixture's Bayes classifier gives the requested label


def tilted_target(means, stds, weights, label, guidance, limits=(-4.0, 4.0), bins=40, refine=8) -> GridDensity:
    """π_w(x) ∝ p(x | y) p(y | x)^w for a 2-D mixture, normalised numerically on a grid.

    The density is evaluated at the midpoints of ``bins·refine`` sub-cells per axis over
    ``limits`` (midpoint rule), summed into ``bins × bins`` cells and divided by the total; the
    moments and the requested-class share (the Bayes classifier's, as
    :func:`genai_tf.models.point_diffusion.mixture_component`) come from the fine grid. The
    limits must hold practically all of the mass (the tilt only narrows p(x | y)).
    """
    if np.asarray(means).shape[1] != 2:
        raise ValueError("tilted_target normalises on a plane: the mixture must be 2-D.")
    fine = bins * refine
    width = (limits[1] - limits[0]) / fine
    centres = limits[0] + width * (np.arange(fine) + 0.5)
    grid = np.stack(np.meshgrid(centres, centres, indexing="ij"), axis=-1).reshape(-1, 2)
    log_density = tilted_log_density(grid, means, stds, weights, label, guidance)
    density = np.exp(log_density - log_density.max())
    density /= density.sum()
    mean = density @ grid
    centred = grid - mean
    covariance = (density[:, None] * centred).T @ centred
    bayes = np.argmax(np.log(np.asarray(weights) / np.sum(weights)) + _component_log_densities(grid, means, stds), -1)
    masses = density.reshape(bins, refine, bins, refine).sum(axis=(1, 3))
    return GridDensity(edges=np.linspace(limits[0], limits[1], bins + 1), masses=masses, mean=mean,
                       covariance=covariance, accuracy=float(density[bayes == label].sum()))


def histogram_distance(points, target: GridDensity) -> float:
    """Total variation ½ Σ |p̂_cell - p_cell| between the points' histogram on ``target``'s cells and its masses.

    Points outside the grid count as mass the target lacks. With n points from the target
    itself it is not 0 but about ½ Σ √(2 p_cell/(π n)): compare a sampler with that floor.
    """
    points = np.asarray(points, "float64")
    counts, _, _ = np.histogram2d(points[:, 0], points[:, 1], bins=[target.edges, target.edges])
    outside = 1.0 - counts.sum() / len(points)
    return float(0.5 * (np.abs(counts / len(points) - target.masses).sum() + outside))
