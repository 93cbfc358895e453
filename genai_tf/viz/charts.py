"""Charts of numbers: training curves, line plots and panels, bars, score against cost, 2-D point
clouds, and the evaluation figures built on them (GAN diagnostics, the optimal discriminator,
FID's sample-size bias)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure


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


def spread_by_setting(values, ylabel, title=None, logy=False, reference=None, reference_label=None) -> Figure:
    """One column per setting, one dot per run (e.g. per seed) and a bar at the median: how far runs
    that differ only by seed spread. ``values`` maps a setting to its runs' numbers (NaN: a failed
    run, left out); ``reference`` draws a dashed horizontal line (e.g. the real-data floor)."""
    figure = Figure(figsize=(max(4.4, 1.6 * len(values)), 3.8))
    axis = figure.add_subplot()
    for index, runs in enumerate(values.values()):
        runs = np.asarray(runs, dtype="float64")
        runs = runs[np.isfinite(runs)]
        axis.scatter(np.full(len(runs), index) + np.linspace(-0.08, 0.08, len(runs)), runs, s=28, zorder=3)
        if len(runs):
            axis.hlines(np.median(runs), index - 0.25, index + 0.25, color="black", linewidth=1.5)
    if reference is not None:
        axis.axhline(reference, color="grey", linestyle="--", linewidth=1, label=reference_label)
        if reference_label:
            axis.legend(fontsize="small")
    axis.set_xticks(range(len(values)), list(values), fontsize="small", rotation=15)
    if logy:
        from matplotlib.ticker import ScalarFormatter

        axis.set_yscale("log")
        axis.yaxis.set_major_formatter(ScalarFormatter())  # 10, 30 rather than 10¹, 3×10¹
        axis.yaxis.set_minor_formatter(ScalarFormatter())
    axis.set_ylabel(ylabel)
    axis.grid(True, axis="y", alpha=0.3)
    if title:
        axis.set_title(title, fontsize="medium")
    figure.tight_layout()
    return figure
