"""Tests of genai_tf.sample_quality and genai_tf.feature_classifier: each metric against hand or
independent computations, the cached digits classifier, evaluate_samples, its report and the
``genai-tf evaluate`` command."""

import itertools
import json
import os

import numpy as np
import pytest

from genai_tf import cli, feature_classifier, tables
from genai_tf import sample_quality as sq
from genai_tf.data import images as image_data

# --- Fréchet distance -----------------------------------------------------------------------


def test_frechet_distance_one_dimensional_closed_form():
    # N(1, 2²) vs N(-0.5, 0.5²): (μ1 − μ2)² + (s1 − s2)²
    value = sq.frechet_distance([1.0], [[4.0]], [-0.5], [[0.25]])
    assert value == pytest.approx(1.5**2 + (2.0 - 0.5) ** 2)


def test_frechet_distance_diagonal_by_hand():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var1, var2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    # ‖Δμ‖² = 1 + 0 + 4; Σ(σ1 + σ2 − 2√(σ1σ2)) = (1+9−6) + (4+1−4) + (0.25+0.25−0.5) = 5
    assert sq.frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(10.0)


def test_frechet_distance_identical_is_zero():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(6, 6))
    sigma = a @ a.T + 0.1 * np.eye(6)
    assert sq.frechet_distance(np.ones(6), sigma, np.ones(6), sigma) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_full_covariances_against_eigenvalues():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(5, 5)), rng.normal(size=(5, 5))
    sigma1, sigma2 = a @ a.T + 0.1 * np.eye(5), b @ b.T + 0.1 * np.eye(5)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    # Σ1Σ2 is similar to the PSD Σ1^{1/2} Σ2 Σ1^{1/2}: Tr((Σ1Σ2)^{1/2}) = Σ √λᵢ(Σ1Σ2)
    trace_root = np.sqrt(np.linalg.eigvals(sigma1 @ sigma2).real).sum()
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(sigma1 + sigma2) - 2 * trace_root
    assert sq.frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(expected, rel=1e-8)


def _frechet_by_eigenvalues(features1, features2):
    """Eq. (EVAL.6) with Tr((Σ1Σ2)^{1/2}) = Σ √λ(Σ1^{1/2} Σ2 Σ1^{1/2}): symmetric eigensolvers only."""
    mu1, mu2 = features1.mean(0), features2.mean(0)
    sigma1, sigma2 = np.cov(features1.T), np.cov(features2.T)
    values, vectors = np.linalg.eigh(sigma1)
    root1 = vectors @ np.diag(np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh(root1 @ sigma2 @ root1), 0.0, None)).sum()
    return np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_root


def test_frechet_distance_singular_covariances_match_the_closed_form():
    rng = np.random.default_rng(2)
    features1, features2 = rng.normal(size=(4, 10)), rng.normal(size=(4, 10))  # rank 3 < 10
    features1[:, 0] = features2[:, 0] = 0.0  # a dead unit
    assert sq.fid_from_features(features1, features2) == pytest.approx(
        _frechet_by_eigenvalues(features1, features2), rel=1e-6)
    # rank-1 covariances with different dead units: scipy's sqrtm of Σ1Σ2 fails its accuracy
    # check here, so the ε·I fallback runs, and must still give the closed form
    rng = np.random.default_rng(0)
    features1, features2 = rng.normal(size=(2, 12)), rng.normal(size=(2, 12))
    features1[:, :3] = features2[:, 2:5] = 0.0
    sigma1, sigma2 = np.cov(features1.T), np.cov(features2.T)
    assert sq._sqrtm(sigma1 @ sigma2) is None  # the fallback is what this case tests
    assert sq.fid_from_features(features1, features2) == pytest.approx(
        _frechet_by_eigenvalues(features1, features2), rel=1e-4)


def test_feature_statistics_and_fid_from_features():
    rng = np.random.default_rng(3)
    features = rng.normal(size=(50, 3))
    mu, sigma = sq.feature_statistics(features)
    np.testing.assert_allclose(mu, features.mean(0))
    np.testing.assert_allclose(sigma, np.cov(features.T))
    assert sq.fid_from_features(features, features) == pytest.approx(0.0, abs=1e-8)
    assert sq.fid_from_features(features, features + 2.0) == pytest.approx(12.0, rel=1e-6)


