"""Tests of notebook 06's models: the Wasserstein GAN (clipping, gradient penalty) and the
class-conditional GAN (projection and auxiliary-classifier heads)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from genai_tf import losses
from genai_tf.data import images as image_data
from genai_tf.models.cgan import ConditionalGAN, build_cgan
from genai_tf.models.wgan import WassersteinGAN, build_wgan, critic_gradients, fit_critic

IMAGE_SHAPE = (8, 8, 1)


def tiny_wgan(**kwargs):
    kwargs = {"latent_dim": 4, "filters": (8, 4), "head_filters": 4, "d_filters": (4, 8), "seed": 0, **kwargs}
    return build_wgan(IMAGE_SHAPE, **kwargs)


def linear_critic(weights):
    """f(x) = wᵀ vec(x): ∇f = w everywhere."""
    inputs = keras.Input(IMAGE_SHAPE)
    dense = layers.Dense(1, use_bias=False)
    critic = keras.Model(inputs, dense(layers.Flatten()(inputs)))
    dense.set_weights([np.asarray(weights, "float32").reshape(-1, 1)])
    return critic


def test_the_critic_may_not_use_batch_normalisation():
    generator = tiny_wgan().generator
    inputs = keras.Input(IMAGE_SHAPE)
    hidden = layers.BatchNormalization(name="bn_in_critic")(layers.Flatten()(inputs))
    critic = keras.Model(inputs, layers.Dense(1)(hidden))
    with pytest.raises(ValueError, match="bn_in_critic"):
        WassersteinGAN(generator, critic)
    with pytest.raises(ValueError, match="constraint"):
        WassersteinGAN(generator, tiny_wgan().critic, constraint="spectral")
    with pytest.raises(ValueError, match="critic_steps"):
        WassersteinGAN(generator, tiny_wgan().critic, critic_steps=0)


def test_critic_gradients_are_each_examples_own():
    rng = np.random.default_rng(0)
    weights = rng.normal(size=64)
    critic = linear_critic(weights)
    points = tf.constant(rng.normal(size=(5, *IMAGE_SHAPE)).astype("float32"))
    scores, gradients = critic_gradients(critic, points)
    np.testing.assert_allclose(np.asarray(scores)[:, 0], np.asarray(points).reshape(5, -1) @ weights, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(gradients).reshape(5, -1), np.tile(weights, (5, 1)), rtol=1e-5)


def test_a_unit_norm_linear_critic_has_zero_penalty_and_unit_gradient_norm():
    """The known optimum of the two-sided penalty: ‖∇f‖ = 1 everywhere gives exactly 0."""
    rng = np.random.default_rng(1)
    weights = rng.normal(size=64)
    generator = tiny_wgan().generator
    model = WassersteinGAN(generator, linear_critic(weights / np.linalg.norm(weights)))
    real = tf.constant(rng.uniform(-1, 1, size=(6, *IMAGE_SHAPE)).astype("float32"))
    fake = tf.constant(rng.uniform(-1, 1, size=(6, *IMAGE_SHAPE)).astype("float32"))
    terms = model.critic_terms(real, fake)
    assert float(terms["gradient_penalty"]) == pytest.approx(0.0, abs=1e-6)
    assert float(terms["gradient_norm"]) == pytest.approx(1.0, abs=1e-5)
    scores = lambda x: np.asarray(x).reshape(6, -1) @ (weights / np.linalg.norm(weights))  # noqa: E731
    assert float(terms["wasserstein"]) == pytest.approx(np.mean(scores(real) - scores(fake)), rel=1e-4)
    # A critic of norm 3 pays λ (3 - 1)² = 40 wherever it is evaluated.
    model = WassersteinGAN(generator, linear_critic(3 * weights / np.linalg.norm(weights)))
    assert float(model.critic_terms(real, fake)["gradient_penalty"]) == pytest.approx(40.0, rel=1e-4)


def test_interpolation_weights_are_uniform_on_the_unit_interval():
    from scipy import stats

    alpha = np.asarray(tiny_wgan().interpolation_weights(4000))
    assert alpha.shape == (4000,) and alpha.min() >= 0.0 and alpha.max() <= 1.0
    assert stats.kstest(alpha, "uniform").pvalue > 1e-3  # a normal or a constant α fails this


def test_critic_batches_cover_the_data_batch_in_full_chunks():
    model = tiny_wgan(critic_steps=3)
    images = tf.reshape(tf.range(7, dtype="float32"), (7, 1, 1, 1)) * tf.ones((7, *IMAGE_SHAPE))
    chunks = [np.asarray(chunk)[:, 0, 0, 0] for chunk in model.critic_batches(images)]
    assert [len(chunk) for chunk in chunks] == [3, 3, 3]  # ⌈7 / 3⌉ each, wrapping around
    assert set(np.concatenate(chunks)) == set(range(7))
    np.testing.assert_array_equal(chunks[0], [0, 1, 2])
    np.testing.assert_array_equal(chunks[2], [6, 0, 1])


def test_one_step_makes_critic_steps_critic_updates_and_one_generator_update():
    model = tiny_wgan(critic_steps=4)
    model.compile(critic_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    images = tf.random.uniform((16, *IMAGE_SHAPE), seed=1)
    logs = model.train_step((images, tf.zeros(16, "int32")))
    assert int(model.critic_optimizer.iterations) == 4 and int(model.g_optimizer.iterations) == 1
    assert set(logs) == set(WassersteinGAN.loss_names)
    assert all(np.isfinite(float(value)) for value in logs.values())


def test_clipping_keeps_every_critic_weight_in_the_box():
    model = tiny_wgan(constraint="clipping", clip_value=0.01, critic_steps=2)
    model.compile(critic_optimizer=keras.optimizers.RMSprop(0.05), g_optimizer=keras.optimizers.RMSprop(5e-5))
    images = tf.constant(np.random.default_rng(2).uniform(size=(8, *IMAGE_SHAPE)).astype("float32"))
    model.train_step((images, tf.zeros(8, "int32")))
    weights = np.concatenate([w.numpy().ravel() for w in model.critic.trainable_weights])
    assert np.abs(weights).max() <= 0.01 + 1e-7
    at_the_box = np.mean(np.isclose(np.abs(weights), 0.01))
    assert at_the_box > 0.5, at_the_box  # a large step piles them up at ±c


def test_wgan_gp_critic_learns_to_separate_digits_from_samples():
    """A few critic-heavy steps on real digits: the critic's W estimate grows and stays finite."""
    digits = image_data.load("digits", image_size=8, batch_size=64, limit=512, seed=0)
    model = tiny_wgan(critic_steps=4)
    model.compile(critic_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.0, beta_2=0.9),
                  g_optimizer=keras.optimizers.Adam(0.0))  # G frozen: the critic's problem is stationary
    history = model.fit(digits.train_stream(0), steps_per_epoch=6, epochs=3, verbose=0).history
    assert history["wasserstein"][-1] > history["wasserstein"][0] + 0.05
    assert all(np.isfinite(history["critic_loss"]))
    assert 0.0 < history["gradient_norm"][-1] < 3.0


