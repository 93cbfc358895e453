"""Matplotlib figures for the course. Every function returns a ``matplotlib.figure.Figure``.

Figures are built with ``Figure()`` rather than ``pyplot``, so nothing is drawn twice in a
notebook: the returned figure displays when it is a cell's last value, and saves with
``fig.savefig(path)``.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure

from genai_tf.callbacks import tile_images


def _show_image(axis, image, title=None):
    image = np.clip(np.asarray(image, dtype="float32"), 0.0, 1.0)
    if image.shape[-1] == 1:
        axis.imshow(image[..., 0], cmap="gray", vmin=0.0, vmax=1.0)
    else:
        axis.imshow(image)
    axis.set_xticks([])
    axis.set_yticks([])
    if title:
        axis.set_title(title)


def image_grid(images, columns=None, title=None, size=4.0) -> Figure:
    """Show ``(n, H, W, C)`` images in [0, 1] as one tiled grid."""
    images = np.asarray(images, dtype="float32")
    if images.ndim != 4:
        raise ValueError(f"image_grid expects (n, H, W, C) images, got shape {images.shape}.")
    columns = columns or int(math.ceil(math.sqrt(len(images))))
    rows = int(math.ceil(len(images) / columns))
    figure = Figure(figsize=(size, size * rows / columns + (0.3 if title else 0.0)))
    _show_image(figure.add_subplot(), tile_images(images, columns), title)
    figure.tight_layout()
    return figure


def compare_rows(rows, row_titles, columns=10, size=1.0) -> Figure:
    """Stack several image sets as rows (e.g. inputs / noisy / reconstructions)."""
    figure = Figure(figsize=(columns * size, len(rows) * size * 1.1))
    axes = figure.subplots(len(rows), columns, squeeze=False)
    for row_index, (images, title) in enumerate(zip(rows, row_titles)):
        for column in range(columns):
            _show_image(axes[row_index, column], images[column])
        axes[row_index, 0].set_ylabel(title, rotation=0, ha="right", va="center")
    figure.tight_layout()
    return figure


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
    """Decode a ``grid_size``² grid over [-extent, extent]² of a 2-D latent space.

    ``decode`` maps ``(n, 2)`` latents to ``(n, H, W, C)`` images (e.g. ``model.decode``).
    For a Gaussian prior, pass ``extent`` in standard deviations.
    """
    axis_values = np.linspace(-extent, extent, grid_size, dtype="float32")
    # rows run top to bottom from +extent to -extent on z[1], columns left to right on z[0]
    grid = np.array([[x, y] for y in axis_values[::-1] for x in axis_values], dtype="float32")
    images = np.asarray(decode(grid))
    return image_grid(images, columns=grid_size, title=title, size=6.0)


def interpolation(decode, start, end, steps=10, title="Linear interpolation in latent space") -> Figure:
    """Decode ``steps`` points on the segment from latent ``start`` to latent ``end``."""
    weights = np.linspace(0.0, 1.0, steps, dtype="float32")[:, None]
    start = np.asarray(start, dtype="float32").reshape(1, -1)
    end = np.asarray(end, dtype="float32").reshape(1, -1)
    images = np.asarray(decode((1.0 - weights) * start + weights * end))
    return image_grid(images, columns=steps, title=title, size=steps * 0.9)


def loss_curves(history, keys=None, title="Training curves") -> Figure:
    """Plot ``history.history`` (or a dict of lists): each key with its ``val_`` twin."""
    logs = getattr(history, "history", history)
    keys = keys or [key for key in logs if not key.startswith("val_")]
    figure = Figure(figsize=(4.0 * len(keys), 3.2))
    axes = figure.subplots(1, len(keys), squeeze=False)[0]
    for axis, key in zip(axes, keys):
        epochs = np.arange(1, len(logs[key]) + 1)
        axis.plot(epochs, logs[key], marker="o", label="train")
        if f"val_{key}" in logs:
            axis.plot(epochs, logs[f"val_{key}"], marker="o", label="validation")
        axis.set_xlabel("epoch")
        axis.set_title(key)
        axis.legend()
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def line_plot(x, series, xlabel, ylabel, title=None, logx=False) -> Figure:
    """Plot several named series against ``x`` (e.g. bounds against k, or a β sweep)."""
    figure = Figure(figsize=(5.5, 3.8))
    axis = figure.add_subplot()
    for name, values in series.items():
        axis.plot(x, values, marker="o", label=name)
    if logx:
        axis.set_xscale("log")
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    if title:
        axis.set_title(title)
    axis.legend()
    figure.tight_layout()
    return figure