# --- KID ------------------------------------------------------------------------------------


def test_polynomial_mmd2_by_hand():
    x = np.array([[0.0, 1.0], [1.0, 2.0], [-1.0, 0.5]])
    y = np.array([[0.5, 0.5], [2.0, -1.0], [0.0, 0.0], [1.0, 1.0]])

    def k(a, b):
        return (sum(ai * bi for ai, bi in zip(a, b, strict=True)) / 2 + 1) ** 3

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    assert sq.polynomial_mmd2(x, y) == pytest.approx(xx + yy - 2 * xy)
    # subsets capped at the smaller set: with 3 vs 3 points every subset is the whole set
    mean, std = sq.kid(x, y[:3], num_subsets=4)
    assert mean == pytest.approx(sq.polynomial_mmd2(x, y[:3])) and std == pytest.approx(0.0)


def test_kid_same_distribution_near_zero_and_shifted_positive():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(400, 8)), rng.normal(size=(400, 8))
    same_mean, same_std = sq.kid(a, b, subset_size=200)
    shifted_mean, _ = sq.kid(a, b + 1.0, subset_size=200)
    assert abs(same_mean) < 0.05 and 0.0 < same_std < 0.05  # different subsets, different values
    assert shifted_mean > 0.5 > 10 * abs(same_mean)


def test_polynomial_mmd2_resplits_are_the_mmd2_of_uniform_random_splits():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(2, 3)), rng.normal(size=(3, 3))
    pooled = np.concatenate([x, y])
    every_split = {}  # all C(5, 2) = 10 splits, by the library's MMD² itself
    for rows in itertools.combinations(range(5), 2):
        rest = [row for row in range(5) if row not in rows]
        every_split[rows] = sq.polynomial_mmd2(pooled[list(rows)], pooled[rest])
    exact = np.array(list(every_split.values()))
    assert exact.mean() == pytest.approx(0.0, abs=1e-9)  # unbiased: 0 on average over all splits
    values = sq.polynomial_mmd2_resplits(x, y, num_resplits=3000, seed=1)
    assert values.shape == (3000,)
    nearest = np.abs(values[:, None] - exact[None, :]).argmin(axis=1)
    np.testing.assert_allclose(values, exact[nearest], rtol=1e-9, atol=1e-9)
    counts = np.bincount(nearest, minlength=len(exact))  # each split 300 times on average
    assert counts.min() > 220 and counts.max() < 380


def test_polynomial_mmd2_resplits_match_a_monte_carlo_of_permuted_splits_and_give_uniform_p_values():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(30, 4)), rng.normal(size=(45, 4))
    pooled = np.concatenate([x, y])
    values = sq.polynomial_mmd2_resplits(x, y, num_resplits=4000, seed=2)
    monte_carlo = []  # the same null, one permutation and one polynomial_mmd2 at a time
    for _ in range(1000):
        order = rng.permutation(len(pooled))
        monte_carlo.append(sq.polynomial_mmd2(pooled[order[:30]], pooled[order[30:]]))
    monte_carlo = np.array(monte_carlo)
    assert abs(values.mean()) < 5 * values.std() / np.sqrt(len(values))
    assert values.std() == pytest.approx(monte_carlo.std(), rel=0.12)
    np.testing.assert_allclose(np.quantile(values, [0.1, 0.5, 0.9]), np.quantile(monte_carlo, [0.1, 0.5, 0.9]),
                               atol=0.15 * monte_carlo.std())

    def p_value(a, b, seed):
        null = sq.polynomial_mmd2_resplits(a, b, num_resplits=200, seed=seed)
        return (1 + np.sum(np.abs(null) >= abs(sq.polynomial_mmd2(a, b)))) / (1 + len(null))

    same = [p_value(rng.normal(size=(12, 3)), rng.normal(size=(15, 3)), seed) for seed in range(200)]
    assert 6 <= np.sum(np.array(same) <= 0.1) <= 36   # Binomial(200, 0.1): 20 ± 3.4 sd
    assert p_value(x, y + 1.0, 0) == pytest.approx(1 / 201)  # a shift: no re-split is as far from 0


