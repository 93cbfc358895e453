"""Tests of genai_tf.viz's grids for notebook 04 (label_grid, image_grids) and notebook 07's figures
(image_table, point_clouds, line_panels).

Each returns a matplotlib ``Figure`` (no pyplot state), with one axis per panel whose image is the
tiled grid, and rejects images of the wrong rank with a message that says which shape it wants.
"""

import numpy as np
import pytest
from matplotlib.figure import Figure

from genai_tf.viz import charts, figures, heatmaps, latent_space, tiles

H, W = 6, 5  # small, non-square images: a transposed grid would show in the shapes


def shown(axis):
    """The one image an axis displays, as an array."""
    images = axis.get_images()
    assert len(images) == 1
    return np.asarray(images[0].get_array())


def test_label_grid_tiles_rows_by_labels():
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(3, 4, H, W, 1)).astype("float32")  # (rows = styles, columns = labels, H, W, C)
    figure = tiles.label_grid(images, column_labels=["a", "b", "c", "d"], title="styles × labels")

    assert isinstance(figure, Figure)
    assert len(figure.axes) == 1
    grid = shown(figure.axes[0])
    assert grid.shape == (3 * H, 4 * W)  # grey images are drawn as one channel
    np.testing.assert_allclose(grid[H:2 * H, 2 * W:3 * W], images[1, 2, ..., 0])  # row 1, label "c"
    assert [label.get_text() for label in figure.axes[0].get_xticklabels()] == ["a", "b", "c", "d"]
    assert len(figure.axes[0].get_xticks()) == 4
    assert figure.get_suptitle() == "styles × labels"


def test_label_grid_with_sources_adds_a_left_column():
    images = np.full((2, 10, H, W, 1), 0.5, "float32")
    sources = np.stack([np.zeros((H, W, 1)), np.ones((H, W, 1))]).astype("float32")  # (rows, H, W, C)
    figure = tiles.label_grid(images, column_labels=range(10), sources=sources, source_title="test image")

    assert isinstance(figure, Figure) and len(figure.axes) == 2
    source_axis, grid_axis = figure.axes
    assert source_axis.get_title() == "test image"
    assert shown(source_axis).shape == (2 * H, W)  # one column, one source per row
    np.testing.assert_array_equal(shown(source_axis)[H:], 1.0)
    assert shown(grid_axis).shape == (2 * H, 10 * W)
    assert [label.get_text() for label in grid_axis.get_xticklabels()] == [str(d) for d in range(10)]
    assert figure.get_suptitle() == ""  # no title asked for


def test_label_grid_rgb_images_keep_their_channels():
    figure = tiles.label_grid(np.zeros((2, 3, H, W, 3), "float32"), column_labels=[0, 1, 2])
    assert shown(figure.axes[0]).shape == (2 * H, 3 * W, 3)


@pytest.mark.parametrize("shape, labels", [
    ((12, H, W, 1), range(12)),      # flat (n, H, W, C) samples, not (rows, columns, H, W, C)
    ((3, 4, H, W, 1), range(10)),    # one label per column: 4 columns, 10 labels
])
def test_label_grid_rejects_the_wrong_shape(shape, labels):
    with pytest.raises(ValueError, match=r"\(rows, columns, H, W, C\).*one label per column"):
        tiles.label_grid(np.zeros(shape, "float32"), column_labels=labels)


def test_image_grids_one_titled_panel_per_set_in_order():
    rng = np.random.default_rng(1)
    sets = {"VAE": rng.uniform(size=(16, H, W, 1)), "VAE-GAN": rng.uniform(size=(10, H, W, 1)),
            "real": rng.uniform(size=(4, H, W, 1))}
    figure = tiles.image_grids(sets, columns=4, title="samples")

    assert isinstance(figure, Figure)
    assert [axis.get_title() for axis in figure.axes] == ["VAE", "VAE-GAN", "real"]
    # ceil(n / columns) rows of `columns` images each
    assert [shown(axis).shape for axis in figure.axes] == [(4 * H, 4 * W), (3 * H, 4 * W), (1 * H, 4 * W)]
    np.testing.assert_allclose(shown(figure.axes[1])[:H, W:2 * W], sets["VAE-GAN"][1, ..., 0].astype("float32"))
    np.testing.assert_array_equal(shown(figure.axes[1])[2 * H:, 2 * W:], 0.0)  # the unused cells stay black
    assert figure.get_suptitle() == "samples"


