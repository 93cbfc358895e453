"""Turning a model's next-character logits into a choice: temperature, top-k and nucleus (top-p).

Each function takes logits of shape ``(..., V)`` (numpy) and returns a changed distribution,
so every text model (the counted n-gram and the networks) samples the same way, and notebook 08
can check each one against its definition. Logits of ``-inf`` mark characters ruled out.
"""

from __future__ import annotations

import numpy as np


def _logits(logits) -> np.ndarray:
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim < 1 or logits.shape[-1] < 1:
        raise ValueError(f"logits must have shape (..., V) with V >= 1; got {logits.shape}.")
    if np.isnan(logits).any() or np.isposinf(logits).any():
        raise ValueError("The logits hold NaN or +inf; the model's output is broken (did training diverge?).")
    return logits


def softmax(logits) -> np.ndarray:
    """p_i = exp(l_i) / Σ_j exp(l_j) over the last axis, computed stably."""
    logits = _logits(logits)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    weights = np.exp(shifted)
    return weights / weights.sum(axis=-1, keepdims=True)


def apply_temperature(logits, temperature: float) -> np.ndarray:
    """Implements Eq. (AR.7) of notebooks/08_autoregressive_text.ipynb: p_T(i) ∝ exp(l_i / T); T → 0 keeps only the argmax (returned as 0 / -inf logits)."""
    logits = _logits(logits)
    if not np.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature={temperature}: use a number >= 0 (0 is greedy, 1 the model's own).")
    if temperature == 0:
        best = logits.argmax(axis=-1)[..., None]
        return np.where(np.arange(logits.shape[-1]) == best, 0.0, -np.inf)
    return logits / temperature


def top_k_filter(logits, k: int | None) -> np.ndarray:
    """Implements Eq. (AR.8) of notebooks/08_autoregressive_text.ipynb: keep the k largest logits (ties at the k-th value kept too), the rest -inf."""
    logits = _logits(logits)
    if k is None:
        return logits
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"top_k={k!r}: keep a whole number >= 1 of characters (or None for all).")
    if k >= logits.shape[-1]:
        return logits
    kth = np.sort(logits, axis=-1)[..., -k][..., None]
    return np.where(logits >= kth, logits, -np.inf)


def top_p_filter(logits, p: float | None) -> np.ndarray:
    """Implements Eq. (AR.9) of notebooks/08_autoregressive_text.ipynb: keep the smallest set of most likely characters whose probability is >= p."""
    logits = _logits(logits)
    if p is None:
        return logits
    if not 0.0 < p <= 1.0:
        raise ValueError(f"top_p={p}: use a probability in (0, 1] (1 keeps everything).")
    probs = softmax(logits)
    order = np.argsort(-probs, axis=-1, kind="stable")
    sorted_probs = np.take_along_axis(probs, order, axis=-1)
    mass_before = np.cumsum(sorted_probs, axis=-1) - sorted_probs
    # a character is kept when the more likely ones before it do not reach p yet
    keep_sorted = mass_before < p - 1e-12
    keep = np.empty_like(keep_sorted)
    np.put_along_axis(keep, order, keep_sorted, axis=-1)
    return np.where(keep, logits, -np.inf)


def next_distribution(logits, temperature: float = 1.0, top_k: int | None = None,
                      top_p: float | None = None) -> np.ndarray:
    """The sampling distribution over the next character: temperature, then top-k, then top-p."""
    return softmax(top_p_filter(top_k_filter(apply_temperature(logits, temperature), top_k), top_p))


def sample_next(logits, rng: np.random.Generator, temperature: float = 1.0, top_k: int | None = None,
                top_p: float | None = None) -> np.ndarray:
    """One character id per row of ``logits`` (shape ``(..., V)``), drawn from :func:`next_distribution`."""
    probs = next_distribution(logits, temperature, top_k, top_p)
    flat = probs.reshape(-1, probs.shape[-1])
    cumulative = np.cumsum(flat, axis=-1)
    draws = rng.random((flat.shape[0], 1)) * cumulative[:, -1:]
    chosen = np.minimum((cumulative <= draws).sum(axis=-1), flat.shape[-1] - 1)
    chosen = np.where(flat[np.arange(len(flat)), chosen] > 0, chosen, flat.argmax(axis=-1))
    return chosen.reshape(probs.shape[:-1])
