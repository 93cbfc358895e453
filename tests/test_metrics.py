"""Tests of genai_tf.metrics: PCA baseline, reconstruction error, ELBO / IWAE estimates, bits/dim."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import special
from sklearn.decomposition import PCA

from genai_tf import data, losses, metrics
from genai_tf.models.vae import build_conv_vae

pytestmark = pytest.mark.filterwarnings("ignore:`shuffle=True` was passed")


# --- PCA baseline --------------------------------------------------------------------------


def test_pca_reconstruction_mse_matches_sklearn():
    rng = np.random.default_rng(0)
    # correlated data: a few strong directions plus noise, with a non-zero mean
    mixing = rng.normal(size=(6, 16))
    train = (rng.normal(size=(300, 6)) @ mixing + 0.1 * rng.normal(size=(300, 16)) + 2.0).reshape(300, 4, 4, 1)
    test = (rng.normal(size=(80, 6)) @ mixing + 0.1 * rng.normal(size=(80, 16)) + 2.0).reshape(80, 4, 4, 1)
    for latent_dim in (1, 3, 6, 10):
        pca = PCA(n_components=latent_dim, svd_solver="full").fit(train.reshape(300, -1))
        flat = test.reshape(80, -1)
        expected = np.mean((flat - pca.inverse_transform(pca.transform(flat))) ** 2)
        got = metrics.pca_reconstruction_mse(train, test, latent_dim)
        assert got == pytest.approx(expected, rel=1e-6), latent_dim


def test_pca_with_full_rank_reconstructs_exactly():
    rng = np.random.default_rng(1)
    basis = rng.normal(size=(3, 12))
    offset = rng.normal(size=12)
    train = rng.normal(size=(50, 3)) @ basis + offset  # rank 3 around a mean
    test = rng.normal(size=(20, 3)) @ basis + offset  # the same affine subspace
    assert metrics.pca_reconstruction_mse(train, test, 3) < 1e-20
    assert metrics.pca_reconstruction_mse(train, test, 2) > 1e-3
    # with as many components as pixels, any test image is reconstructed
    noise = rng.normal(size=(20, 12))
    assert metrics.pca_reconstruction_mse(rng.normal(size=(50, 12)), noise, 12) < 1e-20


# --- reconstruction error ------------------------------------------------------------------


def halving_model(image_shape):
    return keras.Sequential([keras.Input(image_shape), keras.layers.Rescaling(0.5)])


def test_reconstruction_mse_matches_numpy_on_arrays_and_datasets():
    rng = np.random.default_rng(2)
    images = rng.uniform(size=(300, 4, 4, 1)).astype("float32")  # 256 + 44: uneven batches
    expected = np.mean((images - 0.5 * images).astype("float64") ** 2)
    model = halving_model((4, 4, 1))
    assert metrics.reconstruction_mse(model, images) == pytest.approx(expected, rel=1e-5)
    dataset = tf.data.Dataset.from_tensor_slices((images, np.zeros(300, "int32"))).batch(64)
    assert metrics.reconstruction_mse(model, dataset) == pytest.approx(expected, rel=1e-5)
    identity = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Identity()])
    assert metrics.reconstruction_mse(identity, images) == 0.0


def test_reconstruction_mse_with_separate_targets_and_labels():
    """Inputs (e.g. binarised) vs targets (grey levels), and labels passed as model((x, y))."""
    rng = np.random.default_rng(3)
    inputs = rng.uniform(size=(300, 4, 4, 1)).astype("float32")
    targets = rng.uniform(size=(300, 4, 4, 1)).astype("float32")
    labels = rng.integers(0, 3, size=300)
    expected = np.mean((targets - 0.5 * inputs).astype("float64") ** 2)
    assert metrics.reconstruction_mse(halving_model((4, 4, 1)), inputs, targets=targets) == pytest.approx(expected, rel=1e-5)

    seen = []

    def conditional(batch, training=False):  # reconstruction = label / 10, whatever the image
        images, batch_labels = batch
        seen.append(len(batch_labels))
        return np.broadcast_to((np.asarray(batch_labels, "float32") / 10)[:, None, None, None], images.shape)

    expected = np.mean((targets - (labels / 10)[:, None, None, None]) ** 2)
    got = metrics.reconstruction_mse(conditional, inputs, targets=targets, labels=labels, batch_size=128)
    assert got == pytest.approx(expected, rel=1e-5) and seen == [128, 128, 44]
    with pytest.raises(ValueError, match="same examples"):
        metrics.reconstruction_mse(conditional, inputs, targets=targets[:10])


# --- ELBO and IWAE, with a stub model whose answers are known ------------------------------


class StubModel:
    """log w = -Σ pixels + noise; records every ``log_importance_weights`` call."""

    def __init__(self, noise=0.0):
        self.noise = noise
        self.calls = []

    def log_importance_weights(self, images, num_samples, seed=None):
        images = np.asarray(images, "float64")
        base = -images.reshape(len(images), -1).sum(axis=1)
        noise = np.random.default_rng(seed).normal(scale=self.noise, size=(num_samples, len(images)))
        weights = base[None] + noise
        self.calls.append((num_samples, seed, weights))
        return weights.astype("float32")

    def compute_losses(self, images, training=False):
        images = np.asarray(images, "float64")
        return {"elbo": np.mean(-images.reshape(len(images), -1).sum(axis=1))}


def test_iwae_log_likelihood_combines_chunks_into_one_k_sample_bound():
    images = np.random.default_rng(3).uniform(size=(8, 2, 2, 1)).astype("float32")
    stub = StubModel(noise=3.0)
    got = metrics.iwae_log_likelihood(stub, images, num_samples=25, chunk_size=10, seed=4)
    assert [size for size, _, _ in stub.calls] == [10, 10, 5]
    seeds = [seed for _, seed, _ in stub.calls]
    assert len(set(seeds)) == 3  # each chunk draws new samples
    all_weights = np.concatenate([weights for _, _, weights in stub.calls]).astype("float32")
    expected = special.logsumexp(all_weights.astype("float64"), axis=0) - math.log(25)
    assert got.shape == (8,)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    # strictly above the (size-weighted) average of the chunks' own bounds, by Jensen
    per_chunk = sum(len(w) * (special.logsumexp(w, axis=0) - math.log(len(w)))
                    for _, _, w in stub.calls) / 25
    assert np.all(got > per_chunk + 1e-3)


def test_iwae_log_likelihood_seed_none_draws_fresh_samples():
    images = np.ones((4, 2, 2, 1), "float32")
    stub = StubModel(noise=1.0)
    metrics.iwae_log_likelihood(stub, images, num_samples=6, chunk_size=4, seed=None)
    assert [seed for _, seed, _ in stub.calls] == [None, None]


def test_iwae_nll_and_evaluate_elbo_average_over_uneven_batches():
    rng = np.random.default_rng(5)
    images = rng.uniform(size=(250, 2, 2, 1)).astype("float32")
    sums = images.reshape(250, -1).astype("float64").sum(axis=1)
    # equal weights: every bound equals log w = -Σ pixels, so the mean NLL is the mean sum
    assert metrics.iwae_nll(StubModel(), images, num_samples=3, chunk_size=2) == pytest.approx(
        sums.mean(), rel=1e-5)
    assert metrics.evaluate_elbo(StubModel(), images) == pytest.approx(-sums.mean(), rel=1e-6)
    dataset = tf.data.Dataset.from_tensor_slices((images, np.zeros(250, "int32"))).batch(64)
    assert metrics.evaluate_elbo(StubModel(), dataset) == pytest.approx(-sums.mean(), rel=1e-6)
    assert metrics.iwae_nll(StubModel(), dataset, num_samples=2) == pytest.approx(sums.mean(), rel=1e-5)
    values = metrics.iwae_nll_values(StubModel(), images, num_samples=3, chunk_size=2)
    np.testing.assert_allclose(values, sums, rtol=1e-5)  # one NLL per image, in the images' order


def test_bits_per_dim_arithmetic():
    assert metrics.bits_per_dim(784 * math.log(2.0), 784) == pytest.approx(1.0)
    assert metrics.bits_per_dim(100.0, 784) == pytest.approx(100.0 / (784 * math.log(2.0)))
    assert metrics.bits_per_dim(0.0, 10) == 0.0
    assert isinstance(metrics.bits_per_dim(np.float32(80.0), 784), float)


# --- a real tiny VAE ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained_vae():
    digits = data.load_dataset("digits", batch_size=64, limit=256, seed=0, binarize="static")
    keras.utils.set_random_seed(0)
    model = build_conv_vae(digits.image_shape, latent_dim=2, filters=(8, 16), dense_units=32, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(5e-3))
    model.fit(digits.train, epochs=2, verbose=0)
    return model, digits


def test_iwae_log_likelihood_chunking_does_not_change_the_bound(trained_vae):
    model, digits = trained_vae
    images = next(iter(digits.validation))[0].numpy()  # 64 binarized images
    whole = metrics.iwae_log_likelihood(model, images, num_samples=30, chunk_size=30, seed=1)
    chunked = metrics.iwae_log_likelihood(model, images, num_samples=30, chunk_size=7, seed=2)
    assert whole.shape == chunked.shape == (64,)
    assert np.all(np.isfinite(whole)) and np.all(np.isfinite(chunked))
    difference = chunked - whole
    standard_error = difference.std() / math.sqrt(len(difference))
    assert abs(difference.mean()) < 4 * standard_error + 0.05
    np.testing.assert_array_equal(
        chunked, metrics.iwae_log_likelihood(model, images, num_samples=30, chunk_size=7, seed=2))
    one_sample = np.asarray(losses.iwae_bound(model.log_importance_weights(images, 1, seed=3)))
    assert chunked.mean() >= one_sample.mean() - 0.5


def test_iwae_nll_is_finite_and_not_worse_than_the_elbo(trained_vae):
    model, digits = trained_vae
    nll = metrics.iwae_nll(model, digits.validation, num_samples=20, chunk_size=8, seed=0)
    elbo = metrics.evaluate_elbo(model, digits.validation)
    assert np.isfinite(nll) and np.isfinite(elbo)
    assert 0.0 < nll <= -elbo + 0.5  # the IWAE bound is at least as tight as the ELBO
    assert 0.0 < metrics.bits_per_dim(nll, 28 * 28) < 8.0


# --- distances between distributions (notebook 06) ----------------------------------------------


def test_wasserstein_1d_matches_scipy_and_the_shift_closed_form():
    from scipy import stats

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=2000), rng.exponential(size=2000)
    assert metrics.wasserstein_1d(a, b) == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-9)
    assert metrics.wasserstein_1d(a, a + 0.7) == pytest.approx(0.7, rel=1e-9)  # a shift moves every unit by θ
    with pytest.raises(ValueError, match="one size"):
        metrics.wasserstein_1d(a, b[:10])


def test_jensen_shannon_matches_scipy_and_saturates_at_log_2():
    from scipy.spatial import distance

    p, q = np.array([0.1, 0.4, 0.5, 0.0]), np.array([0.3, 0.3, 0.2, 0.2])
    assert metrics.jensen_shannon(p, q) == pytest.approx(distance.jensenshannon(p, q) ** 2, rel=1e-9)
    assert metrics.jensen_shannon([1, 0, 0], [0, 0, 5]) == pytest.approx(math.log(2), rel=1e-12)  # disjoint
    assert metrics.jensen_shannon([2, 2], [1, 1]) == pytest.approx(0.0, abs=1e-12)  # normalised first
    with pytest.raises(ValueError, match="non-negative"):
        metrics.jensen_shannon([1, -1], [1, 1])
