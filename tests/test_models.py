"""Tests of genai_tf.models: the training contract, save/load, generate, seeding, clear errors.

Models are tiny (latent 2, filters (8, 16), 32 dense units) and train on 256 bundled digits,
so each fit takes a second or two on a CPU. Trained models are shared within this module.
"""

import math

import keras
import numpy as np
import pytest
from scipy import special, stats

from genai_tf import losses
from genai_tf.data import images as image_data
from genai_tf.models.autoencoder import Autoencoder, build_conv_autoencoder, build_dense_autoencoder
from genai_tf.models.vae import VAE, build_conv_vae

pytestmark = pytest.mark.filterwarnings("ignore:`shuffle=True` was passed")

IMAGE_SHAPE = (28, 28, 1)
KINDS = ("conv_ae", "dense_ae", "denoising_ae", "vae_bernoulli", "vae_gaussian")
VAE_KINDS = ("vae_bernoulli", "vae_gaussian")
TINY = {"latent_dim": 2, "filters": (8, 16), "dense_units": 32}


def build(kind, seed=0, learning_rate=5e-3):
    if kind == "conv_ae":
        model = build_conv_autoencoder(IMAGE_SHAPE, seed=seed, **TINY)
    elif kind == "dense_ae":
        model = build_dense_autoencoder(IMAGE_SHAPE, latent_dim=2, hidden_units=(32,), seed=seed)
    elif kind == "denoising_ae":
        model = build_conv_autoencoder(IMAGE_SHAPE, noise_stddev=0.3, seed=seed, **TINY)
    elif kind == "vae_bernoulli":
        model = build_conv_vae(IMAGE_SHAPE, likelihood="bernoulli", seed=seed, **TINY)
    elif kind == "vae_gaussian":
        model = build_conv_vae(IMAGE_SHAPE, likelihood="gaussian", seed=seed, **TINY)
    else:
        raise AssertionError(kind)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    return model


@pytest.fixture(scope="module")
def digits():
    return image_data.load("digits", batch_size=64, limit=256, seed=0)


@pytest.fixture(scope="module")
def images(digits):
    return digits.images("validation")[:32]


class Trained:
    def __init__(self, kind, digits):
        keras.utils.set_random_seed(0)
        self.kind = kind
        self.model = build(kind)
        self.before = self.model.evaluate(digits.validation, verbose=0, return_dict=True)
        self.history = self.model.fit(digits.train, validation_data=digits.validation, epochs=2,
                                      verbose=0).history
        self.after = self.model.evaluate(digits.validation, verbose=0, return_dict=True)


@pytest.fixture(scope="module")
def trainer(digits):
    cache = {}

    def get(kind):
        if kind not in cache:
            cache[kind] = Trained(kind, digits)
        return cache[kind]

    return get


@pytest.fixture(params=KINDS)
def trained(request, trainer):
    return trainer(request.param)


@pytest.fixture(params=VAE_KINDS)
def trained_vae(request, trainer):
    return trainer(request.param)


def weights_of(variables):
    return [np.array(v.numpy()) for v in variables]


def assert_same_arrays(first, second):
    assert len(first) == len(second)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


# --- training ------------------------------------------------------------------------------


def test_fit_lowers_the_loss_and_logs_every_term(trained):
    model, history = trained.model, trained.history
    names = set(model.loss_names)
    assert set(history) == names | {f"val_{name}" for name in names}
    assert {metric.name for metric in model.metrics} == names
    for values in history.values():
        assert len(values) == 2 and np.all(np.isfinite(values))
    assert trained.after["loss"] < trained.before["loss"]
    assert history["loss"][-1] < history["loss"][0]
    assert history["loss"][0] != 0.0  # the trackers feed the history (no silent 0.0)


@pytest.mark.parametrize("kind", KINDS)
def test_train_step_changes_weights_and_test_step_does_not(kind, images):
    keras.utils.set_random_seed(1)
    model = build(kind)
    before = weights_of(model.trainable_weights)
    logs = model.test_on_batch(images, return_dict=True)
    assert set(logs) == set(model.loss_names)
    assert_same_arrays(before, weights_of(model.trainable_weights))
    assert int(model.optimizer.iterations.numpy()) == 0

    logs = model.train_on_batch(images, return_dict=True)
    assert set(logs) == set(model.loss_names) and np.isfinite(logs["loss"])
    after = weights_of(model.trainable_weights)
    changed = [not np.array_equal(a, b) for a, b in zip(before, after)]
    assert all(changed), "every trainable weight should receive a gradient step"
    assert int(model.optimizer.iterations.numpy()) == 1


