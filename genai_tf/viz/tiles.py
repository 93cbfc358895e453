"""Figures of images tiled in grids: one grid, grids side by side, rows to compare, a conditional
model's style × label grid, a labelled table; and :func:`tile_images`, the numpy tiling they and
the TensorBoard callbacks share.

Images are ``(..., H, W, C)`` floats in [0, 1]; one channel is drawn in grey.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure


def tile_images(images, columns=None) -> np.ndarray:
    """Tile ``(n, H, W, C)`` images into one ``(rows*H, columns*W, C)`` image, row by row."""
    images = np.asarray(images)
    count, height, width, channels = images.shape
    columns = columns or int(math.ceil(math.sqrt(count)))
    rows = int(math.ceil(count / columns))
    canvas = np.zeros((rows * height, columns * width, channels), dtype=images.dtype)
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        canvas[row * height:(row + 1) * height, column * width:(column + 1) * width] = image
    return canvas


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


def image_grids(image_sets, columns=8, size=3.5, title=None) -> Figure:
    """Several image sets as tiled grids side by side, one titled panel per set.

    ``image_sets`` maps a panel title to ``(n, H, W, C)`` images in [0, 1], drawn left to
    right in the dict's order: e.g. ``{"VAE": vae_samples, "VAE-GAN": vaegan_samples}``.
    """
    names = list(image_sets)
    grids = [np.asarray(image_sets[name], dtype="float32") for name in names]
    if any(grid.ndim != 4 for grid in grids):
        raise ValueError("image_grids expects (n, H, W, C) images in every set.")
    rows = max(int(math.ceil(len(grid) / columns)) for grid in grids)
    figure = Figure(figsize=(size * len(names), size * rows / columns + 0.5 + (0.3 if title else 0.0)))
    axes = figure.subplots(1, len(names), squeeze=False)[0]
    for axis, name, grid in zip(axes, names, grids):
        _show_image(axis, tile_images(grid, columns), name)
    if title:
        figure.suptitle(title)
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


def label_grid(images, column_labels, sources=None, source_title="input", title=None,
               size=0.8) -> Figure:
    """A conditional model's grid: each row keeps one latent "style", each column one label.

    ``images`` has shape ``(rows, columns, H, W, C)`` in [0, 1]: ``images[r, c]`` decodes
    latent ``z_r`` with label ``column_labels[c]`` (notebook 04: a CVAE's 10×10 digit grid).
    ``sources`` (optional, ``(rows, H, W, C)``) are drawn as an extra left column, e.g. the
    real images whose codes ``z_r`` are, so a row reads "this style, as every label".
    """
    images = np.asarray(images, dtype="float32")
    if images.ndim != 5 or images.shape[1] != len(column_labels):
        raise ValueError(f"label_grid expects (rows, columns, H, W, C) images with one label per "
                         f"column; got shape {images.shape} and {len(column_labels)} labels.")
    rows, columns, height, width, _ = images.shape
    extra = 0 if sources is None else 1
    figure = Figure(figsize=(size * (columns + extra * 1.3), size * rows + 0.4 + (0.3 if title else 0.0)))
    axes = figure.subplots(1, 1 + extra, squeeze=False,
                           gridspec_kw={"width_ratios": [1] * extra + [columns]})[0]
    if sources is not None:
        _show_image(axes[0], tile_images(np.asarray(sources, "float32"), columns=1), source_title)
    grid_axis = axes[-1]
    _show_image(grid_axis, tile_images(images.reshape(rows * columns, *images.shape[2:]), columns))
    grid_axis.xaxis.set_ticks_position("top")
    grid_axis.set_xticks((np.arange(columns) + 0.5) * width - 0.5)
    grid_axis.set_xticklabels([str(label) for label in column_labels])
    grid_axis.tick_params(length=0)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def image_table(images, row_labels=None, column_labels=None, title=None, size=0.9) -> Figure:
    """Images ``(rows, columns, H, W, C)`` in [0, 1] as a table, labelled per row (left) and column (top).

    E.g. one digit noised at several timesteps (columns) under two schedules (rows), or x̂_0
    along a sampler's steps (columns) for a few samples (rows).
    """
    images = np.asarray(images, dtype="float32")
    if images.ndim != 5:
        raise ValueError(f"image_table expects (rows, columns, H, W, C) images, got shape {images.shape}.")
    rows, columns = images.shape[:2]
    for name, labels, count in (("row_labels", row_labels, rows), ("column_labels", column_labels, columns)):
        if labels is not None and len(labels) != count:
            raise ValueError(f"image_table: {len(labels)} {name} for {count} {name.split('_')[0]}s.")
    width, height = size * columns + (1.0 if row_labels is not None else 0.0), size * rows + 0.3 + (0.4 if title else 0.0)
    figure = Figure(figsize=(width, height))
    axes = figure.subplots(rows, columns, squeeze=False)
    for row in range(rows):
        for column in range(columns):
            _show_image(axes[row, column], images[row, column])
        if row_labels is not None:
            axes[row, 0].set_ylabel(str(row_labels[row]), rotation=0, ha="right", va="center", fontsize="small")
    if column_labels is not None:
        for column, label in enumerate(column_labels):
            axes[0, column].set_title(str(label), fontsize="small")
    if title:
        figure.suptitle(title)
    figure.tight_layout(pad=0.3, rect=(0, 0, 1, 1 - (0.4 / height if title else 0.0)))
    return figure
