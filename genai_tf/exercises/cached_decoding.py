"""Self-check of notebook 08's exercise 6: one decoding step through a key/value cache, run against
the package's ``CausalSelfAttention.call_cached`` (re-exported by
:mod:`genai_tf.exercises.autoregressive_text`)."""

from __future__ import annotations

import math

import numpy as np

from genai_tf.exercises.engine import CheckResult, run_cases, seeded_rng, to_numpy


def _softmax(x, axis=-1):
    x = x - np.max(x, axis=axis, keepdims=True)
    weights = np.exp(x)
    return weights / weights.sum(axis=axis, keepdims=True)




def _cached_step(x_new, weights, num_heads, keys, values, scale=None, project=True):
    """One new position through multi-head attention with a cache, in NumPy (the check's reference
    for the mistakes; the expected outputs come from the package's ``call_cached``)."""
    head_dim = x_new.shape[-1] // num_heads
    q, k, v = ((x_new @ weights[name][0] + weights[name][1]).reshape(num_heads, 1, head_dim)
               for name in ("query", "key", "value"))
    keys, values = np.concatenate([keys, k], axis=1), np.concatenate([values, v], axis=1)
    scores = q @ np.swapaxes(keys, -1, -2) * (1 / math.sqrt(head_dim) if scale is None else scale)
    y = (_softmax(scores) @ values).reshape(-1)
    return (y @ weights["output"][0] + weights["output"][1] if project else y), keys, values


def _decode(step, x, weights, num_heads):
    """Run ``step`` position by position over ``x`` (L, d_model) from an empty cache: the outputs (L, d_model)."""
    head_dim = x.shape[-1] // num_heads
    keys = values = np.zeros((num_heads, 0, head_dim))
    outputs = []
    for t, x_new in enumerate(x):
        y, keys, values = step(x_new, weights, num_heads, keys, values)
        keys, values = to_numpy(keys), to_numpy(values)
        if keys.shape != (num_heads, t + 1, head_dim) or values.shape != keys.shape:
            raise ValueError(f"after position {t} the cache should hold {t + 1} keys and values, each "
                             f"(heads, {t + 1}, head_dim) = {(num_heads, t + 1, head_dim)}; got keys {keys.shape} "
                             f"and values {values.shape}. Append the new position's key and value (axis 1)")
        outputs.append(to_numpy(y).reshape(-1))
    return np.stack(outputs)


def _layer_cases(seed=87):
    """Two seeded ``CausalSelfAttention`` layers and inputs: ``(x, weights, heads)`` cases and the
    package's own step-by-step ``call_cached`` outputs for them."""
    from genai_tf import attention  # TensorFlow only when this check runs

    rng = seeded_rng(seed)
    cases, expected = [], []
    for d_model, num_heads, length in ((16, 4, 6), (12, 3, 5)):
        layer = attention.CausalSelfAttention(d_model, num_heads)
        layer.build((None, None, d_model))
        weights = {}
        for name in ("query", "key", "value", "output"):
            dense = getattr(layer, "output_projection" if name == "output" else name)
            kernel, bias = rng.normal(scale=0.6, size=(d_model, d_model)), rng.normal(scale=0.1, size=d_model)
            dense.set_weights([kernel.astype("float32"), bias.astype("float32")])
            weights[name] = (kernel.astype("float32").astype("float64"), bias.astype("float32").astype("float64"))
        x = rng.normal(size=(length, d_model)).astype("float32")
        cache, outputs = layer.empty_cache(1, length), []
        for t in range(length):
            y, cache = layer.call_cached(x[None, t:t + 1], cache)
            outputs.append(to_numpy(y)[0, 0])
        cases.append((x.astype("float64"), weights, num_heads))
        expected.append(np.stack(outputs))
    return cases, expected


def cached_attention_step(function) -> CheckResult:
    """Check ``function(x_new (d_model,), weights, num_heads, keys, values) -> (y (d_model,), keys, values)``:
    one new position through multi-head causal self-attention with a key/value cache.

    ``weights[name] = (kernel (d_model, d_model), bias (d_model,))`` for ``"query"``, ``"key"``,
    ``"value"`` and ``"output"``; ``keys`` and ``values`` are ``(heads, t, head_dim)`` for the ``t``
    positions before. The check decodes whole sequences one position at a time from an empty cache
    and compares every output with the package's ``CausalSelfAttention.call_cached`` (float32).
    """
    cases, expected = _layer_cases()

    def decode(step, **options):
        return lambda x, weights, heads: _decode(lambda *a: step(*a, **options), x, weights, heads)

    mistakes = {"no 1/√head_dim scaling of the scores": [
                    decode(_cached_step, scale=1.0)(*case) for case in cases],
                "scaling by 1/√d_model (each head's dot products have head_dim = d_model / heads terms)": [
                    decode(_cached_step, scale=1 / math.sqrt(case[0].shape[-1]))(*case) for case in cases],
                "forgetting the output projection (weights['output'])": [
                    decode(_cached_step, project=False)(*case) for case in cases]}
    return run_cases("cached_attention_step", lambda x, weights, heads: _decode(function, x, weights, heads),
                     cases, expected,
                     "project x_new to q, k, v (x @ kernel + bias), split each into (heads, 1, head_dim), append "
                     "k and v to the cache along axis 1, attend with softmax(q keysᵀ / √head_dim) over every "
                     "cached position (no mask: they are all in the past, or the new one itself), merge the heads "
                     "back to (d_model,) and apply the output projection.", mistakes=mistakes,
                     shape_hint="y (d_model,) per step", rtol=1e-4, atol=1e-4)
