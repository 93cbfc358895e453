"""Heat maps: a transformer's attention weights, one panel per layer and head."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure


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
