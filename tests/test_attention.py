"""Tests of genai_tf.attention: the causal mask, Eq. (AR.5) against numpy, multi-head attention
(Eq. AR.6) against keras.layers.MultiHeadAttention, the key/value cache, and serialisation."""

import math

import keras
import numpy as np
import pytest

from genai_tf import attention


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def numpy_attention(q, k, v, mask):
    """softmax(q kᵀ/√d + mask) v in float64, the softmax by hand."""
    scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1]) + mask
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights /= weights.sum(axis=-1, keepdims=True)
    return weights @ v, weights


def test_causal_mask_is_zero_on_and_below_the_diagonal_and_minus_infinity_above():
    mask = keras.ops.convert_to_numpy(attention.causal_mask(5))
    assert mask.shape == (5, 5)
    rows, columns = np.indices((5, 5))
    assert np.all(mask[columns <= rows] == 0.0)
    assert np.all(np.isneginf(mask[columns > rows]))
    with pytest.raises(ValueError, match="whole number"):
        attention.causal_mask(0)


def test_scaled_dot_product_attention_matches_numpy(rng):
    q, k, v = (rng.normal(size=(2, 3, 6, 4)) for _ in range(3))
    mask = keras.ops.convert_to_numpy(attention.causal_mask(6)).astype("float64")
    outputs, weights = attention.scaled_dot_product_attention(q, k, v, mask)
    expected_outputs, expected_weights = numpy_attention(q, k, v, mask)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(outputs), expected_outputs, atol=1e-5)
    weights = keras.ops.convert_to_numpy(weights)
    np.testing.assert_allclose(weights, expected_weights, atol=1e-6)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-6)
    assert np.all(weights[..., np.triu_indices(6, k=1)[0], np.triu_indices(6, k=1)[1]] == 0.0)
    # a boolean mask (True = keep) is the same mask; no mask attends everywhere
    boolean, _ = attention.scaled_dot_product_attention(q, k, v, np.tril(np.ones((6, 6), bool)))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(boolean), expected_outputs, atol=1e-5)
    unmasked, _ = attention.scaled_dot_product_attention(q, k, v)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(unmasked), numpy_attention(q, k, v, 0.0)[0], atol=1e-5)


def copy_into(layer, mha, d_model, heads):
    """Put MultiHeadAttention's weights into a CausalSelfAttention: its kernels are (d, heads, head_dim)
    for q/k/v and (heads, head_dim, d) for the output; ours are (d, d) with the heads along the columns."""
    q_kernel, q_bias, k_kernel, k_bias, v_kernel, v_bias, o_kernel, o_bias = mha.get_weights()
    assert q_kernel.shape == (d_model, heads, d_model // heads) and o_kernel.shape == (heads, d_model // heads, d_model)
    for dense, kernel, bias in ((layer.query, q_kernel, q_bias), (layer.key, k_kernel, k_bias),
                                (layer.value, v_kernel, v_bias)):
        dense.set_weights([kernel.reshape(d_model, d_model), bias.reshape(d_model)])
    layer.output_projection.set_weights([o_kernel.reshape(d_model, d_model), o_bias])


def test_causal_self_attention_equals_keras_multi_head_attention(rng):
    d_model, heads = 12, 3
    x = rng.normal(size=(2, 7, d_model)).astype("float32")
    mha = keras.layers.MultiHeadAttention(num_heads=heads, key_dim=d_model // heads)
    expected = keras.ops.convert_to_numpy(mha(x, x, use_causal_mask=True))
    layer = attention.CausalSelfAttention(d_model, heads)
    layer.build(x.shape)
    copy_into(layer, mha, d_model, heads)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), expected, atol=1e-5)
    # and the mask matters: without it, MHA gives something else
    assert np.abs(keras.ops.convert_to_numpy(mha(x, x)) - expected).max() > 1e-3


def test_causal_self_attention_does_not_look_ahead(rng):
    layer = attention.CausalSelfAttention(8, 2)
    x = rng.normal(size=(1, 6, 8)).astype("float32")
    changed = x.copy()
    changed[0, 4:] = rng.normal(size=(2, 8))
    y, weights = (keras.ops.convert_to_numpy(a) for a in layer(x, return_weights=True))
    y_changed = keras.ops.convert_to_numpy(layer(changed))
    np.testing.assert_allclose(y[0, :4], y_changed[0, :4], atol=1e-6)
    assert np.abs(y[0, 4:] - y_changed[0, 4:]).max() > 1e-3
    assert weights.shape == (1, 2, 6, 6)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-6)


@pytest.mark.parametrize("chunks", [(6,), (1, 1, 1, 1, 1, 1), (3, 1, 2)])
def test_the_key_value_cache_gives_the_same_outputs_as_one_pass(chunks, rng):
    block = attention.TransformerBlock(8, 2)
    x = rng.normal(size=(2, 6, 8)).astype("float32")
    expected = keras.ops.convert_to_numpy(block(x))
    cache = block.attention.empty_cache(2, capacity=10)
    outputs, start = [], 0
    for size in chunks:
        y, cache = block.call_cached(x[:, start:start + size], cache)
        outputs.append(keras.ops.convert_to_numpy(y))
        start += size
    assert int(cache[2]) == 6 and tuple(cache[0].shape) == (2, 2, 10, 4)
    np.testing.assert_allclose(np.concatenate(outputs, axis=1), expected, atol=1e-5)


def test_positional_embedding_adds_one_vector_per_position_and_refuses_too_many():
    layer = attention.PositionalEmbedding(5, 3)
    x = np.zeros((2, 4, 3), "float32")
    layer.build(x.shape)
    table = keras.ops.convert_to_numpy(layer.table)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), np.broadcast_to(table[:4], (2, 4, 3)))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x[:, :2], offset=3)), np.broadcast_to(table[3:5], (2, 2, 3)))
    with pytest.raises(ValueError, match="at most 5 characters"):
        layer(np.zeros((1, 6, 3), "float32"))


def test_the_layers_round_trip_through_their_config(rng):
    x = rng.normal(size=(1, 5, 8)).astype("float32")
    for layer in (attention.CausalSelfAttention(8, 2), attention.TransformerBlock(8, 4, mlp_ratio=2),
                  attention.PositionalEmbedding(5, 8)):
        layer.build(x.shape)
        clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
        assert clone.get_config() == layer.get_config() and clone.built  # its build config rebuilds it
        clone.set_weights(layer.get_weights())
        np.testing.assert_allclose(keras.ops.convert_to_numpy(clone(x)), keras.ops.convert_to_numpy(layer(x)),
                                   atol=1e-6)
    with pytest.raises(ValueError, match="divisible"):
        attention.CausalSelfAttention(10, 3)