def test_image_grids_clips_to_the_unit_interval():
    figure = tiles.image_grids({"out of range": np.linspace(-1, 2, 4 * H * W).reshape(4, H, W, 1)}, columns=2)
    grid = shown(figure.axes[0])
    assert grid.min() == 0.0 and grid.max() == 1.0


@pytest.mark.parametrize("bad", [np.zeros((4, H, W)), np.zeros((2, 2, H, W, 1))])
def test_image_grids_rejects_images_that_are_not_n_h_w_c(bad):
    with pytest.raises(ValueError, match=r"\(n, H, W, C\)"):
        tiles.image_grids({"fine": np.zeros((4, H, W, 1)), "wrong": bad})


# --- notebook 07: image_table, point_clouds, line_panels --------------------------------------


def test_image_table_draws_one_labelled_axis_per_image():
    rng = np.random.default_rng(2)
    images = rng.uniform(size=(2, 3, H, W, 1)).astype("float32")   # (rows, columns, H, W, C)
    figure = tiles.image_table(images, row_labels=["linear", "cosine"], column_labels=["t = 1", "t = 2", "t = 3"],
                             title="noised")
    assert isinstance(figure, Figure) and len(figure.axes) == 6
    np.testing.assert_allclose(shown(figure.axes[4]), images[1, 1, ..., 0])   # row 1, column 1
    assert [axis.get_title() for axis in figure.axes[:3]] == ["t = 1", "t = 2", "t = 3"]
    assert all(axis.get_title() == "" for axis in figure.axes[3:])   # column labels on the top row only
    assert [figure.axes[i].get_ylabel() for i in (0, 3)] == ["linear", "cosine"]
    assert figure.get_suptitle() == "noised"


