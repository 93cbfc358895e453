"""Tests of the evaluation helpers of notebook 05: FID and KID against sample size, the 1/n
extrapolation, the noise baseline, the results table and IWAE with labels (the self-checks of
notebook 05 are in test_exercises_evaluation.py)."""

import math

import keras
import numpy as np
import pytest

from genai_tf import feature_classifier, losses, metrics, tables
from genai_tf import sample_quality as sq
from genai_tf.models import cvae

# --- metric_by_sample_size and extrapolate_inverse_n ----------------------------------------


def test_metric_by_sample_size_shape_seeding_and_subsets():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(300, 3)), rng.normal(size=(200, 3))
    seen = []

    def record(x, y):
        seen.append((len(x), len(y)))
        return float(len(x))

    values = sq.metric_by_sample_size(a, b, [10, 50], metric=record, num_repeats=2, seed=1)
    assert values.shape == (2, 2)
    np.testing.assert_array_equal(values, [[10, 10], [50, 50]])
    assert seen == [(10, 10), (10, 10), (50, 50), (50, 50)]
    first = sq.metric_by_sample_size(a, b, [20, 40], num_repeats=3, seed=4)
    np.testing.assert_array_equal(first, sq.metric_by_sample_size(a, b, [20, 40], num_repeats=3, seed=4))
    with pytest.raises(ValueError, match="sizes go up to"):
        sq.metric_by_sample_size(a, b, [250], num_repeats=1)


def test_fid_bias_shrinks_with_sample_size_and_kid_does_not_drift():
    # Two samples of one Gaussian: the population FID is 0, so every estimate is pure bias.
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(4000, 8)), rng.normal(size=(4000, 8))
    sizes = [50, 200, 1000, 4000]
    fid = sq.metric_by_sample_size(a, b, sizes, num_repeats=4, seed=0).mean(axis=1)
    assert np.all(np.diff(fid) < 0) and fid[0] > 10 * fid[-1]
    kid = sq.metric_by_sample_size(a, b, sizes, metric=sq.polynomial_mmd2, num_repeats=4, seed=0)
    # unbiased: every mean is within a few standard errors of 0, even at n = 50
    assert np.all(np.abs(kid.mean(axis=1)) < 4 * kid.std(axis=1) / math.sqrt(4) + 1e-3)


def test_extrapolate_inverse_n_recovers_the_line():
    sizes = np.array([100, 250, 500, 1000, 5000])
    values = 3.0 + 800.0 / sizes
    intercept, slope = sq.extrapolate_inverse_n(sizes, np.stack([values, values], axis=1))
    assert intercept == pytest.approx(3.0) and slope == pytest.approx(800.0)


def test_extrapolated_fid_of_one_gaussian_is_near_zero():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(3000, 4)), rng.normal(size=(3000, 4))
    sizes = [200, 500, 1000, 3000]
    values = sq.metric_by_sample_size(a, b, sizes, num_repeats=5, seed=0)
    intercept, slope = sq.extrapolate_inverse_n(sizes, values)
    # mean term alone contributes 2·Tr(I)/n = 8/n; the covariance term adds about d(d+1)/(2n)
    assert abs(intercept) < 0.01 and 8.0 < slope < 30.0


# --- the noise baseline and the table -------------------------------------------------------


def test_uniform_noise_images_are_seeded_and_in_range():
    images = sq.uniform_noise_images(500, (28, 28, 1), seed=5)
    assert images.shape == (500, 28, 28, 1) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() < 1.0
    assert images.mean() == pytest.approx(0.5, abs=0.01)
    np.testing.assert_array_equal(images, sq.uniform_noise_images(500, (28, 28, 1), seed=5))
    feature_classifier.check_images(images, (28, 28, 1))  # accepted by the classifier's input check


def test_markdown_table_marks_missing_values():
    table = tables.markdown_table({"a": {"x": 1.23456, "y": None}, "b": {"x": 2.0}},
                                  ["x", "y"], formats={"x": "{:.2f}", "y": lambda v: f"<{v}>"})
    assert table.splitlines() == ["| | x | y |", "|---|---|---|", "| a | 1.23 | — |", "| b | 2.00 | — |"]