# --- Inception score ------------------------------------------------------------------------


def test_inception_score_known_values():
    classes = 5
    uniform = np.full((50, classes), 1.0 / classes)
    balanced = np.eye(classes)[np.arange(50) % classes]
    one_class = np.eye(classes)[np.zeros(50, int)]
    assert sq.inception_score(uniform)[0] == pytest.approx(1.0)
    mean, std = sq.inception_score(balanced, num_splits=10)  # every split holds each class once
    assert mean == pytest.approx(classes) and std == pytest.approx(0.0)
    assert sq.inception_score(one_class)[0] == pytest.approx(1.0)


# --- precision / recall ---------------------------------------------------------------------


def test_precision_recall_identical_disjoint_and_half_covered():
    rng = np.random.default_rng(5)
    cluster_a = rng.normal(size=(100, 4))
    cluster_b = rng.normal(size=(100, 4)) + 50.0
    assert sq.precision_recall(cluster_a, cluster_a) == (1.0, 1.0)
    assert sq.precision_recall(cluster_a, cluster_b) == (0.0, 0.0)
    real = np.concatenate([cluster_a, cluster_b])
    precision, recall = sq.precision_recall(real, cluster_a[:80], k=3)  # fake: most of cluster a
    assert precision == pytest.approx(1.0)
    assert 0.4 <= recall <= 0.5


def test_class_histogram_and_max_share_ratio():
    histogram = sq.class_histogram([0, 0, 1, 3, 3, 3, 3, 3], num_classes=4)
    np.testing.assert_allclose(histogram, [0.25, 0.125, 0.0, 0.625])
    assert sq.max_class_share_ratio(histogram) == pytest.approx(2.5)
    assert sq.max_class_share_ratio(sq.class_histogram(np.arange(20) % 10, 10)) == pytest.approx(1.0)
    assert sq.max_class_share_ratio(sq.class_histogram(np.full(7, 2), 10)) == pytest.approx(10.0)


# --- the classifier -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("classifier-cache")


@pytest.fixture(scope="module")
def classifier(cache_dir):
    return feature_classifier.load_classifier("digits", cache_dir=cache_dir, epochs=4)


@pytest.fixture(scope="module")
def digits():
    return image_data.load("digits")


def test_classifier_trains_caches_and_reloads(classifier, cache_dir, capsys):
    assert classifier.test_accuracy > 0.8 and classifier.image_shape == (28, 28, 1)
    model_path = cache_dir / "digits-28x28x1" / "classifier.keras"
    info = json.loads((cache_dir / "digits-28x28x1" / "classifier.json").read_text())
    assert info["epochs"] == 4 and info["test_accuracy"] == pytest.approx(classifier.test_accuracy)
    modified = os.path.getmtime(model_path)
    reloaded = feature_classifier.load_classifier("digits", cache_dir=cache_dir)
    assert os.path.getmtime(model_path) == modified  # loaded, not retrained
    assert reloaded.test_accuracy == classifier.test_accuracy
    assert "classifier for digits: test accuracy" in capsys.readouterr().out


def test_a_cached_classifier_that_does_not_load_is_trained_again(tmp_path, capsys):
    folder = tmp_path / "digits-28x28x1"
    folder.mkdir()
    (folder / "classifier.keras").write_bytes(b"PK\x03\x04 saved by another Keras, or torn")
    (folder / "classifier.json").write_text(json.dumps({"epochs": 1, "test_accuracy": 0.5}))
    retrained = feature_classifier.load_classifier("digits", cache_dir=tmp_path, epochs=1)
    out = capsys.readouterr().out
    assert "does not load with Keras" in out and "trained for 1 epochs" in out
    assert retrained.test_accuracy != 0.5 and (folder / "classifier.keras").stat().st_size > 1000


def test_classifier_outputs(classifier, digits):
    images = digits.images("test")[:30]
    features = classifier.features(images, batch_size=16)
    probabilities = classifier.predict_proba(images)
    assert features.shape == (30, 128) and np.all(np.isfinite(features))
    np.testing.assert_allclose(probabilities.sum(1), 1.0, rtol=1e-5)
    assert np.mean(classifier.predict(images) == digits.labels("test")[:30]) > 0.7