def test_fit_critic_estimates_the_closed_form_w1_of_two_gaussians():
    from scipy.stats import norm

    # W1(N(0, 1), N(1, 0.5²)) = E|X − Y| under the quantile coupling Y = 1 + 0.5 X:
    # E|0.5 Z − 1| for Z ~ N(0, 1), the mean absolute value of N(−1, 0.5²) (closed form)
    mu, sigma = -1.0, 0.5
    exact = sigma * np.sqrt(2 / np.pi) * np.exp(-mu**2 / (2 * sigma**2)) + mu * (1 - 2 * norm.cdf(-mu / sigma))
    rng = np.random.default_rng(0)
    real, fake = rng.normal(0.0, 1.0, 20_000), rng.normal(1.0, 0.5, 20_000)
    keras.utils.set_random_seed(0)
    critic = keras.Sequential([keras.Input((1,)), layers.Dense(64, activation="tanh"),
                               layers.Dense(64, activation="tanh"), layers.Dense(1)])
    estimates = fit_critic(critic, real, fake, steps=500, optimizer=keras.optimizers.Adam(1e-3, 0.5, 0.9))
    assert len(estimates) == 500 and np.all(np.isfinite(estimates))
    estimate = float(np.mean(critic(real[:, None])) - np.mean(critic(fake[:, None])))
    assert exact == pytest.approx(1.0085, abs=1e-3)
    assert estimate == pytest.approx(exact, rel=0.10)
    assert estimates[0] < 0.5 * exact  # it learned: an untrained critic barely separates them
    points = tf.constant(np.linspace(-1.5, 1.5, 61, dtype="float32")[:, None])  # where both samples have mass
    _, gradients = critic_gradients(critic, points)
    assert np.median(np.abs(np.asarray(gradients))) == pytest.approx(1.0, abs=0.2)  # slope ≈ 1 (Eq. WGAN.7)