@pytest.mark.parametrize("shape, kwargs, message", [
    ((6, H, W, 1), {}, r"\(rows, columns, H, W, C\)"),
    ((2, 3, H, W, 1), {"column_labels": ["a", "b"]}, "2 column_labels for 3 columns"),
    ((2, 3, H, W, 1), {"row_labels": ["a"]}, "1 row_labels for 2 rows"),
])
def test_image_table_rejects_wrong_shapes_and_labels(shape, kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiles.image_table(np.zeros(shape, "float32"), **kwargs)


def test_point_clouds_one_panel_per_set_on_shared_limits():
    rng = np.random.default_rng(3)
    sets = {"data": rng.normal(size=(50, 2)), "samples": rng.normal(size=(30, 2)) + 1.0}
    figure = charts.point_clouds(sets, colors={"data": np.arange(50) % 3}, title="points")
    assert [axis.get_title() for axis in figure.axes] == ["data", "samples"]
    assert figure.axes[0].get_xlim() == figure.axes[1].get_xlim() == figure.axes[0].get_ylim()
    offsets = figure.axes[1].collections[0].get_offsets()
    np.testing.assert_allclose(np.asarray(offsets), sets["samples"])
    with pytest.raises(ValueError, match=r"\(n, 2\) points"):
        charts.point_clouds({"3-D": np.zeros((5, 3))})


def test_line_panels_side_by_side_with_their_own_scales():
    panels = [{"x": [1, 10, 100], "series": {"a": [3, 2, 1]}, "xlabel": "steps", "ylabel": "cFID", "logx": True},
              {"x": None, "series": {"b": ([0.5, 1.0], [4.0, 2.0])}, "xlabel": "seconds", "ylabel": "cFID",
               "logy": True, "title": "time"}]
    figure = charts.line_panels(panels, title="two panels")
    left, right = figure.axes
    assert left.get_xscale() == "log" and left.get_yscale() == "linear" and right.get_yscale() == "log"
    np.testing.assert_allclose(right.lines[0].get_xdata(), [0.5, 1.0])   # a series with its own x
    assert right.get_title() == "time" and figure.get_suptitle() == "two panels"


def test_attention_maps_one_panel_per_row_and_head_with_character_ticks():
    weights = np.random.default_rng(0).dirichlet(np.ones(5), size=(2, 3, 5))  # (rows, heads, L, L)
    figure = heatmaps.attention_maps(weights, "a b\nc", row_labels=["layer 1", "layer 4"], title="maps")
    assert isinstance(figure, Figure) and len(figure.axes) == 6
    np.testing.assert_allclose(shown(figure.axes[4]), weights[1, 1], rtol=1e-6)
    assert [tick.get_text() for tick in figure.axes[0].get_xticklabels()] == ["a", "␣", "b", "↵", "c"]
    assert figure.axes[5].get_title() == "layer 4, head 3"
    with pytest.raises(ValueError, match="rows, heads, L, L"):
        heatmaps.attention_maps(weights[0], "abcde")


def test_score_vs_cost_one_labelled_point_per_model_on_a_log_axis():
    figure = charts.score_vs_cost({"unigram": (0.1, 4.9), "transformer": (2400.0, 2.1)}, "CPU s", "bits/char",
                               reference=6.4, reference_label="uniform")
    axis = figure.axes[0]
    assert axis.get_xscale() == "log" and [text.get_text() for text in axis.texts] == ["unigram", "transformer"]
    assert [tuple(c.get_offsets()[0]) for c in axis.collections] == [(0.1, 4.9), (2400.0, 2.1)]


def test_save_figure_writes_only_when_enabled_and_returns_the_figure(tmp_path):
    from matplotlib.image import imread

    figure = charts.line_panels([{"x": [0, 1], "series": {"y": [0, 1]}, "xlabel": "x", "ylabel": "y"}])
    assert figures.save_figure(figure, "off.png", enabled=False, folder=tmp_path) is figure
    assert not (tmp_path / "off.png").exists()
    assert figures.save_figure(figure, "on.png", folder=tmp_path / "figures") is figure
    written = imread(tmp_path / "figures" / "on.png")
    assert written.ndim == 3 and written.shape[0] > 100 and written.shape[1] > 100  # a real image, not an empty file


def test_latent_manifold_puts_each_decoded_image_at_its_code_on_z_axes():
    seen = []

    def decode(latents):
        seen.append(np.asarray(latents))
        return np.broadcast_to(latents[:, :1, None, None], (len(latents), 4, 4, 1)) / 4.0 + 0.5

    figure = latent_space.latent_manifold(decode, grid_size=5, extent=2.0)
    axis = figure.axes[0]
    assert (axis.get_xlabel(), axis.get_ylabel()) == ("z₁", "z₂")
    left, right, bottom, top = axis.get_images()[0].get_extent()
    assert (left, right, bottom, top) == pytest.approx((-2.5, 2.5, -2.5, 2.5))  # cells centred on the codes
    codes = seen[0]
    assert codes.shape == (25, 2) and tuple(codes[0]) == (-2.0, 2.0) and tuple(codes[-1]) == (2.0, -2.0)


def test_gan_diagnostics_labels_each_runs_generator_loss_in_one_legend_off_the_panels():
    histories = {"minimax run": {"d_real": [0.9, 0.99], "d_fake": [0.1, 0.01], "g_loss": [-0.1, -0.01]},
                 "non-saturating run": {"d_real": [0.6, 0.6], "d_fake": [0.4, 0.4], "g_loss": [0.9, 0.9]}}
    figure = charts.gan_diagnostics(histories, generator_losses={"minimax run": "minimax",
                                                              "non-saturating run": "non_saturating"})
    assert all(axis.get_legend() is None for axis in figure.axes)  # no legend over the data
    labels = [text.get_text() for text in figure.legends[0].get_texts()]
    assert labels == ["minimax run: g_loss = log(1 − D(G(z)))", "non-saturating run: g_loss = −log D(G(z))"]
    assert [axis.get_ylabel() for axis in figure.axes] == ["mean D(x)", "mean D(G(z))", "the run's own generator loss"]


def test_fid_bias_plots_markers_against_one_over_n_and_the_fit_down_to_its_intercept():
    sizes = np.array([100, 500, 2000])
    measured = {"real vs real": 0.2 + 3000.0 / sizes}
    figure = charts.fid_bias(sizes, measured, {"real vs real": (0.2, 3000.0)})
    axis = figure.axes[0]
    points, fit, intercept = axis.get_lines()
    assert points.get_linestyle() == "None" and points.get_marker() == "o"  # data as markers only
    np.testing.assert_allclose(points.get_xdata(), 1.0 / sizes)
    assert fit.get_xdata()[0] == 0.0 and fit.get_ydata()[0] == pytest.approx(0.2)  # the line reaches 1/n = 0
    assert tuple(intercept.get_xydata()[0]) == pytest.approx((0.0, 0.2)) and intercept.get_marker() == "*"
    assert axis.get_xlabel().startswith("1/n")