def test_classifier_rejects_bad_images_clearly(classifier, digits):
    images = digits.images("test")[:4]
    with pytest.raises(ValueError, match=r"\(x \+ 1\) / 2"):
        classifier.features(images * 2 - 1)
    with pytest.raises(ValueError, match=r"images\[\.\.\., None\]"):
        classifier.features(images[..., 0])
    with pytest.raises(ValueError, match=r"\(n, 28, 28, 1\)"):
        classifier.features(images[:, :16, :16])
    with pytest.raises(ValueError, match="/ 255"):
        classifier.features((images * 255).astype(np.uint8))


# --- evaluate_samples and the CLI -------------------------------------------------------------


def test_evaluate_samples_real_noise_and_collapse(classifier, digits):
    real, test = digits.images("train")[:700], digits.images("test")
    good = sq.evaluate_samples(test, real, classifier)
    noise = np.random.default_rng(0).random(test.shape, dtype=np.float32)
    bad = sq.evaluate_samples(noise, real, classifier)
    assert bad["cfid"] > 10 * good["cfid"] and bad["kid_mean"] > good["kid_mean"]
    assert good["precision"] > 0.7 and good["recall"] > 0.7 and bad["precision"] < 0.2
    assert good["max_class_ratio"] < 2.0 and good["num_samples"] == len(test)
    collapsed = digits.images("train")[digits.labels("train") == 3][:100]
    result = sq.evaluate_samples(collapsed, real, classifier, num_real=500)
    assert result["max_class_ratio"] > 9.0 and result["num_real"] == 500
    assert result["floor_size"] == 100 and result["num_reference"] == 400  # floor at the samples' n
    assert result["cfid"] > 10 * result["cfid_floor"] and result["precision_real"] > 0.7
    with pytest.raises(ValueError, match="Too few images"):
        sq.evaluate_samples(collapsed[:3], real, classifier)
    report = tables.format_report(result)
    assert "cFID" in report and "KID" in report and "precision" in report


class _PixelFeatures:
    """A stand-in for the cFID classifier on 4×4 images: the 16 pixels are the features, and a
    softmax of the first three pixels is the class probabilities."""

    image_shape = (4, 4, 1)
    test_accuracy = 1.0

    def outputs(self, images):
        features = np.asarray(images, np.float64).reshape(len(images), -1)
        logits = 4.0 * features[:, :3]
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        return features, probabilities / probabilities.sum(axis=1, keepdims=True)


def test_evaluate_samples_scores_samples_and_floor_at_the_same_n(monkeypatch):
    calls = {"fid": [], "precision_recall": [], "kid": []}
    for name, key in (("fid_from_features", "fid"), ("precision_recall", "precision_recall"), ("kid", "kid")):
        original = getattr(sq, name)

        def spy(reference, other, *args, _original=original, _key=key, **kwargs):
            calls[_key].append((reference, other))
            return _original(reference, other, *args, **kwargs)

        monkeypatch.setattr(sq, name, spy)
    rng = np.random.default_rng(0)
    samples, real = rng.random((900, 4, 4, 1), dtype=np.float32), rng.random((600, 4, 4, 1), dtype=np.float32)
    result = sq.evaluate_samples(samples, real, _PixelFeatures())
    assert (result["floor_size"], result["num_compared"], result["num_samples"]) == (300, 300, 900)
    assert result["num_reference"] == 300
    (model_ref, compared), (floor_ref, held_out) = calls["fid"]  # cFID first, then the floor
    np.testing.assert_array_equal(model_ref, floor_ref)  # one reference set for both
    assert len(compared) == len(held_out) == 300 and len(model_ref) == 300
    assert len(calls["kid"]) == 1 and len(calls["kid"][0][1]) == 900  # unbiased: every sample
    (pr_ref, pr_fake), (pr_floor_ref, pr_real) = calls["precision_recall"]
    np.testing.assert_array_equal(pr_ref, pr_floor_ref)
    assert len(pr_fake) == len(pr_real) == 300
    # the compared samples are 300 distinct rows of the 900 samples
    sample_rows = {row.tobytes() for row in samples.reshape(900, -1).astype(np.float64)}
    compared_rows = {row.tobytes() for row in compared}
    assert len(compared_rows) == 300 and compared_rows <= sample_rows
    # the class histogram reads every sample
    _, probabilities = _PixelFeatures().outputs(samples)
    np.testing.assert_allclose(result["class_histogram"], sq.class_histogram(probabilities.argmax(axis=1), 3))