def test_penalty_gradient_is_finite_where_the_critic_gradient_is_zero():
    """f(x) = a·‖x‖² has ∇f(0) = 0: the penalty there is λ, and its gradient w.r.t. a is finite (it is 0)."""
    scale = tf.Variable(0.5)
    points = tf.zeros((3, *IMAGE_SHAPE))
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            inner.watch(points)
            total = tf.reduce_sum(scale * tf.reduce_sum(tf.square(points), axis=[1, 2, 3]))
        gradients = inner.gradient(total, points)
        penalty = tf.reduce_mean(losses.gradient_penalty(gradients, 10.0))
    assert float(penalty) == pytest.approx(10.0, rel=1e-5)
    assert np.isfinite(float(outer.gradient(penalty, scale)))


# --- the conditional GAN --------------------------------------------------------------------


def tiny_cgan(head, **kwargs):
    return build_cgan(IMAGE_SHAPE, num_classes=3, latent_dim=4, filters=(8, 4), head_filters=4, d_filters=(4, 8),
                      head=head, label_dim=2, seed=0, **kwargs)


@pytest.mark.parametrize("head", ["projection", "auxiliary"])
def test_conditional_gan_step_generate_and_round_trip(head, tmp_path):
    model = tiny_cgan(head)
    model.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    images = tf.random.uniform((12, *IMAGE_SHAPE), seed=3)
    logs = model.train_step((images, tf.constant(np.arange(12) % 3, "int32")))
    assert set(logs) == set(ConditionalGAN.loss_names) and all(np.isfinite(float(v)) for v in logs.values())
    assert (float(logs["class_loss"]) > 0) == (head == "auxiliary")
    samples = model.generate(6, seed=1, labels=[0, 1, 2, 0, 1, 2])
    assert samples.shape == (6, *IMAGE_SHAPE) and 0.0 <= samples.min() and samples.max() <= 1.0
    # the label changes the image for a fixed z
    fixed = [model.generate(1, seed=5, labels=[k]) for k in range(3)]
    assert not np.allclose(fixed[0], fixed[1]) and not np.allclose(fixed[1], fixed[2])
    with pytest.raises(ValueError, match="labels must be integers"):
        model.generate(2, labels=[0, 3])
    with pytest.raises(ValueError, match="one per sample"):
        model.generate(3, labels=[0, 1])
    path = tmp_path / "cgan.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.head == head
    np.testing.assert_allclose(loaded.generate(4, seed=2, labels=[2, 1, 0, 2]),
                               model.generate(4, seed=2, labels=[2, 1, 0, 2]), atol=1e-6)


def test_projection_logit_is_psi_plus_the_class_embedding_dot_features():
    """Eq. (CGAN.1): D(x, y) = ψ(φ(x)) + e_yᵀ φ(x), checked against the layers' own weights."""
    model = tiny_cgan("projection")
    discriminator = model.discriminator
    images = tf.random.uniform((4, *IMAGE_SHAPE), seed=4)
    labels = tf.constant([0, 1, 2, 1], "int32")
    features_model = keras.Model(discriminator.inputs[0], discriminator.get_layer("logit").input)
    features = np.asarray(features_model(images))
    kernel, bias = discriminator.get_layer("logit").get_weights()
    table = discriminator.get_layer("class_projection").get_weights()[0]
    table = table + np.random.default_rng(0).normal(size=table.shape).astype("float32")  # not the zero init
    discriminator.get_layer("class_projection").set_weights([table])
    expected = features @ kernel[:, 0] + bias[0] + np.sum(table[np.asarray(labels)] * features, axis=1)
    np.testing.assert_allclose(np.asarray(discriminator([images, labels]))[:, 0], expected, rtol=1e-4, atol=1e-4)


