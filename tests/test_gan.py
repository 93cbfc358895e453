"""GAN losses against hand computation, the optimal discriminator (closed form and a trained
one), the two-phase train step, save/load with both optimizers, and the generate contract."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import special, stats

from genai_tf import losses
from genai_tf.models import registry
from genai_tf.models.gan import GAN, build_dcgan, build_mlp_gan
from genai_tf.models.opponents import fit_discriminator, sample_batch

IMAGE_SHAPE = (28, 28, 1)


def _sigmoid(x):
    return special.expit(np.asarray(x, dtype="float64"))


def test_gan_losses_match_hand_computation():
    real = np.array([[2.0], [-1.0], [0.0], [30.0]], "float32")
    fake = np.array([[-3.0], [0.5], [0.0], [-30.0]], "float32")
    d_real, d_fake = _sigmoid(real[:, 0]), _sigmoid(fake[:, 0])
    expected_d = -(np.log(d_real) + np.log(1.0 - d_fake))
    np.testing.assert_allclose(losses.discriminator_loss(real, fake), expected_d, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(losses.generator_minimax_loss(fake), np.log(1.0 - d_fake), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(losses.generator_nonsaturating_loss(fake), -np.log(d_fake), rtol=1e-5, atol=1e-6)
    # D(x) = D(G(z)) = 1/2 gives log 4 for the discriminator.
    assert float(losses.discriminator_loss([[0.0]], [[0.0]])[0]) == pytest.approx(math.log(4.0))


def test_gan_losses_are_stable_at_extreme_logits():
    big = np.array([[100.0], [-100.0]], "float32")
    for values in (losses.discriminator_loss(big, big), losses.generator_minimax_loss(big),
                   losses.generator_nonsaturating_loss(big)):
        assert np.all(np.isfinite(values))
    np.testing.assert_allclose(losses.generator_nonsaturating_loss(big), [0.0, 100.0], atol=1e-4)


def test_minimax_gradient_saturates_and_non_saturating_does_not():
    logits = tf.constant([[-8.0]])  # D confidently rejects the sample
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(logits)
        minimax = tf.reduce_sum(losses.generator_minimax_loss(logits))
        non_saturating = tf.reduce_sum(losses.generator_nonsaturating_loss(logits))
    # d/dl log(1 - σ(l)) = -σ(l) ≈ -3e-4;  d/dl -log σ(l) = -(1 - σ(l)) ≈ -1
    assert abs(float(tape.gradient(minimax, logits)[0, 0])) < 1e-3
    assert float(tape.gradient(non_saturating, logits)[0, 0]) == pytest.approx(-(1 - _sigmoid(-8.0)), rel=1e-4)


def test_optimal_discriminator_on_discrete_distributions():
    """Minimising the expected D loss point by point gives D* = p/(p+q) and V = -log 4 + 2 JSD."""
    p = np.array([0.5, 0.3, 0.15, 0.05], "float32")
    q = np.array([0.1, 0.2, 0.3, 0.4], "float32")
    logits = tf.Variable(tf.zeros((4, 1)))
    never, always = tf.fill((4, 1), -1e4), tf.fill((4, 1), 1e4)  # D = 0 and D = 1 exactly

    def expected_loss():
        # E_p[-log D(x)] + E_q[-log(1 - D(x))], each part isolated with the course's function
        real_part = losses.discriminator_loss(logits, never)  # softplus(-l)
        fake_part = losses.discriminator_loss(always, logits)  # softplus(l)
        return tf.reduce_sum(p * real_part + q * fake_part)

    optimizer = keras.optimizers.Adam(0.1)
    for _ in range(1500):
        with tf.GradientTape() as tape:
            loss = expected_loss()
        optimizer.apply([tape.gradient(loss, logits)], [logits])
    d_star = p / (p + q)
    np.testing.assert_allclose(_sigmoid(logits.numpy()[:, 0]), d_star, atol=2e-3)
    # value at the optimum against -log 4 + 2 JSD, JSD computed from its definition
    mixture = (p + q) / 2
    jsd = 0.5 * np.sum(p * np.log(p / mixture)) + 0.5 * np.sum(q * np.log(q / mixture))
    assert -float(expected_loss()) == pytest.approx(-math.log(4.0) + 2 * jsd, abs=1e-4)


def test_sample_batch_draws_from_arrays_and_samplers():
    rng = np.random.default_rng(0)
    points = np.arange(10, dtype="float32")
    batch = sample_batch(points, 200, rng)
    assert batch.shape == (200, 1) and batch.dtype == np.float32
    assert set(batch[:, 0]) == set(points)  # with replacement: 200 draws of 10 points
    fresh = sample_batch(lambda n, generator: generator.normal(3.0, 0.1, (n, 2)), 500, rng)
    assert fresh.shape == (500, 2) and abs(fresh.mean() - 3.0) < 0.05


def test_fit_discriminator_approaches_the_optimal_discriminator_of_two_gaussians():
    """By Eq. (GAN.3) the best D is p_data / (p_data + p_g); a fixed 400 steps reach it within 0.05."""
    keras.utils.set_random_seed(0)
    discriminator = keras.Sequential([keras.Input((1,)), keras.layers.Dense(32, activation="tanh"),
                                      keras.layers.Dense(32, activation="tanh"), keras.layers.Dense(1)])
    rates = keras.optimizers.schedules.PiecewiseConstantDecay([280], [1e-2, 1e-3])
    d_losses = fit_discriminator(discriminator, lambda n, rng: rng.normal(0.0, 1.0, n),
                                 lambda n, rng: rng.normal(1.5, 0.7, n), steps=400,
                                 optimizer=keras.optimizers.Adam(rates), batch_size=512, seed=0)
    assert len(d_losses) == 400 and np.all(np.isfinite(d_losses))
    assert np.mean(d_losses[-50:]) < d_losses[0]
    grid = np.linspace(-3.0, 4.0, 141)
    p_data, p_model = stats.norm.pdf(grid, 0.0, 1.0), stats.norm.pdf(grid, 1.5, 0.7)
    d_star = p_data / (p_data + p_model)
    trained = _sigmoid(np.asarray(discriminator(grid[:, None].astype("float32")))[:, 0])
    where = (p_data + p_model) / 2 > 0.05  # where the two densities have mass
    assert np.abs(trained - d_star)[where].max() < 0.05
    # at the optimum the loss is -V(D*, G) = log 4 - 2 JSD: compare with the last steps' mean
    log_m = np.logaddexp(stats.norm.logpdf(grid, 0, 1), stats.norm.logpdf(grid, 1.5, 0.7)) - np.log(2)
    jsd = 0.5 * np.trapezoid(p_data * (stats.norm.logpdf(grid, 0, 1) - log_m)
                             + p_model * (stats.norm.logpdf(grid, 1.5, 0.7) - log_m), grid)
    assert np.mean(d_losses[-100:]) == pytest.approx(math.log(4.0) - 2 * jsd, abs=0.02)


def test_fit_discriminator_on_fixed_samples_separates_them():
    keras.utils.set_random_seed(1)
    discriminator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])  # a linear D suffices here
    rng = np.random.default_rng(1)
    real, fake = rng.normal(2.0, 1.0, (256, 2)), rng.normal(-2.0, 1.0, (256, 2))
    d_losses = fit_discriminator(discriminator, real, fake, steps=100, optimizer=keras.optimizers.Adam(0.05),
                                 batch_size=64, seed=1)
    assert d_losses[-1] < 0.2 and d_losses[-1] < d_losses[0] / 2
    assert np.mean(_sigmoid(np.asarray(discriminator(real.astype("float32"))))) > 0.9


def test_gan_recipe_variant_sets_each_players_learning_rate():
    recipe = registry.family("gan").variant(name="probe", d_learning_rate=2e-3, g_learning_rate=2e-5,
                                            beta_1=0.9, units=(8,), generator_loss="minimax")
    model = recipe.build(IMAGE_SHAPE, 4, 0)
    assert float(model.d_optimizer.learning_rate) == pytest.approx(2e-3)
    assert float(model.g_optimizer.learning_rate) == pytest.approx(2e-5)
    assert float(model.g_optimizer.beta_1) == pytest.approx(0.9) and model.generator_loss == "minimax"
    default = registry.family("gan").build(IMAGE_SHAPE, 4, 0)
    assert float(default.d_optimizer.learning_rate) == float(default.g_optimizer.learning_rate) == pytest.approx(2e-4)
    assert float(default.d_optimizer.beta_1) == pytest.approx(0.5)


def _tiny(builder, seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    if builder is build_mlp_gan:
        model = builder(IMAGE_SHAPE, latent_dim=8, units=(16, 32), seed=seed, **kwargs)
    else:
        model = builder(IMAGE_SHAPE, latent_dim=8, filters=(16, 8), seed=seed, **kwargs)
    return model


def _trainable(network):
    return [w.numpy().copy() for w in network.trainable_weights]


def _changed(before, network):
    return [not np.array_equal(a, w.numpy()) for a, w in zip(before, network.trainable_weights)]


@pytest.mark.parametrize("builder", [build_mlp_gan, build_dcgan])
def test_each_phase_updates_only_its_network(builder):
    images = tf.random.uniform((16, *IMAGE_SHAPE), seed=1)
    # Phase 1 alone (G's optimizer has learning rate 0): only D's weights move.
    model = _tiny(builder)
    model.compile(d_optimizer=keras.optimizers.SGD(0.1), g_optimizer=keras.optimizers.SGD(0.0))
    g_before, d_before = _trainable(model.generator), _trainable(model.discriminator)
    model.train_step((images, tf.zeros(16, "int32")))
    assert not any(_changed(g_before, model.generator)), "the D step leaked into G"
    assert all(_changed(d_before, model.discriminator))
    # Phase 2 alone (D's optimizer has learning rate 0): only G's weights move.
    model = _tiny(builder)
    model.compile(d_optimizer=keras.optimizers.SGD(0.0), g_optimizer=keras.optimizers.SGD(0.1))
    g_before, d_before = _trainable(model.generator), _trainable(model.discriminator)
    model.train_step((images, tf.zeros(16, "int32")))
    assert not any(_changed(d_before, model.discriminator)), "the G step updated D"
    assert all(_changed(g_before, model.generator))


def test_fit_logs_both_losses_and_discriminator_outputs():
    model = _tiny(build_mlp_gan)
    model.compile()
    data = tf.data.Dataset.from_tensor_slices(np.random.default_rng(0).uniform(size=(64, *IMAGE_SHAPE)).astype("float32")).batch(16)
    history = model.fit(data, epochs=2, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss", "d_real", "d_fake"}
    for values in history.history.values():
        assert np.all(np.isfinite(values))
    # d_real is D(x) = σ(logit) on the real images, rescaled to [-1, 1], averaged over the data
    logged = model.evaluate(data, verbose=0, return_dict=True)
    real = np.concatenate([batch.numpy() for batch in data]) * 2.0 - 1.0
    logits = np.asarray(model.discriminator(real, training=False), "float64")
    assert logged["d_real"] == pytest.approx(_sigmoid(logits).mean(), rel=1e-5)


@pytest.mark.parametrize("builder", [build_mlp_gan, build_dcgan])
def test_save_load_restores_outputs_and_both_optimizers(builder, tmp_path):
    model = _tiny(builder)
    model.compile(d_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5), g_optimizer=keras.optimizers.Adam(2e-3))
    data = tf.data.Dataset.from_tensor_slices(np.random.default_rng(0).uniform(size=(32, *IMAGE_SHAPE)).astype("float32")).batch(16)
    model.fit(data, epochs=1, verbose=0)
    path = tmp_path / "gan.keras"
    model.save(path)
    loaded = keras.models.load_model(path)  # safe mode
    assert isinstance(loaded, GAN)
    np.testing.assert_array_equal(model.generate(6, seed=3), loaded.generate(6, seed=3))
    probe = tf.random.uniform((4, *IMAGE_SHAPE), seed=2) * 2 - 1
    np.testing.assert_allclose(model.discriminator(probe), loaded.discriminator(probe), atol=1e-6)
    # The optimizers come back with their hyperparameters and their state (no re-compile needed).
    assert float(loaded.g_optimizer.learning_rate) == pytest.approx(2e-3)
    assert float(loaded.d_optimizer.beta_1) == pytest.approx(0.5)
    for original, restored in ((model.d_optimizer, loaded.d_optimizer), (model.g_optimizer, loaded.g_optimizer)):
        assert int(restored.iterations) == int(original.iterations) == 2
        for a, b in zip(original.variables, restored.variables):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    loaded.fit(data, epochs=1, verbose=0)  # training resumes
    assert int(loaded.d_optimizer.iterations) == 4


def test_generate_contract():
    model = _tiny(build_dcgan)
    samples = model.generate(5, seed=7)
    assert samples.shape == (5, *IMAGE_SHAPE) and samples.dtype == np.float32
    assert samples.min() >= 0.0 and samples.max() <= 1.0
    np.testing.assert_array_equal(samples, model.generate(5, seed=7))
    assert not np.array_equal(samples, model.generate(5, seed=8))
    assert not np.array_equal(model.generate(5), model.generate(5))


def test_builders_size_from_image_shape_and_reject_bad_shapes():
    for shape in ((28, 28, 1), (32, 32, 3)):
        for head_filters in (None, 4):
            model = build_dcgan(shape, latent_dim=4, filters=(8, 4), head_filters=head_filters)
            assert model.generate(2, seed=0).shape == (2, *shape)
            last = model.generator.layers[-1]  # the layer that makes the image: 3×3 conv or up-conv
            assert isinstance(last, keras.layers.Conv2DTranspose) == (head_filters is None)
            assert last.kernel.shape[:2] == ((4, 4) if head_filters is None else (3, 3))
        assert build_mlp_gan(shape, latent_dim=4, units=(8,)).generate(2, seed=0).shape == (2, *shape)
    with pytest.raises(ValueError, match="divisible by 4"):
        build_dcgan((30, 30, 1))
    with pytest.raises(ValueError, match="d_filters"):
        build_dcgan((28, 28, 1), d_filters=())


def _discriminator_convs(model):
    return [(layer.filters, layer.output.shape[1]) for layer in model.discriminator.layers
            if isinstance(layer, keras.layers.Conv2D)]


def test_dcgan_discriminator_depth_follows_d_filters():
    default = build_dcgan((28, 28, 1), latent_dim=4, filters=(8, 4))
    assert _discriminator_convs(default) == [(4, 14), (8, 7), (16, 4)]  # mirror of G, then a conv to H/8
    paper = build_dcgan((28, 28, 1), latent_dim=4, filters=(8, 4), d_filters=(4, 8))
    assert _discriminator_convs(paper) == [(4, 14), (8, 7)]
    batch_norms = [layer for layer in default.discriminator.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(batch_norms) == 2  # after every conv but the first
    logits = default.discriminator(np.zeros((3, 28, 28, 1), "float32"))
    assert logits.shape == (3, 1)
    model = _tiny(build_mlp_gan)
    model.compile()
    with pytest.raises(ValueError, match="image_size"):
        model.train_step((tf.zeros((4, 32, 32, 3)), tf.zeros(4, "int32")))
    with pytest.raises(ValueError, match="generator_loss"):
        GAN(model.generator, model.discriminator, generator_loss="wasserstein")
