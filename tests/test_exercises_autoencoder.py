"""Tests of genai_tf.exercises.autoencoder, the self-checks of notebook 01 (autoencoders): each passes
a correct answer and catches a typical mistake, with a message that helps."""

import math

import numpy as np
import pytest
from scipy import special, stats
from sklearn.decomposition import PCA

from genai_tf import losses
from genai_tf.exercises import autoencoder as checks
from tests.test_exercises_engine import assert_fails, assert_passes, not_implemented


def bce_on_probabilities(images, logits):
    probabilities = special.expit(np.asarray(logits, "float32"))  # rounds to exactly 1 at l = 60
    with np.errstate(divide="ignore", invalid="ignore"):
        per_pixel = images * np.log(probabilities) + (1 - images) * np.log(1 - probabilities)
    return -np.sum(per_pixel, axis=(1, 2, 3))


def test_bernoulli_nll_check():
    assert_passes(checks.bernoulli_nll(losses.bernoulli_nll))
    assert_fails(checks.bernoulli_nll(bce_on_probabilities), "case 1", "inf", "Hint:", "logits")
    assert_fails(checks.bernoulli_nll(lambda x, logits: -np.sum(
        x * np.log(special.expit(logits)) + (1 - x) * np.log(1 - special.expit(logits)), axis=-1)),
        "returned shape", "one value per example")
    assert_fails(checks.bernoulli_nll(not_implemented), "not implemented")


def test_gaussian_nll_check():
    assert_passes(checks.gaussian_nll(losses.gaussian_nll))
    assert_passes(checks.gaussian_nll(
        lambda x, m, v: -np.sum(stats.norm.logpdf(x, m, math.exp(0.5 * v)), axis=(1, 2, 3))))

    def without_log_2pi(x, m, v):
        return np.sum(0.5 * ((x - m) ** 2 / math.exp(v) + v), axis=(1, 2, 3))

    assert_fails(checks.gaussian_nll(without_log_2pi), "Hint:", "2πσ²")
    assert_fails(checks.gaussian_nll(not_implemented), "not implemented")


def test_pca_mse_check():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(100, 3, 3, 1)) @ np.ones((1, 1)) + 0.5
    test = rng.normal(size=(30, 3, 3, 1)) + 0.5

    def with_sklearn(train_images, test_images, latent_dim):
        pca = PCA(latent_dim).fit(train_images.reshape(len(train_images), -1))
        flat = test_images.reshape(len(test_images), -1)
        return np.mean((flat - pca.inverse_transform(pca.transform(flat))) ** 2)

    def centred_with_test_mean(train_images, test_images, latent_dim):
        flat_train = train_images.reshape(len(train_images), -1)
        flat = test_images.reshape(len(test_images), -1)
        _, _, directions = np.linalg.svd(flat_train - flat_train.mean(0), full_matrices=False)
        basis = directions[:latent_dim].T
        mean = flat.mean(0)
        return np.mean((flat - (mean + (flat - mean) @ basis @ basis.T)) ** 2)

    assert_passes(checks.pca_mse(with_sklearn, train, test, 2))
    assert_fails(checks.pca_mse(centred_with_test_mean, train, test, 2), "Hint:", "TRAIN mean")
    assert_fails(checks.pca_mse(not_implemented, train, test, 2), "not implemented")


@pytest.mark.parametrize("name", ["bernoulli_nll", "gaussian_nll"])
def test_checks_accept_tensors_from_keras(name):
    """A learner writing with keras.ops passes too: results are converted, not compared as tensors."""
    assert_passes(getattr(checks, name)(getattr(losses, name)))
