"""Tests of the attention toy of notebook 08 (genai_tf.attention.causal_average and causal_softmax),
against direct loops and against the package's scaled dot-product attention."""

import numpy as np

from genai_tf import attention


def test_causal_average_is_the_running_mean():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 3))
    weights = attention.causal_average(6)
    expected = np.stack([x[:i + 1].mean(axis=0) for i in range(6)])  # an explicit loop over prefixes
    np.testing.assert_allclose(weights @ x, expected, atol=1e-12)
    assert np.all(np.triu(weights, 1) == 0) and np.allclose(weights.sum(axis=1), 1.0)
    assert weights[3, 0] == 0.25 and weights[0, 0] == 1.0


def test_causal_softmax_of_zero_scores_is_the_average_and_matches_attention():
    np.testing.assert_allclose(attention.causal_softmax(np.zeros((5, 5))), attention.causal_average(5), atol=1e-15)
    rng = np.random.default_rng(1)
    scores = rng.normal(scale=3.0, size=(2, 5, 5))
    weights = attention.causal_softmax(scores)
    for b in range(2):
        for i in range(5):  # row i: the softmax of scores[i, :i + 1], by hand
            row = np.exp(scores[b, i, :i + 1]) / np.exp(scores[b, i, :i + 1]).sum()
            np.testing.assert_allclose(weights[b, i, :i + 1], row, rtol=1e-12)
            assert np.all(weights[b, i, i + 1:] == 0)
    q, k = rng.normal(size=(2, 1, 5, 4))
    _, package = attention.scaled_dot_product_attention(q, k, k, attention.causal_mask(5))
    np.testing.assert_allclose(np.asarray(package)[0], attention.causal_softmax(q[0] @ k[0].T / 2.0), atol=1e-6)
    big = attention.causal_softmax(np.full((3, 3), 1e4))  # large scores: no overflow
    assert np.all(np.isfinite(big)) and np.allclose(big, attention.causal_average(3))
