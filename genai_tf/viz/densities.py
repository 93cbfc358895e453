"""A 2-D density normalised on a grid with sampled points over it (notebook 07's guidance check)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure


def _mass_levels(masses, fractions):
    """The cell masses above which the most probable cells hold each fraction of the total, increasing."""
    ordered = np.sort(np.asarray(masses).ravel())[::-1]
    cumulative = np.cumsum(ordered) / ordered.sum()
    return sorted(float(ordered[min(np.searchsorted(cumulative, f), len(ordered) - 1)]) for f in fractions)


def density_and_points(panels, title=None, size=3.2, max_points=1500) -> Figure:
    """One panel per entry of ``panels`` (a dict title → ``(density, {label: points (n, 2)})``).

    ``density`` is a :class:`genai_tf.sampling.mixture.GridDensity`: its cell masses are shaded,
    the smallest regions holding 50 % and 90 % of its mass outlined, and its mean marked ×. Each
    point set is drawn under the outlines (at most ``max_points`` points) with its mean marked ●.
    """
    figure = Figure(figsize=(size * len(panels), size + 0.4))
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    colors = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd")
    for axis, (name, (density, point_sets)) in zip(axes, panels.items()):
        edges = density.edges
        axis.imshow(density.masses.T, origin="lower", extent=(edges[0], edges[-1], edges[0], edges[-1]),
                    cmap="Greys", interpolation="nearest")
        for color, (label, points) in zip(colors, point_sets.items()):
            points = np.asarray(points)
            axis.scatter(points[:max_points, 0], points[:max_points, 1], s=1.5, alpha=0.25, color=color)
            axis.plot(*points.mean(0), marker="o", color=color, ms=7, mec="white", ls="none", label=label)
        centres = (edges[:-1] + edges[1:]) / 2
        axis.contour(centres, centres, density.masses.T, levels=_mass_levels(density.masses, (0.9, 0.5)),
                     colors="black", linewidths=(0.8, 1.4))
        axis.plot(*density.mean, marker="x", color="black", ms=9, mew=2, ls="none", label="target's mean")
        axis.set_xlim(-3.0, 1.5)
        axis.set_ylim(-2.5, 1.5)
        axis.set_aspect("equal")
        axis.set_title(name, fontsize=9)
        axis.legend(fontsize=7, loc="upper right")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure
