"""Tests of genai_tf.metrics: PCA baseline, reconstruction error, ELBO / IWAE estimates, bits/dim,
the per-family scores of notebook 05's table and the exactly solvable linear-Gaussian toy."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import integrate, special, stats
from sklearn.decomposition import PCA

from genai_tf import losses, metrics
from genai_tf.data import images as image_data
from genai_tf.models import registry
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


# --- per-family scores (notebook 05's table), with stand-in models whose answers are known -----


def test_family_reconstruction_mse_reads_each_familys_inputs_and_compares_with_grey_levels():
    rng = np.random.default_rng(6)
    grey = rng.uniform(size=(40, 4, 4, 1)).astype("float32")
    binary = (rng.uniform(size=grey.shape) < grey).astype("float32")
    labels = rng.integers(0, 10, size=40)

    def halve(images, training=False):  # an unconditional "reconstruction": half the input
        return 0.5 * np.asarray(images)

    def add_label(batch, training=False):  # a conditional one: the input plus label / 100
        images, batch_labels = batch
        return np.asarray(images) + (np.asarray(batch_labels, "float32") / 100)[:, None, None, None]

    def mse(reconstructions):
        return float(np.mean((grey.astype("float64") - reconstructions) ** 2))

    score = metrics.family_reconstruction_mse
    # the autoencoder reads grey levels, the VAE (binarize="dynamic") the binarised images
    assert score(registry.family("autoencoder"), halve, grey, binary) == pytest.approx(mse(0.5 * grey), rel=1e-5)
    assert score(registry.family("vae"), halve, grey, binary) == pytest.approx(mse(0.5 * binary), rel=1e-5)
    # the CVAE reads (binarised images, labels); a GAN, conditional or not, has no reconstruction
    expected = mse(binary + (labels / 100)[:, None, None, None])
    assert score(registry.family("cvae"), add_label, grey, binary, labels) == pytest.approx(expected, rel=1e-5)
    for name in ("gan", "dcgan", "cgan"):
        assert score(registry.family(name), halve, grey, binary, labels) is None, name
    with pytest.raises(ValueError, match="labels"):
        score(registry.family("cvae"), add_label, grey, binary)


class ConditionalStub:
    """log w = -Σ pixels - label for every sample, so log p(x | y) is exactly that."""

    def log_importance_weights(self, images, labels, num_samples, seed=None):
        images = np.asarray(images, "float64")
        value = -images.reshape(len(images), -1).sum(axis=1) - np.asarray(labels, "float64")
        return np.broadcast_to(value, (num_samples, len(images))).astype("float32")


def test_family_log_likelihoods_exist_for_density_models_only():
    rng = np.random.default_rng(7)
    binary = (rng.uniform(size=(130, 2, 2, 1)) < 0.5).astype("float32")  # 100 + 30: two batches
    labels = rng.integers(0, 10, size=130)
    sums = binary.reshape(130, -1).sum(axis=1)
    got = metrics.family_log_likelihoods(registry.family("vae"), StubModel(), binary, num_samples=3)
    np.testing.assert_allclose(got, -sums, rtol=1e-6)             # equal weights: L_k = log w
    got = metrics.family_log_likelihoods(registry.family("cvae"), ConditionalStub(), binary, labels, num_samples=4)
    np.testing.assert_allclose(got, -sums - labels, rtol=1e-6)    # log p(x | y): the labels reach the model
    for name in ("autoencoder", "gan", "vaegan", "cgan"):         # no density
        assert metrics.family_log_likelihoods(registry.family(name), StubModel(), binary, labels) is None, name
    with pytest.raises(ValueError, match="labels"):
        metrics.family_log_likelihoods(registry.family("cvae"), ConditionalStub(), binary)


# --- the linear-Gaussian toy: every quantity against numerical integration or Monte Carlo ------


def _integrate_over_z(function, low=-12.0, high=12.0):
    return integrate.quad(function, low, high, epsabs=1e-12, epsrel=1e-10, limit=200)[0]


def _by_quadrature(x, s, q_mean, q_sd):
    """log p(x), the posterior's mean and variance, the ELBO and its gap, by quadrature over z."""
    def log_joint(z):  # log p(x | z) + log p(z)
        return stats.norm.logpdf(x, z, s) + stats.norm.logpdf(z)

    def log_q(z):
        return stats.norm.logpdf(z, q_mean, q_sd)

    px = _integrate_over_z(lambda z: math.exp(log_joint(z)))                            # Eq. (VAE.1)
    mean = _integrate_over_z(lambda z: z * math.exp(log_joint(z))) / px                  # p(z | x) = p(x, z) / p(x)
    variance = _integrate_over_z(lambda z: (z - mean) ** 2 * math.exp(log_joint(z))) / px
    elbo = _integrate_over_z(lambda z: math.exp(log_q(z)) * (log_joint(z) - log_q(z)))  # E_q[log p(x, z) / q]
    gap = _integrate_over_z(lambda z: math.exp(log_q(z)) * (log_q(z) - log_joint(z) + math.log(px)))
    return math.log(px), mean, variance, elbo, gap