def test_auxiliary_discriminator_loss_adds_the_class_cross_entropy_on_real_and_fake():
    model = tiny_cgan("auxiliary", class_weight=0.5)
    real = tf.random.uniform((4, *IMAGE_SHAPE), -1, 1, seed=5)
    fake = tf.random.uniform((4, *IMAGE_SHAPE), -1, 1, seed=6)
    labels, fake_labels = tf.constant([0, 1, 2, 0]), tf.constant([2, 2, 1, 0])
    terms = model.discriminator_terms(real, labels, fake, fake_labels)
    (real_logit, real_classes), (fake_logit, fake_classes) = model.discriminator(real), model.discriminator(fake)
    plain = np.mean(np.asarray(losses.discriminator_loss(real_logit, fake_logit)))
    classes = np.mean(np.asarray(losses.auxiliary_class_loss(labels, real_classes))
                      + np.asarray(losses.auxiliary_class_loss(fake_labels, fake_classes)))
    assert float(terms["class_loss"]) == pytest.approx(classes, rel=1e-5)
    assert float(terms["d_loss"]) == pytest.approx(plain + 0.5 * classes, rel=1e-5)
    with pytest.raises(ValueError, match="head"):
        build_cgan(IMAGE_SHAPE, head="concat")


# --- options measured in notebook 06: a normal α, spectral normalisation ------------------------


def test_interpolation_normal_draws_standard_normal_weights_and_survives_a_round_trip(tmp_path):
    from scipy import stats

    model = tiny_wgan(interpolation="normal")
    alpha = np.asarray(model.interpolation_weights(4000))
    assert alpha.shape == (4000,) and stats.kstest(alpha, "norm").pvalue > 1e-3
    assert 0.55 < np.mean((alpha < 0) | (alpha > 1)) < 0.78  # off the segment about two times in three
    assert tiny_wgan().interpolation == "uniform" and tiny_wgan().get_config()["interpolation"] == "uniform"
    with pytest.raises(ValueError, match="interpolation"):
        tiny_wgan(interpolation="beta")
    model.compile(critic_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    path = tmp_path / "wgan.keras"
    model.save(path)
    assert keras.models.load_model(path).interpolation == "normal"
    config = model.get_config()
    config.pop("interpolation")  # a model saved before the option existed loads with the paper's α
    assert WassersteinGAN.from_config(config).interpolation == "uniform"


def spectral_norms(network):
    """The largest singular value of each spectrally normalised layer's kernel, reshaped (-1, out)."""
    return [float(np.linalg.svd(np.reshape(layer.kernel.numpy(), (-1, layer.kernel.shape[-1])), compute_uv=False)[0])
            for layer in network.layers if isinstance(layer, layers.SpectralNormalization)]


@pytest.mark.parametrize("head", ["projection", "auxiliary"])
def test_spectral_norm_wraps_every_conv_and_dense_of_d_and_drops_batch_norm(head, tmp_path):
    plain, normalised = tiny_cgan(head), tiny_cgan(head, spectral_norm=True)
    assert not any(isinstance(layer, layers.SpectralNormalization) for layer in plain.discriminator.layers)
    assert any(isinstance(layer, layers.BatchNormalization) for layer in plain.discriminator.layers)
    assert not any(isinstance(layer, layers.BatchNormalization) for layer in normalised.discriminator.layers)
    wrapped = [layer.layer for layer in normalised.discriminator.layers if isinstance(layer, layers.SpectralNormalization)]
    assert sum(isinstance(layer, layers.Conv2D) for layer in wrapped) == 2  # d_filters=(4, 8)
    assert sum(isinstance(layer, layers.Dense) for layer in wrapped) == (1 if head == "projection" else 2)
    images = tf.random.uniform((6, *IMAGE_SHAPE), -1, 1, seed=7)
    labels = tf.constant([0, 1, 2, 0, 1, 2], "int32")
    for _ in range(30):  # one power iteration per training call: σ_max of every kernel goes to 1
        normalised.judge(images, labels, training=True)
    np.testing.assert_allclose(spectral_norms(normalised.discriminator), 1.0, atol=0.03)
    normalised.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    logs = normalised.train_step((tf.random.uniform((6, *IMAGE_SHAPE)), labels))
    assert all(np.isfinite(float(v)) for v in logs.values())
    path = tmp_path / "cgan_sn.keras"
    normalised.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded.judge(images, labels)[0]), np.asarray(normalised.judge(images, labels)[0]),
                               atol=1e-5)


def test_spectral_norm_critic_trains_a_finite_wgan_gp_step():
    model = tiny_wgan(spectral_norm=True, critic_steps=2)
    assert len(spectral_norms(model.critic)) == 3  # two convs and the score layer
    model.compile(critic_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    logs = model.train_step((tf.random.uniform((8, *IMAGE_SHAPE), seed=8), tf.zeros(8, "int32")))
    assert all(np.isfinite(float(value)) for value in logs.values())
