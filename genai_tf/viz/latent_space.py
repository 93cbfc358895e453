"""Figures of a latent space: codes scattered by label, a decoded grid over a 2-D latent space,
and decodings along a straight path between two codes."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from genai_tf.viz.tiles import image_grid, tile_images


def latent_scatter(latents, labels, title="Latent codes by label") -> Figure:
    """Scatter the first two latent dimensions (or a 2-D projection), coloured by label."""
    latents = np.asarray(latents)
    if latents.shape[1] > 2:  # project onto the two leading principal directions
        centred = latents - latents.mean(axis=0)
        _, _, directions = np.linalg.svd(centred, full_matrices=False)
        latents = centred @ directions[:2].T
        title = f"{title} (PCA projection)"
    figure = Figure(figsize=(5.5, 4.5))
    axis = figure.add_subplot()
    points = axis.scatter(latents[:, 0], latents[:, 1], c=labels, cmap="tab10", s=4, alpha=0.7)
    figure.colorbar(points, ax=axis, label="label")
    axis.set_xlabel("z[0]")
    axis.set_ylabel("z[1]")
    axis.set_title(title)
    figure.tight_layout()
    return figure


def latent_manifold(decode, grid_size=15, extent=2.0, title="Decoded latent grid") -> Figure:
    """Decode a ``grid_size``² grid over [-extent, extent]² of a 2-D latent space, drawn on axes
    z₁ (left to right) and z₂ (bottom to top) so each image sits at the code it decodes.

    ``decode`` maps ``(n, 2)`` latents to ``(n, H, W, C)`` images (e.g. ``model.decode``).
    For a Gaussian prior, pass ``extent`` in standard deviations.
    """
    axis_values = np.linspace(-extent, extent, grid_size, dtype="float32")
    # rows run top to bottom from +extent to -extent on z₂, columns left to right on z₁
    grid = np.array([[x, y] for y in axis_values[::-1] for x in axis_values], dtype="float32")
    images = np.asarray(decode(grid))
    step = (2 * extent / (grid_size - 1)) if grid_size > 1 else 1.0
    figure = Figure(figsize=(6.4, 6.0))
    axis = figure.add_subplot()
    tiled = tile_images(images, columns=grid_size)
    axis.imshow(tiled[..., 0] if tiled.shape[-1] == 1 else tiled, cmap="gray",
                extent=(-extent - step / 2, extent + step / 2, -extent - step / 2, extent + step / 2))
    axis.set_xlabel("z₁")
    axis.set_ylabel("z₂")
    axis.set_title(title)
    figure.tight_layout()
    return figure


def interpolation(decode, start, end, steps=10, title="Linear interpolation in latent space") -> Figure:
    """Decode ``steps`` points on the segment from latent ``start`` to latent ``end``."""
    weights = np.linspace(0.0, 1.0, steps, dtype="float32")[:, None]
    start = np.asarray(start, dtype="float32").reshape(1, -1)
    end = np.asarray(end, dtype="float32").reshape(1, -1)
    images = np.asarray(decode((1.0 - weights) * start + weights * end))
    return image_grid(images, columns=steps, title=title, size=steps * 0.9)
