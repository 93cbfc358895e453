"""Conditional VAE and VAE-GAN: their loss terms against independent computations, which
parameters each term updates, save/load, and the generate contracts."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import special, stats

from genai_tf import losses
from genai_tf.models.cvae import ConditionalVAE, build_conv_cvae
from genai_tf.models.vaegan import VAEGAN, build_vaegan

IMAGE_SHAPE = (28, 28, 1)
RNG = np.random.default_rng(0)


def _images(n=8):
    return RNG.uniform(size=(n, *IMAGE_SHAPE)).astype("float32")


def _labels(n=8):
    return (np.arange(n) % 10).astype("int32")


def _cvae(seed=0):
    keras.utils.set_random_seed(seed)
    return build_conv_cvae(IMAGE_SHAPE, latent_dim=4, filters=(8, 16), dense_units=32, seed=seed)


def _vaegan(seed=0):
    keras.utils.set_random_seed(seed)
    return build_vaegan(IMAGE_SHAPE, latent_dim=4, filters=(8, 16), dense_units=32, seed=seed)


# --- loss terms ------------------------------------------------------------------------


def test_feature_reconstruction_nll_is_unit_variance_gaussian_without_constant():
    real, fake = RNG.normal(size=(3, 5, 2)), RNG.normal(size=(3, 5, 2))
    expected = -stats.norm.logpdf(real, loc=fake, scale=1.0).sum(axis=(1, 2)) - 0.5 * np.log(2 * np.pi) * 10
    np.testing.assert_allclose(losses.feature_reconstruction_nll(real, fake), expected, rtol=1e-5)
    np.testing.assert_allclose(losses.feature_reconstruction_nll(real, real), 0.0, atol=1e-7)


def test_vaegan_discriminator_loss_matches_hand_computation():
    real, recon, sampled = (RNG.normal(size=(6, 1)).astype("float32") * 3 for _ in range(3))
    d = special.expit
    expected = -(np.log(d(real)) + np.log(1 - d(recon)) + np.log(1 - d(sampled)))[:, 0]
    np.testing.assert_allclose(losses.vaegan_discriminator_loss(real, recon, sampled), expected, rtol=1e-4)


def test_conditional_elbo_terms_match_an_independent_computation():
    """compute_losses' terms equal the conditional ELBO computed from the networks in numpy."""
    model = _cvae()
    images = (RNG.uniform(size=(6, *IMAGE_SHAPE)) > 0.5).astype("float32")
    labels = _labels(6)
    one_hot = np.eye(10, dtype="float32")[labels]
    z_mean, z_log_var = (np.asarray(t, "float64") for t in model.encoder([images, one_hot]))
    # the sampling layer draws from its own generator: replay it with the same seed
    replay = keras.layers.Layer()
    replay.gen = keras.random.SeedGenerator(0)
    epsilon = np.asarray(keras.random.normal(z_mean.shape, seed=replay.gen), "float64")
    latents = z_mean + np.exp(0.5 * z_log_var) * epsilon
    logits = np.asarray(model.decoder([latents.astype("float32"), one_hot]), "float64")
    probabilities = special.expit(logits)
    nll = -np.sum(images * np.log(probabilities) + (1 - images) * np.log1p(-probabilities), axis=(1, 2, 3))
    kl = 0.5 * np.sum(z_mean**2 + np.exp(z_log_var) - z_log_var - 1, axis=1)
    terms = model.compute_losses(images, labels)
    assert float(terms["kl_loss"]) == pytest.approx(kl.mean(), rel=1e-4)
    assert float(terms["reconstruction_loss"]) == pytest.approx(nll.mean(), rel=1e-4)
    assert float(terms["elbo"]) == pytest.approx(-(nll + kl).mean(), rel=1e-4)


def test_cvae_iwae_bound_is_above_the_elbo_on_average():
    model = _cvae()
    images, labels = _images(16), _labels(16)
    weights = model.log_importance_weights(images, labels, 64, seed=1)
    assert weights.shape == (64, 16)
    iwae = np.asarray(losses.iwae_bound(weights))
    one_sample = np.asarray(weights).mean(axis=0)  # average of k one-sample ELBO estimates
    assert np.all(iwae >= one_sample - 1e-4)  # log-mean-exp ≥ mean-log (Jensen), per example