def test_compute_losses_keys_and_finite_values(trained, images):
    model = trained.model
    for training in (False, True):
        terms = model.compute_losses(images, training=training)
        assert set(terms) == set(model.loss_names)
        for name, value in terms.items():
            value = keras.ops.convert_to_numpy(value)
            assert value.shape == () and np.isfinite(value), name


def test_vae_loss_terms_are_consistent_for_any_beta(images):
    model = build_conv_vae(IMAGE_SHAPE, beta=4.0, seed=0, **TINY)
    terms = {k: float(v) for k, v in model.compute_losses(images).items()}
    assert terms["kl_loss"] >= 0.0
    assert terms["loss"] == pytest.approx(terms["reconstruction_loss"] + 4.0 * terms["kl_loss"], rel=1e-5)
    assert terms["elbo"] == pytest.approx(-(terms["reconstruction_loss"] + terms["kl_loss"]), rel=1e-5)
    # the KL term is the closed form at the encoder's outputs
    z_mean, z_log_var = model.encode(images)
    assert terms["kl_loss"] == pytest.approx(float(np.mean(losses.gaussian_kl(z_mean, z_log_var))),
                                             rel=1e-5)


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_autoencoder_loss_terms_match_the_loss_functions(likelihood, images):
    model = build_conv_autoencoder(IMAGE_SHAPE, likelihood=likelihood, seed=0, **TINY)
    terms = {k: float(v) for k, v in model.compute_losses(images).items()}
    reconstructions = model(images)
    # the mean image: σ(logits) for Bernoulli; for Gaussian the decoder's (sigmoid) output itself
    outputs = np.asarray(model.decoder(model.encoder(images)), np.float64)
    expected_mean = special.expit(outputs) if likelihood == "bernoulli" else outputs
    np.testing.assert_allclose(np.asarray(reconstructions), expected_mean, rtol=1e-5, atol=1e-6)
    assert terms["mse"] == pytest.approx(float(np.mean(losses.squared_error(images, reconstructions))),
                                         rel=1e-5)
    if likelihood == "bernoulli":
        logits = model.decoder(model.encoder(images))
        expected = float(np.mean(losses.bernoulli_nll(images, logits)))
    else:
        expected = terms["mse"]
    assert terms["loss"] == pytest.approx(expected, rel=1e-5)


def test_denoising_corrupts_only_in_training(images):
    model = build_conv_autoencoder(IMAGE_SHAPE, noise_stddev=0.3, seed=0, **TINY)
    corrupted = np.asarray(model.corrupt(images))
    assert corrupted.min() >= 0.0 and corrupted.max() <= 1.0
    assert 0.05 < np.mean(np.abs(corrupted - images)) < 0.3
    evaluation = [float(model.compute_losses(images, training=False)["loss"]) for _ in range(2)]
    assert evaluation[0] == evaluation[1]
    training = [float(model.compute_losses(images, training=True)["loss"]) for _ in range(2)]
    assert training[0] != training[1] and training[0] != evaluation[0]


# --- save / load ------------------------------------------------------------------------------


def test_keras_file_round_trip(trained, images, tmp_path):
    model = trained.model
    path = tmp_path / "model.keras"
    model.save(path)
    expected = np.asarray(model(images))
    for loaded in (keras.models.load_model(path),):  # safe_mode=True, the default: no unsafe payload needed
        assert type(loaded) is type(model)
        np.testing.assert_array_equal(np.asarray(loaded(images)), expected)
        assert loaded.image_shape == model.image_shape and loaded.latent_dim == model.latent_dim
        assert loaded.likelihood == model.likelihood and loaded.seed == model.seed
        assert int(loaded.optimizer.iterations.numpy()) == int(model.optimizer.iterations.numpy()) > 0
        assert [v.path for v in loaded.optimizer.variables] == [v.path for v in model.optimizer.variables]
        assert_same_arrays(weights_of(loaded.optimizer.variables), weights_of(model.optimizer.variables))
        if isinstance(model, VAE):
            np.testing.assert_array_equal(loaded.generate(4, seed=3), model.generate(4, seed=3))
            assert loaded.beta == model.beta and loaded.decoder_log_var == model.decoder_log_var
        else:
            assert loaded.noise_stddev == model.noise_stddev