def test_a_perfect_generator_scores_the_floor_even_with_more_samples_than_real_images():
    # Samples from the real images' own distribution, four times as many as the held-out half:
    # at equal n their cFID matches the floor within noise. Scoring all 4n samples instead
    # gives a cFID about 0.55 × the floor here (FID's bias ~ 1/n_a + 1/n_b), so that fails.
    ratios = []
    for seed in range(8):
        rng = np.random.default_rng(seed)
        real = rng.random((1200, 4, 4, 1), dtype=np.float32)
        samples = rng.random((4800, 4, 4, 1), dtype=np.float32)
        result = sq.evaluate_samples(samples, real, _PixelFeatures(), seed=seed)
        assert result["floor_size"] == result["num_compared"] == 600
        ratios.append(result["cfid"] / result["cfid_floor"])
    assert 0.8 < np.mean(ratios) < 1.25, ratios


class _UniformImages:
    """A stand-in generator: uniform 4×4 pixels, a function of the seed alone."""

    def __init__(self):
        self.calls = []

    def generate(self, num_samples, seed=None):
        self.calls.append((num_samples, seed))
        return np.random.default_rng(seed).random((num_samples, 4, 4, 1), dtype=np.float32)


def test_model_cfid_scores_the_models_samples_as_evaluate_samples_does():
    real = np.random.default_rng(99).random((400, 4, 4, 1), dtype=np.float32)
    model = _UniformImages()
    scores = sq.model_cfid(model, real, _PixelFeatures(), num_samples=150, sample_seed=7, seed=3)
    assert model.calls == [(150, 7)]
    expected = sq.evaluate_samples(model.generate(150, seed=7), real, _PixelFeatures(), seed=3)
    assert scores == {"cfid": expected["cfid"], "floor": expected["cfid_floor"]}
    shifted = sq.model_cfid(model, np.clip(real + 0.3, 0, 1), _PixelFeatures(), num_samples=150, sample_seed=7)
    assert shifted["cfid"] > 5 * scores["cfid"]  # samples from another distribution score worse


def test_cli_evaluate(classifier, cache_dir, digits, tmp_path, capsys):
    path = tmp_path / "samples.npy"
    np.save(path, digits.images("test"))
    assert cli.main(["evaluate", str(path), "--dataset", "digits", "--cache-dir", str(cache_dir)]) == 0
    out = capsys.readouterr().out
    for name in ("cFID", "floor", "KID", "Inception score", "precision", "recall", "class histogram"):
        assert name in out
    np.save(path, digits.images("test") * 2 - 1)
    assert cli.main(["evaluate", str(path), "--dataset", "digits", "--cache-dir", str(cache_dir)]) == 1  # bad data in the file: a runtime error
    assert "(x + 1) / 2" in capsys.readouterr().err


def test_sharpness_is_the_mean_squared_five_point_laplacian_and_falls_with_blur():
    from scipy import ndimage

    # one bright pixel in the middle of a 5×5 image: the stencil gives −4 there and 1 at its four
    # neighbours, 0 elsewhere, so the mean squared Laplacian is (16 + 4) / 25
    dot = np.zeros((1, 5, 5, 1))
    dot[0, 2, 2, 0] = 1.0
    assert sq.sharpness(dot) == pytest.approx(20 / 25)
    rng = np.random.default_rng(0)
    images = (rng.uniform(size=(8, 12, 12, 1)) > 0.7).astype("float32")
    blurred = np.stack([ndimage.gaussian_filter(image, sigma=(1, 1, 0)) for image in images])
    assert sq.sharpness(blurred) < 0.5 * sq.sharpness(images)
    with pytest.raises(ValueError, match="non-empty batch"):
        sq.sharpness(np.zeros((5, 5)))
