"""Tests of genai_tf.exercises.autoregressive_text: each self-check of notebook 08 passes a right
answer, rejects the typical wrong ones, and names the mistake in its message."""

import math

import numpy as np
import pytest

from genai_tf import attention, losses
from genai_tf.exercises import autoregressive_text as checks
from genai_tf.sampling import text as decoding
from tests.test_exercises_engine import assert_fails, assert_passes, not_implemented


@pytest.mark.parametrize("check", [checks.bits_per_char, checks.perplexity, checks.causal_mask,
                                  checks.attention, checks.top_k_filter, checks.top_p_filter,
                                  checks.cached_attention_step])
def test_a_stub_is_reported_as_not_implemented(check):
    assert_fails(check(not_implemented), "not implemented")


def test_bits_per_char():
    assert_passes(checks.bits_per_char(lambda nats: nats / math.log(2)))
    assert_passes(checks.bits_per_char(losses.bits_per_char))
    assert_passes(checks.bits_per_char(lambda nats: np.log2(np.exp(nats))))
    assert_fails(checks.bits_per_char(lambda nats: nats), "a bit is ln 2 nats")
    assert_fails(checks.bits_per_char(lambda nats: nats * math.log(2)), "multiplying by ln 2")
    assert_fails(checks.bits_per_char(lambda nats: nats / math.log(10)), "ln 10")
    assert_fails(checks.bits_per_char(lambda nats: np.log2(nats)), "log2 of the nats")
    assert_fails(checks.bits_per_char(lambda nats: nats / 0.7), "Hint")  # close, but not ln 2


def test_perplexity():
    assert_passes(checks.perplexity(lambda nats: np.exp(np.mean(nats))))
    assert_passes(checks.perplexity(lambda nats: 2.0 ** losses.bits_per_char(np.mean(nats))))
    assert_fails(checks.perplexity(lambda nats: np.mean(np.exp(nats))), "mean of exp(nats)")
    assert_fails(checks.perplexity(lambda nats: np.exp(np.sum(nats))), "summed nats")
    assert_fails(checks.perplexity(lambda nats: 2.0 ** np.mean(nats)), "2 to the mean nats")
    assert_fails(checks.perplexity(lambda nats: np.mean(nats)), "not yet exponentiated")
    assert_fails(checks.perplexity(lambda nats: np.exp(nats)), "shape")  # one per position


def test_causal_mask():
    assert_passes(checks.causal_mask(lambda n: np.tril(np.ones((n, n), bool))))
    assert_passes(checks.causal_mask(lambda n: np.asarray(attention.causal_mask(n))))  # additive 0 / -inf
    assert_passes(checks.causal_mask(lambda n: np.where(np.tril(np.ones((n, n))) > 0, 0.0, -1e9)))
    assert_fails(checks.causal_mask(lambda n: np.tril(np.ones((n, n), bool), -1)), "masking the diagonal")
    assert_fails(checks.causal_mask(lambda n: np.triu(np.ones((n, n), bool))), "transposed")
    assert_fails(checks.causal_mask(lambda n: ~np.tril(np.ones((n, n), bool))), "complement")
    assert_fails(checks.causal_mask(lambda n: np.tril(np.ones((n, n)))), "0s and 1s")
    assert_fails(checks.causal_mask(lambda n: np.ones((n, n), bool)), "lower triangle")
    assert_fails(checks.causal_mask(lambda n: np.where(np.tril(np.ones((n, n))) > 0, 0.0, -1.0)), "additive mask")


def test_causal_mask_accepts_an_integer_indicator_and_a_finite_additive_mask():
    assert_passes(checks.causal_mask(lambda n: np.tril(np.ones((n, n), int))))  # 1: may attend
    assert_passes(checks.causal_mask(lambda n: np.tril(np.ones((n, n), np.uint8))))
    assert_passes(checks.causal_mask(lambda n: np.where(np.tril(np.ones((n, n))) > 0, 0.0, -1e4)))
    assert_passes(checks.causal_mask(lambda n: np.triu(np.full((n, n), -1e4, "float32"), 1)))
    assert_fails(checks.causal_mask(lambda n: 1 - np.tril(np.ones((n, n), int))), "complement")
    assert_fails(checks.causal_mask(lambda n: np.tril(np.ones((n, n), int), -1)), "masking the diagonal")
    # the integer mask means the same as the boolean one where it is used
    assert np.array_equal(checks.allowed_from_mask(np.tril(np.ones((3, 3), int))), np.tril(np.ones((3, 3), bool)))