def test_loaded_model_resumes_training(trainer, images, tmp_path):
    model = trainer("vae_bernoulli").model
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    steps = int(loaded.optimizer.iterations.numpy())
    logs = loaded.train_on_batch(images, return_dict=True)
    assert np.isfinite(logs["loss"]) and int(loaded.optimizer.iterations.numpy()) == steps + 1


def test_config_round_trip_keeps_every_argument():
    model = build_conv_vae(IMAGE_SHAPE, likelihood="gaussian", beta=3.0, seed=7,
                           decoder_log_var=math.log(0.05), **TINY)
    clone = VAE.from_config(model.get_config())
    assert (clone.likelihood, clone.beta, clone.seed) == ("gaussian", 3.0, 7)
    assert clone.decoder_log_var == pytest.approx(math.log(0.05))
    assert clone.image_shape == IMAGE_SHAPE and clone.latent_dim == 2
    autoencoder = build_dense_autoencoder(IMAGE_SHAPE, latent_dim=3, hidden_units=(), output_activation=None,
                                          likelihood="gaussian", noise_stddev=0.2, seed=4)
    clone = Autoencoder.from_config(autoencoder.get_config())
    assert (clone.likelihood, clone.noise_stddev, clone.seed, clone.latent_dim) == ("gaussian", 0.2, 4, 3)


def test_unknown_likelihood_is_rejected():
    with pytest.raises(ValueError, match="likelihood"):
        build_conv_vae(IMAGE_SHAPE, likelihood="poisson", **TINY)
    with pytest.raises(ValueError, match="likelihood"):
        build_conv_autoencoder(IMAGE_SHAPE, likelihood="poisson", **TINY)


# --- generate -------------------------------------------------------------------------------


def test_generate_contract(trained_vae):
    model = trained_vae.model
    samples = model.generate(6, seed=1)
    assert isinstance(samples, np.ndarray)
    assert samples.shape == (6, *IMAGE_SHAPE) and samples.dtype == np.float32
    assert samples.min() >= 0.0 and samples.max() <= 1.0
    np.testing.assert_array_equal(model.generate(6, seed=1), samples)
    assert not np.array_equal(model.generate(6, seed=2), samples)
    assert not np.array_equal(model.generate(6), model.generate(6))
    assert not np.array_equal(samples[0], samples[1])  # each sample has its own latent


def test_autoencoders_are_not_generative(trainer):
    # the CLI and SampleGrid rely on this: only models with a prior have generate()
    assert not hasattr(trainer("conv_ae").model, "generate")


# --- reproducibility ------------------------------------------------------------------------


def train_one_epoch(kind, seed, images):
    keras.utils.set_random_seed(seed)
    model = build(kind, seed=seed)
    history = model.fit(images, batch_size=32, epochs=1, shuffle=False, verbose=0).history
    return history, weights_of(model.trainable_weights)


@pytest.mark.parametrize("kind", ["vae_bernoulli", "denoising_ae"])
def test_same_seed_same_training(kind, images):
    history_a, weights_a = train_one_epoch(kind, 5, images)
    history_b, weights_b = train_one_epoch(kind, 5, images)
    assert history_a == history_b
    assert_same_arrays(weights_a, weights_b)
    if kind == "vae_bernoulli":  # and the seed matters
        history_c, _ = train_one_epoch(kind, 6, images)
        assert history_c["loss"] != history_a["loss"]


# --- clear errors ---------------------------------------------------------------------------


def assert_clear_shape_error(error):
    message = str(error.value)
    assert "(batch, 28, 28, 1)" in message and "32, 32, 3" in message
    assert "image_size" in message


@pytest.mark.parametrize("kind", ["conv_ae", "vae_gaussian"])
def test_wrong_image_shape_raises_a_clear_error(kind):
    model = build(kind)
    with pytest.raises(ValueError) as error:
        model.fit(np.zeros((8, 32, 32, 3), "float32"), epochs=1, verbose=0)
    assert_clear_shape_error(error)


def test_model_trains_after_a_wrong_shape_error(images):
    """No stale tf.function from the failed call: fixing the data is enough."""
    model = build("vae_bernoulli")
    wrong = np.zeros((8, 32, 32, 3), "float32")
    for attempt in (lambda: model.fit(wrong, epochs=1, verbose=0),
                    lambda: model.evaluate(wrong, verbose=0),
                    lambda: model.train_on_batch(wrong)):
        with pytest.raises(ValueError) as error:
            attempt()
        assert_clear_shape_error(error)
    history = model.fit(images, batch_size=16, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0]) and int(model.optimizer.iterations.numpy()) == 2
    assert np.isfinite(model.evaluate(images, verbose=0, return_dict=True)["loss"])


@pytest.mark.parametrize("builder", [build_conv_vae, build_conv_autoencoder])
def test_builder_rejects_image_size_not_divisible_by_4(builder):
    with pytest.raises(ValueError) as error:
        builder((30, 30, 1), **TINY)
    message = str(error.value)
    assert "30×30" in message and "divisible by 4" in message and "image_size" in message


# --- importance weights ---------------------------------------------------------------------


def log_weights_by_hand(model, images, num_samples, seed):
    """log p(x|z) + log p(z) − log q(z|x) in float64 numpy and scipy, ``(k, batch)``.

    z = μ(x) + σ(x) ε, with ε ~ N(0, I) of shape (k, batch, latent_dim) replayed from the
    integer ``seed``; p(x|z) is Bernoulli(σ(logits)) or N(mean, σ_x² I), p(z) = N(0, I),
    q(z|x) = N(μ, diag σ²) with σ² = exp(z_log_var).
    """
    batch, k, d = len(images), num_samples, model.latent_dim
    z_mean, z_log_var = (np.asarray(t, np.float64) for t in model.encoder(images))
    epsilon = np.asarray(keras.random.normal((k, batch, d), seed=seed), np.float64)
    z_std = np.exp(0.5 * z_log_var)
    latents = z_mean[None] + z_std[None] * epsilon  # (k, batch, d)
    outputs = np.asarray(model.decoder(latents.reshape(k * batch, d).astype("float32")), np.float64)
    outputs = outputs.reshape(k, batch, -1)
    x = np.asarray(images, np.float64).reshape(1, batch, -1)
    if model.likelihood == "bernoulli":  # x log σ(l) + (1 − x) log(1 − σ(l))
        log_px = np.sum(x * special.log_expit(outputs) + (1 - x) * special.log_expit(-outputs), axis=-1)
    else:
        log_px = np.sum(stats.norm.logpdf(x, outputs, math.exp(0.5 * model.decoder_log_var)), axis=-1)
    log_pz = np.sum(stats.norm.logpdf(latents), axis=-1)
    log_qz = np.sum(stats.norm.logpdf(latents, z_mean[None], z_std[None]), axis=-1)
    return log_px + log_pz - log_qz


@pytest.mark.parametrize("kind", VAE_KINDS)
def test_log_importance_weights_match_an_independent_computation(kind, images):
    model = build(kind, seed=1)
    # move q(z|x) well away from the prior, with unequal variances, so every term counts
    model.encoder.get_layer("head_0").bias.assign([0.8, -0.5])  # z_mean
    model.encoder.get_layer("head_1").bias.assign([-1.5, 0.7])  # z_log_var
    weights = np.asarray(model.log_importance_weights(images, 40, seed=3), np.float64)
    assert weights.shape == (40, len(images))
    np.testing.assert_allclose(weights, log_weights_by_hand(model, images, 40, seed=3), rtol=1e-5, atol=1e-2)
    np.testing.assert_array_equal(weights, np.asarray(model.log_importance_weights(images, 40, seed=3)))
    assert not np.allclose(weights, np.asarray(model.log_importance_weights(images, 40, seed=4)))
    # the IWAE bound of those weights: log-mean-exp over the k samples, against scipy
    expected_bound = special.logsumexp(weights, axis=0) - math.log(40)
    np.testing.assert_allclose(np.asarray(losses.iwae_bound(weights)), expected_bound, rtol=1e-6, atol=1e-3)
    # log w averages to the ELBO: compare with the model's own one-sample ELBO, averaged
    one_sample = np.mean([float(model.compute_losses(images)["elbo"]) for _ in range(20)])
    assert abs(weights.mean() - one_sample) < 0.05 * abs(one_sample) + 1.0
