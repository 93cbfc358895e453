"""Matplotlib figures for the course. Every function returns a ``matplotlib.figure.Figure``.

Figures are built with ``Figure()`` rather than ``pyplot``, so nothing is drawn twice in a
notebook: the returned figure displays when it is a cell's last value, and saves with
``fig.savefig(path)``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from genai_tf.callbacks import tile_images


def save_figure(figure, name, enabled=True, folder="figures", dpi=110) -> Figure:
    """Write ``figure`` to ``folder/name`` when ``enabled`` and return it, so a notebook cell that
    ends with this call still shows the figure.

    The notebooks pass ``enabled=CFG.save_figures`` (their full profile) and run from
    ``notebooks/``, so the reference figures land in ``notebooks/figures``.
    """
    if enabled:
        path = Path(folder) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=dpi, bbox_inches="tight")
    return figure


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


def discriminator_curves(x, p_data, p_model, optimal, learned=None,
                         title="Optimal discriminator D*(x) = p_data / (p_data + p_g)") -> Figure:
    """1-D densities (left) and the optimal discriminator D* with a trained D (right), Eq. (GAN.3).

    ``x`` is a grid ``(n,)``; ``p_data``, ``p_model``, ``optimal`` and ``learned`` (optional,
    sigmoid of a trained discriminator's logits) are values on that grid.
    """
    x = np.asarray(x).reshape(-1)
    figure = Figure(figsize=(10.0, 3.6))
    density_axis, d_axis = figure.subplots(1, 2)
    density_axis.plot(x, np.asarray(p_data).reshape(-1), label="p_data(x)")
    density_axis.plot(x, np.asarray(p_model).reshape(-1), label="p_g(x)")
    density_axis.set_xlabel("x")
    density_axis.set_title("densities")
    density_axis.legend()
    d_axis.plot(x, np.asarray(optimal).reshape(-1), color="black", label="D*(x), analytic")
    if learned is not None:
        d_axis.plot(x, np.asarray(learned).reshape(-1), linestyle="--", color="tab:red",
                    label="D(x), trained")
    d_axis.axhline(0.5, color="grey", linewidth=0.8)
    d_axis.set_ylim(-0.02, 1.02)
    d_axis.set_xlabel("x")
    d_axis.set_title("discriminator")
    d_axis.legend()
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def gan_diagnostics(histories, keys=("d_real", "d_fake", "g_loss"), xlabel="epoch",
                    title="GAN diagnostics", generator_losses=None) -> Figure:
    """Compare several GAN runs: one panel per logged key (D(x), D(G(z)), losses), one line per run.

    ``histories`` maps a run name to a ``fit()`` history (or a dict of lists) with the keys
    that :class:`genai_tf.models.gan.GAN` logs: ``d_loss``, ``g_loss``, ``d_real`` (mean D(x)),
    ``d_fake`` (mean D(G(z))). ``generator_losses`` maps a run to its generator loss
    (``"minimax"`` or ``"non_saturating"``): the two are different quantities, log(1 − D(G(z)))
    and −log D(G(z)), so each run's ``g_loss`` line is labelled with its own. One legend for all
    panels sits under them, off the data.
    """
    labels = {"d_real": ("D(x) on real images", "mean D(x)"), "d_fake": ("D(G(z)) on samples", "mean D(G(z))"),
              "d_loss": ("discriminator loss", "−[log D(x) + log(1 − D(G(z)))]"),
              "g_loss": ("generator loss", "the run's own generator loss")}
    forms = {"minimax": "log(1 − D(G(z)))", "non_saturating": "−log D(G(z))"}
    from matplotlib.ticker import MaxNLocator

    styles = ("-", "--", ":", "-.")  # runs that coincide stay visible
    figure = Figure(figsize=(4.0 * len(keys), 3.9))
    axes = figure.subplots(1, len(keys), squeeze=False)[0]
    lines = {}
    for axis, key in zip(axes, keys):
        for index, (name, history) in enumerate(histories.items()):
            values = getattr(history, "history", history)[key]
            label = name
            if generator_losses and name in generator_losses:
                label = f"{name}: g_loss = {forms.get(generator_losses[name], generator_losses[name])}"
            lines[label] = axis.plot(np.arange(1, len(values) + 1), values, marker=".",
                                     linestyle=styles[index % len(styles)])[0]
        if key in ("d_real", "d_fake"):
            axis.set_ylim(-0.02, 1.02)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_xlabel(xlabel)
        panel_title, ylabel = labels.get(key, (key, key))
        axis.set_title(panel_title)
        axis.set_ylabel(ylabel)
    figure.suptitle(title)
    figure.legend(list(lines.values()), list(lines), loc="lower center", ncol=min(len(lines), 2),
                  fontsize="small", frameon=False)
    figure.tight_layout(rect=(0, 0.08 + 0.05 * ((len(lines) + 1) // 2), 1, 1))
    return figure


def fid_bias(sizes, measured, fits, title="cFID against 1/n: the intercept is the n → ∞ value") -> Figure:
    """The sample-size bias of FID: each set's measured cFID (markers) against 1/n, its fitted
    line a + c/n drawn down to 1/n = 0, and the intercept a (the extrapolated n → ∞ value) marked.

    ``sizes``: the n of each measurement; ``measured``: name → cFID at each n (or ``(n, repeats)``,
    averaged); ``fits``: name → ``(a, c)``.
    """
    sizes = np.asarray(sizes, dtype="float64")
    inverse = 1.0 / sizes
    grid = np.linspace(0.0, inverse.max() * 1.05, 50)
    figure = Figure(figsize=(6.4, 4.4))
    axis = figure.add_subplot()
    for index, (name, values) in enumerate(measured.items()):
        values = np.asarray(values, dtype="float64")
        values = values.mean(axis=1) if values.ndim == 2 else values
        color = f"C{index}"
        axis.plot(inverse, values, "o", color=color, label=f"{name}: measured")
        if name in fits:
            a, c = fits[name]
            axis.plot(grid, a + c * grid, "-", color=color, alpha=0.7, label=f"{name}: fit {a:.2f} + {c:,.0f}/n")
            axis.plot([0.0], [a], "*", color=color, markersize=13, markeredgecolor="black",
                      label=f"{name}: n → ∞ estimate {a:.2f}")
    axis.set_xlim(left=0.0)
    axis.set_xlabel("1/n (n: samples in each set)")
    axis.set_ylabel("cFID")
    secondary = axis.secondary_xaxis("top", functions=(lambda x: 1.0 / np.maximum(x, 1e-12),
                                                       lambda n: 1.0 / np.maximum(n, 1e-12)))
    secondary.set_xticks([n for n in (100, 250, 500, 1000, 5000) if 1.0 / n <= grid.max()])
    secondary.set_xlabel("n (the same axis, read as sample size)")
    figure.suptitle(title, fontsize="medium")   # above the top axis's label, not on it
    axis.legend(fontsize="small")
    figure.tight_layout()
    return figure


def bar_chart(values, ylabel, title=None, reference=None, reference_label=None,
              value_format="{:.4f}") -> Figure:
    """Bars for named numbers (e.g. each model's test error), each labelled with its value.

    ``values`` maps a name to a number, drawn left to right in the dict's order. ``reference``
    (optional) draws a dashed horizontal line, e.g. a baseline the bars are compared with.
    """
    names, numbers = list(values), [float(value) for value in values.values()]
    figure = Figure(figsize=(max(4.0, 1.2 * len(names) + 1.5), 3.6))
    axis = figure.add_subplot()
    bars = axis.bar(names, numbers, color=[f"C{index}" for index in range(len(names))])
    axis.bar_label(bars, labels=[value_format.format(number) for number in numbers], fontsize="small")
    if reference is not None:
        axis.axhline(reference, color="black", linestyle="--", linewidth=1.0, label=reference_label)
        if reference_label:
            axis.legend()
    axis.set_ylabel(ylabel)
    axis.margins(y=0.15)
    if title:
        axis.set_title(title)
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


# --- diffusion (notebook 07) --------------------------------------------------------------


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


def point_clouds(point_sets, colors=None, title=None, limits=None, size=3.2) -> Figure:
    """2-D point sets as scatter panels side by side, on the same axes (e.g. data and samplers' samples).

    ``point_sets`` maps a panel title to ``(n, 2)`` points; ``colors`` (optional) maps some of
    the titles to ``(n,)`` integer labels, drawn one colour per label. ``limits`` is
    ``(low, high)`` for both axes; by default it covers the middle 99.8 % of every set.
    """
    names = list(point_sets)
    sets = [np.asarray(point_sets[name], dtype="float64") for name in names]
    if any(points.ndim != 2 or points.shape[1] != 2 for points in sets):
        raise ValueError("point_clouds expects (n, 2) points in every set.")
    if limits is None:
        every = np.concatenate(sets)
        low, high = np.percentile(every, 0.1), np.percentile(every, 99.9)
        limits = (low - 0.05 * (high - low), high + 0.05 * (high - low))
    figure = Figure(figsize=(size * len(names), size + (0.3 if title else 0.0)))
    axes = figure.subplots(1, len(names), squeeze=False)[0]
    for axis, name, points in zip(axes, names, sets):
        labels = None if colors is None else colors.get(name)
        colour = {} if labels is None else {"c": np.asarray(labels), "cmap": "tab10", "vmin": 0, "vmax": 9}
        axis.scatter(points[:, 0], points[:, 1], s=2, alpha=0.4, **colour)
        axis.set_xlim(*limits)
        axis.set_ylim(*limits)
        axis.set_aspect("equal")
        axis.set_title(name, fontsize="small")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def line_panels(panels, title=None, size=(4.6, 3.4)) -> Figure:
    """Line plots side by side. Each panel is a dict with ``x``, ``series`` (name → values),
    ``xlabel`` and ``ylabel``, and optionally ``title``, ``logx``, ``logy``.

    A series may also be an ``(x, values)`` pair with its own x values. Points get markers
    when a series has at most 40 of them.
    """
    figure = Figure(figsize=(size[0] * len(panels), size[1] + (0.3 if title else 0.0)))
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for axis, panel in zip(axes, panels):
        for name, values in panel["series"].items():
            x, y = values if isinstance(values, tuple) else (panel["x"], values)
            axis.plot(x, y, marker="o" if len(np.atleast_1d(x)) <= 40 else None, label=name)
        if panel.get("logx"):
            from matplotlib.ticker import NullFormatter, ScalarFormatter

            axis.set_xscale("log")
            axis.xaxis.set_major_formatter(ScalarFormatter())  # 10, 100 rather than 10¹, 10²
            axis.xaxis.set_minor_formatter(NullFormatter())     # no crowded 2×10¹, 3×10¹ labels
        if panel.get("logy"):
            axis.set_yscale("log")
        axis.set_xlabel(panel["xlabel"])
        axis.set_ylabel(panel["ylabel"])
        if panel.get("title"):
            axis.set_title(panel["title"], fontsize="medium")
        axis.legend(fontsize="small")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def attention_maps(weights, tokens, row_labels=None, title=None, size=2.4) -> Figure:
    """Attention weights as heat maps, one panel per (row, head): ``weights`` is ``(rows, heads, L, L)``
    (e.g. two layers' heads), rows are queries, columns keys; ``tokens`` labels the L positions
    (a string of characters; a space shows as ␣, a newline as ↵)."""
    weights = np.asarray(weights, dtype="float32")
    if weights.ndim != 4 or weights.shape[-1] != weights.shape[-2]:
        raise ValueError(f"weights must be (rows, heads, L, L); got shape {weights.shape}.")
    rows, heads, length = weights.shape[0], weights.shape[1], weights.shape[-1]
    labels = [{" ": "␣", "\n": "↵", "\t": "⇥"}.get(c, c) for c in tokens][:length]
    figure = Figure(figsize=(size * heads, (size + 0.4) * rows + (0.4 if title else 0.0)))
    axes = figure.subplots(rows, heads, squeeze=False)
    for row in range(rows):
        for head in range(heads):
            axis = axes[row, head]
            axis.imshow(weights[row, head], cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest")
            ticks = np.arange(length) if len(labels) == length and length <= 48 else []
            axis.set_xticks(ticks, [labels[i] for i in ticks], fontsize=5, family="monospace")
            axis.set_yticks(ticks, [labels[i] for i in ticks] if head == 0 else [], fontsize=5, family="monospace")
            axis.set_title(f"{row_labels[row] + ', ' if row_labels else ''}head {head + 1}", fontsize="small")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def score_vs_cost(points, xlabel, ylabel, title=None, logx=True, reference=None, reference_label=None) -> Figure:
    """One labelled marker per model: ``points`` maps a name to ``(cost, score)`` (e.g. CPU seconds and
    bits/char); ``reference`` draws a dashed horizontal line (e.g. a uniform model's log₂ V)."""
    figure = Figure(figsize=(6.4, 4.2))
    axis = figure.add_subplot()
    for name, (x, y) in points.items():
        axis.scatter([x], [y], s=36, zorder=3)
        axis.annotate(name, (x, y), textcoords="offset points", xytext=(6, 4), fontsize="small")
    if reference is not None:
        axis.axhline(reference, color="grey", linestyle="--", linewidth=1, label=reference_label)
        if reference_label:
            axis.legend(fontsize="small")
    if logx:
        axis.set_xscale("log")
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.grid(True, alpha=0.3)
    if title:
        axis.set_title(title)
    figure.tight_layout()
    return figure