@pytest.mark.parametrize("s, shrink, widen", [(0.5, 0.7, 2.0), (1.3, 1.2, 0.5), (0.2, 1.0, 1.0)])
def test_linear_gaussian_toy_against_numerical_integration(s, shrink, widen):
    toy = metrics.LinearGaussianToy(s, shrink, widen)
    for x in (-1.7, 0.0, 0.4, 2.5):
        point = np.array([x])
        log_px, mean, variance, elbo, gap = _by_quadrature(x, s, toy.q_mean(point)[0], math.sqrt(toy.q_var))
        assert toy.log_px(point)[0] == pytest.approx(log_px, abs=1e-8)
        assert toy.posterior_mean(point)[0] == pytest.approx(mean, abs=1e-8)
        assert toy.posterior_var == pytest.approx(variance, rel=1e-7)
        assert toy.elbo(point)[0] == pytest.approx(elbo, abs=1e-7)
        assert toy.posterior_kl(point)[0] == pytest.approx(gap, abs=1e-7)


def test_linear_gaussian_toy_elbo_plus_gap_is_log_px_and_a_perfect_encoder_has_no_gap():
    x = np.random.default_rng(8).normal(scale=2.0, size=50)
    toy = metrics.LinearGaussianToy(0.6, 0.5, 3.0)
    np.testing.assert_allclose(toy.elbo(x) + toy.posterior_kl(x), toy.log_px(x), rtol=0, atol=1e-12)  # (VAE.3)
    assert np.all(toy.posterior_kl(x) > 0)
    exact = metrics.LinearGaussianToy(0.6, 1.0, 1.0)  # q(z | x) = p(z | x): every weight is p(x)
    np.testing.assert_allclose(exact.posterior_kl(x), 0.0, atol=1e-12)
    np.testing.assert_allclose(exact.log_importance_weights(x, 7, seed=0), np.broadcast_to(exact.log_px(x), (7, 50)),
                               rtol=0, atol=1e-10)
    with pytest.raises(ValueError, match="s > 0"):
        metrics.LinearGaussianToy(s=0.0)


def test_linear_gaussian_toy_weights_average_to_the_elbo_and_l_k_rises_to_log_px():
    toy = metrics.LinearGaussianToy()
    x = np.random.default_rng(9).normal(0.0, math.sqrt(1 + toy.s**2), size=400)
    log_weights = toy.log_importance_weights(x, 2000, seed=1)                   # (k, batch)
    assert log_weights.shape == (2000, 400)
    mean = log_weights.mean(axis=0)                                              # Monte Carlo ELBO per x
    error = log_weights.std(axis=0) / math.sqrt(2000)
    assert np.all(np.abs(mean - toy.elbo(x)) < 5 * error)
    # E[w] = p(x): the mean of the weights themselves, in logs
    log_mean_weight = special.logsumexp(log_weights, axis=0) - math.log(2000)
    assert abs(np.mean(log_mean_weight - toy.log_px(x))) < 0.01
    np.testing.assert_array_equal(log_weights, toy.log_importance_weights(x, 2000, seed=1))  # seeded
    one_sample = metrics.iwae_log_likelihood(toy, x, num_samples=1, seed=1)    # L_1 = ELBO, per x
    difference = one_sample - toy.elbo(x)
    assert abs(difference.mean()) < 4 * difference.std() / math.sqrt(len(x))
    bounds = [float(np.mean(metrics.iwae_log_likelihood(toy, x, num_samples=k, chunk_size=100, seed=k)))
              for k in (1, 4, 32, 512)]
    assert bounds == sorted(bounds)                                              # L_k rises with k
    assert float(np.mean(toy.log_px(x))) - 0.01 < bounds[-1] <= float(np.mean(toy.log_px(x))) + 1e-3


# --- a real tiny VAE ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained_vae():
    digits = image_data.load("digits", batch_size=64, limit=256, seed=0, binarize="static")
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
