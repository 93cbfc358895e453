"""Tests of genai_tf.layers.Sampling: the reparameterisation trick z = μ + σ ⊙ ε."""

import math

import keras
import numpy as np
import tensorflow as tf

from genai_tf.layers import Sampling


def draw(layer, mean, log_var):
    return keras.ops.convert_to_numpy(layer([np.asarray(mean, "float32"), np.asarray(log_var, "float32")]))


def test_output_has_the_latent_shape():
    layer = Sampling(seed=0)
    z = draw(layer, np.zeros((5, 3)), np.zeros((5, 3)))
    assert z.shape == (5, 3) and z.dtype == np.float32
    assert layer.compute_output_shape([(None, 3), (None, 3)]) == (None, 3)


def test_seeded_layers_give_the_same_sequence():
    mean, log_var = np.zeros((4, 2)), np.zeros((4, 2))
    first, second = Sampling(seed=7), Sampling(seed=7)
    sequence_a = [draw(first, mean, log_var) for _ in range(3)]
    sequence_b = [draw(second, mean, log_var) for _ in range(3)]
    for a, b in zip(sequence_a, sequence_b):
        np.testing.assert_array_equal(a, b)
    other = draw(Sampling(seed=8), mean, log_var)
    assert not np.allclose(other, sequence_a[0])


def test_successive_calls_draw_fresh_noise():
    layer = Sampling(seed=3)
    mean, log_var = np.zeros((4, 2)), np.zeros((4, 2))
    z1, z2 = draw(layer, mean, log_var), draw(layer, mean, log_var)
    assert not np.allclose(z1, z2)


def test_successive_calls_draw_fresh_noise_inside_tf_function():
    layer = Sampling(seed=3)
    mean, log_var = tf.zeros((4, 2)), tf.zeros((4, 2))
    step = tf.function(lambda: layer([mean, log_var]))
    assert not np.allclose(step().numpy(), step().numpy())


def test_samples_have_mean_mu_and_variance_sigma_squared():
    num = 40_000
    mu = np.array([1.0, -2.0, 0.0])
    var = np.array([0.25, 4.0, 1.0])
    z = draw(Sampling(seed=11), np.tile(mu, (num, 1)), np.tile(np.log(var), (num, 1))).astype("float64")
    mean_error = np.abs(z.mean(axis=0) - mu)
    assert np.all(mean_error < 5 * np.sqrt(var / num)), mean_error
    # the sample variance of a Gaussian has standard error σ² √(2 / (n - 1))
    var_error = np.abs(z.var(axis=0, ddof=1) - var)
    assert np.all(var_error < 5 * var * math.sqrt(2.0 / (num - 1))), var_error


def test_gradient_flows_to_mean_and_log_variance():
    """z = μ + exp(½ log σ²) ε: dz/dμ = 1 and dz/dlogσ² = ½ σ ε = ½ (z - μ)."""
    layer = Sampling(seed=5)
    mean = tf.Variable(np.full((6, 2), 0.5, "float32"))
    log_var = tf.Variable(np.full((6, 2), math.log(0.3), "float32"))
    with tf.GradientTape(persistent=True) as tape:
        z = layer([mean, log_var])
        total = tf.reduce_sum(z)
    np.testing.assert_allclose(tape.gradient(total, mean).numpy(), 1.0)
    np.testing.assert_allclose(tape.gradient(total, log_var).numpy(), 0.5 * (z.numpy() - 0.5),
                               rtol=1e-5, atol=1e-6)


def test_get_config_round_trip():
    layer = Sampling(seed=21, name="my_sampling")
    config = layer.get_config()
    assert config["seed"] == 21 and config["name"] == "my_sampling"
    clone = Sampling.from_config(config)
    assert clone.seed == 21 and clone.name == "my_sampling"
    mean, log_var = np.zeros((3, 2)), np.zeros((3, 2))
    np.testing.assert_array_equal(draw(clone, mean, log_var), draw(Sampling(seed=21), mean, log_var))
    # through keras' registry, as a saved model would
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(restored, Sampling) and restored.seed == 21
