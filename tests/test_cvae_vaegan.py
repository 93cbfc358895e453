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


def test_cvae_log_importance_weights_match_an_independent_computation():
    """log w = log p(x|z,y) + log p(z) − log q(z|x,y), with the label fed to both networks."""
    model = _cvae()
    model.encoder.get_layer("head_0").bias.assign(np.linspace(-1.0, 1.0, 4))  # z_mean away from 0
    model.encoder.get_layer("head_1").bias.assign([-1.5, -0.5, 0.5, 1.0])  # unequal variances
    images, labels = (_images(6) > 0.5).astype("float32"), _labels(6)
    k, batch, d = 16, 6, model.latent_dim
    weights = np.asarray(model.log_importance_weights(images, labels, k, seed=1), "float64")
    one_hot = np.eye(10, dtype="float32")[labels]
    z_mean, z_log_var = (np.asarray(t, "float64") for t in model.encoder([images, one_hot]))
    epsilon = np.asarray(keras.random.normal((k, batch, d), seed=1), "float64")  # the draws, replayed
    z_std = np.exp(0.5 * z_log_var)
    latents = z_mean[None] + z_std[None] * epsilon  # (k, batch, d)
    logits = np.asarray(model.decoder([latents.reshape(-1, d).astype("float32"), np.tile(one_hot, (k, 1))]),
                        "float64").reshape(k, batch, -1)
    x = images.reshape(1, batch, -1)
    log_px = np.sum(x * special.log_expit(logits) + (1 - x) * special.log_expit(-logits), axis=-1)
    log_pz = stats.norm.logpdf(latents).sum(-1)
    log_qz = stats.norm.logpdf(latents, z_mean[None], z_std[None]).sum(-1)
    np.testing.assert_allclose(weights, log_px + log_pz - log_qz, rtol=1e-5, atol=1e-2)
    np.testing.assert_allclose(np.asarray(losses.iwae_bound(weights)),
                               special.logsumexp(weights, axis=0) - np.log(k), rtol=1e-6, atol=1e-3)


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


# --- VAE-GAN: its losses, and which parameters each term updates ---------------------------


def softplus(values):
    return np.logaddexp(0.0, values)


def test_vaegan_network_losses_match_an_independent_computation():
    """Eq. (VAEGAN.1) per network, from the networks' outputs in numpy: encoder KL + feature loss,
    decoder γ · feature loss + non-saturating GAN loss on reconstructions and prior samples,
    discriminator Eq. (VAEGAN.3)."""
    model = _vaegan()
    model.gamma = 0.3
    model.encoder.get_layer("head_0").bias.assign([0.5, -1.0, 0.0, 1.5])  # a KL well above 0
    model.encoder.get_layer("head_1").bias.assign([-1.0, 0.5, 0.0, -0.5])
    images = _images(8)
    # replay the two noise draws of compute_losses: ε of the sampling layer, z_p of the model
    generators = (model.sampling.seed_generator, model.seed_generator)
    states = [np.array(generator.state.numpy()) for generator in generators]
    terms = {name: float(value) for name, value in model.compute_losses(images).items()}
    for generator, state in zip(generators, states, strict=True):
        generator.state.assign(state)
    epsilon = np.asarray(keras.random.normal((8, 4), seed=model.sampling.seed_generator), "float64")
    prior_latents = keras.random.normal((8, 4), seed=model.seed_generator)

    z_mean, z_log_var = (np.asarray(t, "float64") for t in model.encoder(images))
    latents = (z_mean + np.exp(0.5 * z_log_var) * epsilon).astype("float32")
    reconstructions = np.asarray(model.decoder(latents), "float64")
    samples = model.decoder(prior_latents)
    real_logits, real_features = (np.asarray(t, "float64") for t in model.discriminator(images))
    recon_logits, recon_features = (np.asarray(t, "float64") for t in
                                    model.discriminator(reconstructions.astype("float32")))
    sample_logits = np.asarray(model.discriminator(samples)[0], "float64")
    real_logits, recon_logits, sample_logits = real_logits[:, 0], recon_logits[:, 0], sample_logits[:, 0]

    kl = 0.5 * np.sum(z_mean**2 + np.exp(z_log_var) - z_log_var - 1.0, axis=1)  # KL(q(z|x) ‖ N(0, I))
    feature = 0.5 * np.sum((real_features - recon_features) ** 2, axis=1)  # −log N(Dis_l(x); Dis_l(x̃), I) + c
    adversarial = -np.log(special.expit(recon_logits)) - np.log(special.expit(sample_logits))  # −log D(·)
    d_loss = softplus(-real_logits) + softplus(recon_logits) + softplus(sample_logits)
    expected = {
        "kl_loss": kl.mean(), "feature_loss": feature.mean(), "g_adversarial": adversarial.mean(),
        "encoder_loss": (kl + feature).mean(), "decoder_loss": (0.3 * feature + adversarial).mean(),
        "d_loss": d_loss.mean(), "d_real": special.expit(real_logits).mean(),
        "d_fake": special.expit(sample_logits).mean(),
        "mse": np.mean((images.astype("float64") - reconstructions) ** 2),
    }
    assert set(terms) == set(expected)
    assert expected["kl_loss"] > 0.5 and expected["feature_loss"] > 0.01  # both terms matter
    for name, value in expected.items():
        assert terms[name] == pytest.approx(value, rel=1e-4, abs=1e-6), name


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
