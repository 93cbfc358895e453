"""Saving a figure: :func:`save_figure` writes a notebook's reference figure and returns it."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure


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
