"""Heat maps: a transformer's attention weights, one panel per layer and head."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure


def label_fontsize(size, length) -> float:
    """Points per tick label so that ``length`` labels fit side by side on a ``size``-inch panel (at most 10)."""
    return float(min(10.0, 0.8 * 72.0 * size / max(length, 1)))


def attention_maps(weights, tokens, row_labels=None, title=None, size=3.2) -> Figure:
    """Attention weights as heat maps, one panel per (row, head): ``weights`` is ``(rows, heads, L, L)``
    (e.g. two layers' heads), rows are queries, columns keys; ``tokens`` labels the L positions
    (a string of characters; a space shows as ␣, a newline as ↵), in a font sized to the panel
    (:func:`label_fontsize`: keep L to about 24 for labels of 7 points or more)."""
    weights = np.asarray(weights, dtype="float32")
    if weights.ndim != 4 or weights.shape[-1] != weights.shape[-2]:
        raise ValueError(f"weights must be (rows, heads, L, L); got shape {weights.shape}.")
    rows, heads, length = weights.shape[0], weights.shape[1], weights.shape[-1]
    labels = [{" ": "␣", "\n": "↵", "\t": "⇥"}.get(c, c) for c in tokens][:length]
    fontsize = label_fontsize(size, length)
    figure = Figure(figsize=(size * heads, (size + 0.4) * rows + (0.4 if title else 0.0)))
    axes = figure.subplots(rows, heads, squeeze=False)
    for row in range(rows):
        for head in range(heads):
            axis = axes[row, head]
            axis.imshow(weights[row, head], cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest")
            ticks = np.arange(length) if len(labels) == length and length <= 48 else []
            axis.set_xticks(ticks, [labels[i] for i in ticks], fontsize=fontsize, family="monospace")
            axis.set_yticks(ticks, [labels[i] for i in ticks] if head == 0 else [], fontsize=fontsize,
                            family="monospace")
            axis.tick_params(length=1.5, pad=1)
            if head == 0:
                axis.set_ylabel("query (predicts the next)", fontsize="small")
            if row == rows - 1:
                axis.set_xlabel("key (attended to)", fontsize="small")
            axis.set_title(f"{row_labels[row] + ', ' if row_labels else ''}head {head + 1}", fontsize="small")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure
