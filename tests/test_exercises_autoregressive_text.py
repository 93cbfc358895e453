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
                                  checks.attention, checks.top_k_filter, checks.top_p_filter])
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