# --- CVAE contract ---------------------------------------------------------------------


def test_cvae_trains_on_labelled_batches_and_round_trips(tmp_path):
    model = _cvae()
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    data = tf.data.Dataset.from_tensor_slices((_images(64), _labels(64))).batch(16)
    history = model.fit(data, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    path = tmp_path / "cvae.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, ConditionalVAE) and loaded.num_classes == 10
    np.testing.assert_array_equal(model.generate(10, seed=2, labels=np.arange(10)),
                                  loaded.generate(10, seed=2, labels=np.arange(10)))
    batch = (_images(4), _labels(4))
    np.testing.assert_allclose(model(batch), loaded(batch), atol=1e-6)
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations)


def test_cvae_generate_contract_and_label_errors():
    model = _cvae()
    samples = model.generate(6, seed=1, labels=[3] * 6)
    assert samples.shape == (6, *IMAGE_SHAPE) and samples.dtype == np.float32
    assert 0.0 <= samples.min() and samples.max() <= 1.0
    np.testing.assert_array_equal(samples, model.generate(6, seed=1, labels=[3] * 6))
    # the same style latents drawn as two different classes give different images
    assert not np.array_equal(samples, model.generate(6, seed=1, labels=[7] * 6))
    with pytest.raises(ValueError, match="one per sample"):
        model.generate(3, labels=[1, 2])
    with pytest.raises(ValueError, match="labels must be integers"):
        model.generate(2, labels=[0, 10])
    with pytest.raises(ValueError, match="labels"):
        model.train_step(tf.zeros((2, *IMAGE_SHAPE)))


# --- VAE-GAN: which parameters each term updates ---------------------------------------


def test_vaegan_kl_never_reaches_decoder_or_discriminator():
    model = _vaegan()
    images = _images(8)
    with tf.GradientTape(persistent=True) as tape:
        terms = model.compute_losses(images, training=True)
    assert all(g is None for g in tape.gradient(terms["kl_loss"], model.decoder.trainable_weights))
    assert all(g is None for g in tape.gradient(terms["kl_loss"], model.discriminator.trainable_weights))
    assert all(g is not None for g in tape.gradient(terms["encoder_loss"], model.encoder.trainable_weights))
    # the discriminator's loss does depend on the decoder (through the fakes) — which is
    # exactly why train_step applies each loss only to its own network
    assert any(g is not None for g in tape.gradient(terms["d_loss"], model.decoder.trainable_weights))


@pytest.mark.parametrize("active", ["e_optimizer", "g_optimizer", "d_optimizer"])
def test_vaegan_each_optimizer_moves_only_its_network(active):
    model = _vaegan()
    model.compile(**{name: keras.optimizers.SGD(0.05 if name == active else 0.0)
                     for name in model.optimizer_names})
    networks = model.optimizer_networks()
    before = {name: [w.numpy().copy() for w in net.trainable_weights] for name, net in networks.items()}
    model.train_step(_images(8))
    for name, net in networks.items():
        moved = [not np.array_equal(a, w.numpy()) for a, w in zip(before[name], net.trainable_weights)]
        if name == active:
            assert any(moved), f"{name} did not update its network"
        else:
            assert not any(moved), f"{name} has learning rate 0 but its network changed"


def test_vaegan_fit_save_load_and_generate(tmp_path):
    model = _vaegan()
    model.compile()
    data = tf.data.Dataset.from_tensor_slices(_images(32)).batch(16)
    history = model.fit(data, epochs=1, verbose=0)
    assert set(model.loss_names) == set(history.history)
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    path = tmp_path / "vaegan.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, VAEGAN)
    np.testing.assert_array_equal(model.generate(4, seed=5), loaded.generate(4, seed=5))
    for name in model.optimizer_names:
        assert int(getattr(loaded, name).iterations) == int(getattr(model, name).iterations) == 2
    samples = loaded.generate(4, seed=5)
    assert samples.shape == (4, *IMAGE_SHAPE) and 0.0 <= samples.min() and samples.max() <= 1.0
    with pytest.raises(ValueError, match="e_optimizer"):
        model.compile(optimizer="adam")