def right_attention(q, k, v, allowed):
    mask = None if allowed is None else allowed
    return attention.scaled_dot_product_attention(q, k, v, mask)[0]


def test_attention():
    assert_passes(checks.attention(right_attention))

    def scaled(scale=None, axis=-1, mask_after=False):
        def function(q, k, v, allowed):
            d = q.shape[-1]
            scores = q @ np.swapaxes(k, -1, -2) * (1 / math.sqrt(d) if scale is None else scale(d))
            if allowed is not None and not mask_after:
                scores = np.where(allowed, scores, -np.inf)
            weights = decoding.softmax(np.moveaxis(scores, axis, -1))
            weights = np.moveaxis(weights, -1, axis)
            if allowed is not None and mask_after:
                weights = weights * allowed
            return weights @ v
        return function

    assert_passes(checks.attention(scaled()))
    assert_fails(checks.attention(scaled(scale=lambda d: 1.0)), "no scaling")
    assert_fails(checks.attention(scaled(scale=lambda d: 1 / d)), "instead of √d")
    assert_fails(checks.attention(scaled(axis=-2)), "over the queries")
    assert_fails(checks.attention(scaled(mask_after=True)), "masking after the softmax")
    assert_fails(checks.attention(lambda q, k, v, allowed: right_attention(q, k, v, None)), "Hint")


def naive_softmax_attention(q, k, v, allowed):
    """Right except that it exponentiates the raw scores (no row-max subtraction)."""
    scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    if allowed is not None:
        scores = np.where(allowed, scores, -np.inf)
    weights = np.exp(scores)
    return weights / weights.sum(axis=-1, keepdims=True) @ v


def test_attention_without_the_row_max_subtraction_fails_on_large_scores():
    q, k, v, allowed = (np.ones((1, 2, 4)), np.ones((1, 2, 4)), np.ones((1, 2, 1)), None)
    np.testing.assert_allclose(naive_softmax_attention(q, k, v, allowed), 1.0)  # right on ordinary scores
    assert_fails(checks.attention(naive_softmax_attention), "Subtract each row's maximum")


def test_attention_with_fewer_queries_than_keys():
    def own_square_mask(q, k, v, allowed):  # builds tril(Lq, Lk) instead of using `allowed`: right when Lq = Lk
        mask = None if allowed is None else np.tril(np.ones((q.shape[-2], k.shape[-2]), bool))
        return right_attention(q, k, v, mask)

    def keys_cut_to_the_queries(q, k, v, allowed):  # assumes Lk = Lq
        length = q.shape[-2]
        return right_attention(q, k[..., :length, :], v[..., :length, :],
                               None if allowed is None else allowed[:, :length])

    for wrong in (own_square_mask, keys_cut_to_the_queries):
        assert_fails(checks.attention(wrong), "Hint")


def test_top_k_filter():
    assert_passes(checks.top_k_filter(decoding.top_k_filter))

    def threshold(logits, k):  # the k-th largest per row, with -1e9 for "removed": accepted
        kth = np.sort(logits, axis=-1)[..., -k][..., None]
        return np.where(logits >= kth, logits, -1e9)

    assert_passes(checks.top_k_filter(threshold))
    assert_fails(checks.top_k_filter(lambda logits, k: decoding.top_k_filter(logits, max(k - 1, 1))), "Hint")
    assert_fails(checks.top_k_filter(lambda logits, k: decoding.top_k_filter(logits, k + 1)), "k + 1")
    assert_fails(checks.top_k_filter(lambda logits, k: -decoding.top_k_filter(-logits, k)), "Hint")
    assert_fails(checks.top_k_filter(lambda logits, k: np.where(logits <= np.sort(logits, -1)[..., k - 1:k],
                                                                logits, -np.inf)), "k smallest")
    assert_fails(checks.top_k_filter(lambda logits, k: decoding.softmax(decoding.top_k_filter(logits, k))),
                 "probabilities, not logits")
    assert_fails(checks.top_k_filter(lambda logits, k: np.where(logits >= np.sort(logits, axis=None)[-k],
                                                                logits, -np.inf)), "whole batch")