def test_sample_row_picks_the_sample_columns_in_order_and_they_all_have_formats():
    results = {"cfid": 1.5, "kid_mean": 0.1, "inception_score": 9.0, "precision": 0.8, "recall": 0.7,
               "max_class_ratio": 1.2, "kid_std": 0.01, "num_samples": 10}
    row = tables.sample_row(results)
    assert list(row) == list(tables.SAMPLE_COLUMNS) and set(tables.SAMPLE_FORMATS) == set(tables.SAMPLE_COLUMNS)
    assert [row[heading] for heading in tables.SAMPLE_COLUMNS] == [1.5, 0.1, 9.0, 0.8, 0.7, 1.2]
    assert tables.sample_row(results, {"n": "num_samples"}) == {"n": 10}
    table = tables.markdown_table({"model": row}, list(row), tables.SAMPLE_FORMATS)
    assert table.splitlines()[-1] == "| model | 1.50 | 0.100 | 9.00 | 0.800 | 0.700 | 1.20 |"


# --- IWAE with labels -------------------------------------------------------------------------


def test_iwae_with_labels_matches_the_bound_of_the_conditional_weights():
    model = cvae.build_conv_cvae((28, 28, 1), latent_dim=3, filters=(4, 8), dense_units=8, seed=0)
    rng = np.random.default_rng(6)
    images = (rng.random((5, 28, 28, 1)) < 0.3).astype("float32")
    labels = np.arange(5) % 10
    got = metrics.iwae_log_likelihood(model, images, num_samples=7, chunk_size=7, seed=3, labels=labels)
    weights = keras.ops.convert_to_numpy(model.log_importance_weights(images, labels, 7, seed=3))
    np.testing.assert_allclose(got, keras.ops.convert_to_numpy(losses.iwae_bound(weights)), rtol=1e-5)
    nll = metrics.iwae_nll(model, images, num_samples=7, chunk_size=7, seed=3, labels=labels)
    assert nll == pytest.approx(float(-got.mean()), rel=1e-5)
    # the label matters: a conditional model scores images differently under other labels
    other = metrics.iwae_nll(model, images, num_samples=7, chunk_size=7, seed=3, labels=(labels + 5) % 10)
    assert other != pytest.approx(nll, rel=1e-6)


class _RecordingGenerator:
    """generate(n, seed, labels) returns images that encode (seed, position, label), and logs calls."""

    def __init__(self):
        self.calls = []

    def generate(self, num_samples, seed=None, labels=None):
        self.calls.append((num_samples, seed, None if labels is None else list(labels)))
        images = np.zeros((num_samples, 2, 2, 1), "float32")
        images[:, 0, 0, 0] = seed / 100.0
        images[:, 0, 1, 0] = np.arange(num_samples) / 100.0
        if labels is not None:
            images[:, 1, 0, 0] = np.asarray(labels) / 100.0
        return images


def test_draw_samples_chunks_seeds_and_labels():
    model = _RecordingGenerator()
    images = sq.draw_samples(model, 25, seed=3, chunk=10)
    assert images.shape == (25, 2, 2, 1) and images.dtype == np.float32
    assert [(n, seed) for n, seed, _ in model.calls] == [(10, 3), (10, 13), (5, 23)]
    np.testing.assert_allclose(images[:, 0, 0, 0] * 100, np.repeat([3, 13, 23], [10, 10, 5]))
    np.testing.assert_allclose(images[10:20, 0, 1, 0] * 100, np.arange(10))

    model = _RecordingGenerator()
    labels = np.arange(7) % 3
    images = sq.draw_samples(model, 7, seed=0, chunk=4, labels=labels)
    assert [call[2] for call in model.calls] == [[0, 1, 2, 0], [1, 2, 0]]
    np.testing.assert_allclose(images[:, 1, 0, 0] * 100, labels)
    with pytest.raises(ValueError, match="one per sample"):
        sq.draw_samples(model, 5, labels=[0, 1])
    with pytest.raises(ValueError, match="at least 1"):
        sq.draw_samples(model, 0)


def test_draw_samples_of_a_real_model_match_generate_per_chunk():
    model = cvae.build_conv_cvae((8, 8, 1), latent_dim=2, filters=(4, 8), dense_units=8, seed=0)
    drawn = sq.draw_samples(model, 30, seed=5, chunk=20)
    np.testing.assert_array_equal(drawn[:20], model.generate(20, seed=5))
    np.testing.assert_array_equal(drawn[20:], model.generate(10, seed=25))
