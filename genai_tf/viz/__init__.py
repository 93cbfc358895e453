"""Figures and TensorBoard summaries.

The figure functions return a ``matplotlib.figure.Figure``, built with ``Figure()`` rather than
``pyplot``, so nothing is drawn twice in a notebook: the returned figure displays when it is a
cell's last value, and saves with ``fig.savefig(path)``.

Modules:
    tiles: images tiled in grids (one grid, grids side by side, rows to compare, a style ×
        label grid, a labelled table) and ``tile_images``, the numpy tiling.
    charts: training curves, line plots and panels, bars, score against cost, 2-D point clouds,
        GAN diagnostics, the optimal discriminator, FID's sample-size bias.
    latent_space: latent codes by label, a decoded 2-D latent grid, latent interpolation.
    heatmaps: a transformer's attention maps.
    unet_diagram: the U-Net read from a built model and drawn as a schematic (notebook 07).
    densities: a 2-D density normalised on a grid, with sampled points over it (notebook 07).
    figures: ``save_figure``, a notebook's reference figures.
    tensorboard: the TensorBoard callbacks (``SampleGrid``, ``LatentProjector``, and
        ``TensorBoard``, which logs each named optimizer's learning rate).
"""