def test_top_p_filter():
    assert_passes(checks.top_p_filter(lambda probs, p: decoding.softmax(decoding.top_p_filter(np.log(probs), p))))

    def nucleus(strict=False, renormalise=True, ascending=False):
        def function(probs, p):
            order = np.argsort(probs if ascending else -probs)
            cumulative = np.cumsum(probs[order])
            count = int(np.sum(cumulative < p)) + (0 if strict else 1)
            kept = np.zeros_like(probs)
            kept[order[:count]] = probs[order[:count]]
            with np.errstate(invalid="ignore"):  # an empty set: 0 / 0, as a learner's code would give
                return kept / kept.sum() if renormalise else kept
        return function

    assert_passes(checks.top_p_filter(nucleus()))
    assert_fails(checks.top_p_filter(nucleus(strict=True)), "crosses p")
    assert_fails(checks.top_p_filter(nucleus(renormalise=False)), "not renormalising")
    assert_fails(checks.top_p_filter(nucleus(ascending=True)), "least likely characters first")
    assert_fails(checks.top_p_filter(lambda probs, p: probs), "Hint")


def test_top_p_with_at_most_p_is_not_the_minimal_set():
    def at_most(probs, p):  # keeps going while the cumulative mass is <= p: one too many on the boundary
        order = np.argsort(-probs)
        count = min(int(np.sum(np.cumsum(probs[order]) <= p)) + 1, len(probs))
        kept = np.zeros_like(probs)
        kept[order[:count]] = probs[order[:count]]
        return kept / kept.sum()

    probs = np.array([0.5, 0.25, 0.125, 0.125])
    assert (at_most(probs, 0.75) > 0).sum() == 3  # the minimal set is {0.5, 0.25}, mass exactly 0.75
    assert_fails(checks.top_p_filter(at_most), "< p, not <= p")


def right_cached_step(x_new, weights, num_heads, keys, values):
    head_dim = x_new.shape[-1] // num_heads
    q, k, v = ((x_new @ weights[name][0] + weights[name][1]).reshape(num_heads, 1, head_dim)
               for name in ("query", "key", "value"))
    keys, values = np.concatenate([keys, k], axis=1), np.concatenate([values, v], axis=1)
    weights_ = decoding.softmax(q @ np.swapaxes(keys, -1, -2) / math.sqrt(head_dim))
    return (weights_ @ values).reshape(-1) @ weights["output"][0] + weights["output"][1], keys, values


def test_cached_attention_step_matches_the_package():
    assert_passes(checks.cached_attention_step(right_cached_step))


def test_cached_attention_step_rejects_the_usual_mistakes():
    def changed(scale=None, project=True, append=True, self_only=False):
        def step(x_new, weights, num_heads, keys, values):
            head_dim = x_new.shape[-1] // num_heads
            q, k, v = ((x_new @ weights[name][0] + weights[name][1]).reshape(num_heads, 1, head_dim)
                       for name in ("query", "key", "value"))
            grown_k, grown_v = np.concatenate([keys, k], axis=1), np.concatenate([values, v], axis=1)
            use_k, use_v = (k, v) if self_only else (grown_k, grown_v)
            scores = q @ np.swapaxes(use_k, -1, -2) * (1 / math.sqrt(head_dim) if scale is None else scale)
            y = (decoding.softmax(scores) @ use_v).reshape(-1)
            y = y @ weights["output"][0] + weights["output"][1] if project else y
            return (y, grown_k, grown_v) if append else (y, keys, values)
        return step

    assert_fails(checks.cached_attention_step(changed(scale=1.0)), "no 1/√head_dim")
    assert_fails(checks.cached_attention_step(changed(scale=0.25 / 2)), "Hint")
    assert_fails(checks.cached_attention_step(changed(project=False)), "output projection")
    assert_fails(checks.cached_attention_step(changed(append=False)), "Append the new position")
    assert_fails(checks.cached_attention_step(changed(self_only=True)), "Hint")  # ignores the cache
