"""Tests of genai_tf.gan_studies, notebook 06's small experiments: the projection discriminator's
optimum on Gaussian classes (Eq. CGAN.1) against independent density maths, and the short-run
grid's rows and summary."""

import numpy as np
import pytest
from scipy import stats

from genai_tf import gan_studies

MEANS_P = np.array([[2.0, 0.0], [0.0, 2.0], [-2.0, -1.0]])
MEANS_Q = 0.5 * MEANS_P + np.array([0.5, -0.5])


def test_optimal_logit_is_the_log_density_ratio_and_splits_into_the_two_terms():
    rng = np.random.default_rng(0)
    x, labels = gan_studies.gaussian_classes(MEANS_P, 400, rng)
    labels[:3] = [0, 1, 2]

    def log_joint(means):  # log (1/K) N(x; means[y], I), from scipy
        return np.log(1 / 3) + np.array([stats.multivariate_normal(means[k], np.eye(2)).logpdf(point)
                                         for point, k in zip(x, labels)])

    def log_marginal(means):
        return np.log(np.mean([stats.multivariate_normal(m, np.eye(2)).pdf(x) for m in means], axis=0))

    optimal = gan_studies.optimal_conditional_logit(x, labels, MEANS_P, MEANS_Q)
    np.testing.assert_allclose(optimal, log_joint(MEANS_P) - log_joint(MEANS_Q), atol=1e-10)
    posterior_ratio, marginal_ratio = gan_studies.logit_terms(x, labels, MEANS_P, MEANS_Q)
    np.testing.assert_allclose(marginal_ratio, log_marginal(MEANS_P) - log_marginal(MEANS_Q), atol=1e-9)
    np.testing.assert_allclose(posterior_ratio + marginal_ratio, optimal, atol=1e-10)
    assert np.std(posterior_ratio) > 0.1 and np.std(marginal_ratio) > 0.1  # neither term alone is the logit


def test_gaussian_classes_draws_each_class_around_its_mean():
    x, labels = gan_studies.gaussian_classes(MEANS_P, 30_000, np.random.default_rng(1))
    assert set(labels) == {0, 1, 2} and abs(np.mean(labels == 1) - 1 / 3) < 0.02
    for k in range(3):
        np.testing.assert_allclose(x[labels == k].mean(axis=0), MEANS_P[k], atol=0.05)
        np.testing.assert_allclose(np.cov(x[labels == k].T), np.eye(2), atol=0.06)


def test_a_trained_projection_discriminator_reaches_the_optimal_logit():
    result = gan_studies.fit_projection_toy(MEANS_P, MEANS_Q, 4000, steps=400, seed=0)
    assert result["logit_sd"] > 1.0                            # the logit is far from constant
    assert result["rms_error"] < 0.15 * result["logit_sd"] and result["correlation"] > 0.99
    # an untrained one (zero embedding, random ψ) is far from it
    untrained = gan_studies.fit_projection_toy(MEANS_P, MEANS_Q, 4000, steps=1, seed=0, learning_rate=1e-6)
    assert untrained["rms_error"] > 0.5 * untrained["logit_sd"]


def test_summarise_takes_median_and_spread_over_runs_that_did_not_diverge():
    rows = [{"setting": "a", "cfid": v, "diverged": False} for v in (4.0, 2.0, 8.0)]
    rows += [{"setting": "b", "cfid": 3.0, "diverged": False}, {"setting": "b", "cfid": float("nan"), "diverged": True}]
    summary = gan_studies.summarise(rows)
    assert list(summary) == ["a", "b"]
    assert summary["a"] == {"runs": 3, "diverged": 0, "median": 4.0, "min": 2.0, "max": 8.0, "max / min": 4.0}
    assert summary["b"]["runs"] == 2 and summary["b"]["diverged"] == 1 and summary["b"]["median"] == 3.0


def test_short_runs_trains_each_setting_and_seed_and_scores_it():
    from genai_tf import feature_classifier
    from genai_tf.data import images as image_datasets
    from genai_tf.models import registry

    widths = dict(filters=(8, 4), head_filters=4, d_filters=(4, 8))
    data = image_datasets.load("digits", image_size=28, batch_size=16, seed=0)
    classifier = feature_classifier.load_classifier("digits", (28, 28, 1))
    recipes = {"wgan": registry.family("wgan_gp").variant(fields={"batch_size": 16}, **widths),
               "cgan": registry.family("cgan").variant(fields={"batch_size": 16}, **widths)}
    rows = gan_studies.short_runs(recipes, "digits", 2, (0, 1), data.images("test"), classifier, num_samples=40)
    assert [(row["setting"], row["seed"]) for row in rows] == [("wgan", 0), ("wgan", 1), ("cgan", 0), ("cgan", 1)]
    for row in rows:
        assert not row["diverged"] and np.isfinite(row["cfid"]) and row["cfid"] > row["floor"] > 0
        assert row["cpu_seconds"] > 0 and 0.0 <= row["recall"] <= 1.0
        assert ("requested" in row) == (row["setting"] == "cgan")
    assert rows[0]["cfid"] != rows[1]["cfid"]  # the seed changes the run
    with pytest.raises(KeyError):
        rows[0]["requested"]


def test_summary_markdown_has_one_line_per_setting_with_median_and_spread():
    rows = [{"setting": "a", "cfid": v, "requested": r, "floor": 2.0, "diverged": False}
            for v, r in ((4.0, 0.9), (2.0, 0.5), (8.0, 0.7))]
    text = gan_studies.summary_markdown(rows, keys=("cfid", "requested"))
    lines = text.strip().splitlines()
    assert len(lines) == 3 and "cFID median" in lines[0] and "requested digit median" in lines[0]
    assert "| 4 |" in lines[2] and "2–8" in lines[2] and "0.5–0.9" in lines[2] and "| 1.8 |" in lines[2]


def test_spread_by_setting_draws_a_dot_per_finite_run_and_a_median_bar():
    from genai_tf.viz import charts

    figure = charts.spread_by_setting({"a": [3.0, 5.0, 4.0], "b": [10.0, float("nan")]}, "cFID", logy=True,
                                      reference=1.0, reference_label="floor", title="spread")
    from matplotlib.collections import LineCollection, PathCollection

    axis = figure.axes[0]
    dots = [collection for collection in axis.collections if isinstance(collection, PathCollection)]
    assert [len(c.get_offsets()) for c in dots] == [3, 1]  # the NaN run is left out
    medians = [line for line in axis.collections if isinstance(line, LineCollection)]
    assert sorted(segment[0][1] for line in medians for segment in line.get_segments()) == [4.0, 10.0]
    assert [tick.get_text() for tick in axis.get_xticklabels()] == ["a", "b"] and axis.get_yscale() == "log"
