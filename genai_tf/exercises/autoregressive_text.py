"""Self-checks of notebook 08, autoregressive text: bits per character and perplexity, the causal
mask and attention, top-k and top-p filtering, and one decoding step through a key/value cache.

Each check returns a :class:`~genai_tf.exercises.engine.CheckResult`, truthy only on a pass. When
the answer is wrong, the check also compares it with the usual wrong answers (forgetting ln 2,
masking the diagonal, keeping the character that crosses p out, not renormalising, ...) and names
the one it matches, so the hint says what went wrong rather than only that something did.
"""

from __future__ import annotations

import math

import numpy as np

from genai_tf.exercises.cached_decoding import cached_attention_step  # noqa: F401  (exercise 6)
from genai_tf.exercises.engine import CheckResult, run_cases, seeded_rng, to_numpy

NEGATIVE = -1e8  # a returned value at or below this counts as -inf (a "masked" logit)
ADDITIVE_MASKED = -1e3  # an additive mask's entry at or below this removes a key (exp(-1000) = 0 in float64)
TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}  # tighter than the engine's default: the answers are exact


# --- Eq. (AR.3): bits per character and perplexity ------------------------------------------


def bits_per_char(function) -> CheckResult:
    """Check ``function(nats_per_char) -> bits_per_char`` (a float or an array of them), Eq. (AR.3)."""
    cases = [(1.0,), (np.array([0.25, 1.386, 2.3, 4.5]),)]
    nats = [np.asarray(case[0], "float64") for case in cases]
    mistakes = {"the nats themselves (a bit is ln 2 nats: divide by ln 2)": nats,
                "multiplying by ln 2 instead of dividing": [n * math.log(2) for n in nats],
                "dividing by ln 10 (log10 gives decimal digits, not bits)": [n / math.log(10) for n in nats],
                "log2 of the nats (convert the unit, do not take another log)":
                    [np.log2(n) for n in nats]}
    return run_cases("bits_per_char", function, cases, [n / math.log(2) for n in nats],
                     "bits/char = nats/char / ln 2 (log₂ x = ln x / ln 2), so each number grows by 1/ln 2 ≈ 1.443.",
                     mistakes=mistakes, shape_hint="one value per value of nats", **TOLERANCE)


def perplexity(function) -> CheckResult:
    """Check ``function(position_nats (N,)) -> perplexity`` (a float): exp of the mean nats, Eq. (AR.3)."""
    rng = seeded_rng(81)
    cases = [(np.array([0.1, 0.2, 3.0, 0.7]),), (rng.exponential(1.4, size=50),), (np.full(6, math.log(65.0)),)]
    values = [case[0] for case in cases]
    mistakes = {"the mean of exp(nats) (exponentiate the mean, not each position: a few surprising "
                "characters must not dominate)": [np.mean(np.exp(v)) for v in values],
                "exp of the summed nats (average over the characters first)": [np.exp(np.sum(v)) for v in values],
                "2 to the mean nats (2^x goes with bits; with nats use e^x)": [2.0 ** np.mean(v) for v in values],
                "the mean nats, not yet exponentiated": [np.mean(v) for v in values]}
    return run_cases("perplexity", function, cases, [np.exp(np.mean(v)) for v in values],
                     "perplexity = exp(mean over characters of −ln p) = 2^(bits/char): a uniform choice among "
                     "65 characters has perplexity 65.", mistakes=mistakes, rtol=1e-6, atol=1e-6,
                     shape_hint="one number for the whole text")


# --- Eq. (AR.5): the causal mask and attention ----------------------------------------------


def allowed_from_mask(mask) -> np.ndarray:
    """A learner's mask as a boolean "may attend" matrix. Accepted: boolean (True: may attend), an
    integer 0/1 indicator (1: may attend), or additive (0: may attend; at most -1e3, e.g. -1e4, -1e9
    or -inf: may not). A float 0/1 matrix is ambiguous (added to the scores it would mask nothing)."""
    mask = np.asarray(mask)
    if mask.dtype == bool:
        return mask
    if np.issubdtype(mask.dtype, np.integer) and np.all(np.isin(mask, (0, 1))):
        return mask == 1
    mask = mask.astype("float64")
    if np.all(np.isin(mask, (0.0, 1.0))) and np.any(mask == 1.0):
        raise ValueError("a float mask here is additive (0 where a query may look, -inf where it may not); "
                         "this one holds 0s and 1s: return a boolean (or integer 0/1) array or an additive one")
    if not np.all((mask == 0.0) | (mask <= ADDITIVE_MASKED)):
        raise ValueError(f"an additive mask holds 0 where a query may look and a large negative number (-inf, "
                         f"-1e9, -1e4; at most {ADDITIVE_MASKED:g}) where it may not; this one holds other values")
    return mask == 0.0


def causal_mask(function) -> CheckResult:
    """Check ``function(length) -> (length, length)`` mask: query i may look at keys j ≤ i.

    The mask may be boolean (True where attention is allowed), an integer 0/1 indicator, or
    additive (0 allowed, -inf or a large negative number such as -1e4 not): :func:`allowed_from_mask`.
    """
    lengths = (1, 4, 7)
    expected = [np.tril(np.ones((n, n))) for n in lengths]
    mistakes = {"masking the diagonal too (off by one: position i must see itself, j ≤ i, not j < i)":
                    [np.tril(np.ones((n, n)), -1) for n in lengths],
                "the mask transposed (it lets each position see the future, j ≥ i, and not the past)":
                    [np.triu(np.ones((n, n))) for n in lengths],
                "the complement (True, or 0, where attention is NOT allowed)":
                    [1.0 - np.tril(np.ones((n, n))) for n in lengths]}
    return run_cases("causal_mask", lambda n: allowed_from_mask(function(n)).astype("float64"), [(n,) for n in lengths],
                     expected,
                     "row i is the query at position i and column j a key: allowed where j ≤ i, i.e. the lower "
                     "triangle including the diagonal (np.tril).", mistakes=mistakes, shape_hint="(length, length)",
                     **TOLERANCE)


def _softmax(x, axis=-1):
    x = x - np.max(x, axis=axis, keepdims=True)
    weights = np.exp(x)
    return weights / weights.sum(axis=axis, keepdims=True)


def _attention(q, k, v, allowed, scale, axis=-1, mask_after=False):
    scores = q @ np.swapaxes(k, -1, -2) * scale
    if allowed is not None and not mask_after:
        scores = np.where(allowed, scores, -np.inf)
    weights = _softmax(scores, axis=axis)
    if allowed is not None and mask_after:
        weights = np.where(allowed, weights, 0.0)
    return weights @ v


def attention(function) -> CheckResult:
    """Check ``function(q (B, Lq, d), k (B, Lk, d), v (B, Lk, dv), allowed) -> (B, Lq, dv)``, Eq. (AR.5).

    ``allowed`` is a boolean ``(Lq, Lk)`` matrix (True where query i may look at key j) or None.
    """
    rng = seeded_rng(85)
    cases = []
    for batch, length, d, dv, masked in ((2, 5, 16, 3, True), (1, 4, 64, 2, False), (3, 6, 8, 8, True)):
        q, k = (rng.normal(size=(batch, length, d)) for _ in range(2))
        cases.append((q, k, rng.normal(size=(batch, length, dv)),
                      np.tril(np.ones((length, length), bool)) if masked else None))
    # fewer queries than keys (the last 3 of 7 positions, as in a decoding step): query i is
    # position i + 4 and sees keys j <= i + 4; then one query over 5 keys with no mask
    q, k, v = rng.normal(size=(2, 3, 8)), rng.normal(size=(2, 7, 8)), rng.normal(size=(2, 7, 5))
    cases.append((q, k, v, np.arange(7)[None, :] <= np.arange(3)[:, None] + 4))
    cases.append((rng.normal(size=(1, 1, 4)), rng.normal(size=(1, 5, 4)), rng.normal(size=(1, 5, 2)), None))
    # large scores (|q·k|/√d in the thousands): exp overflows unless each row's maximum is subtracted
    q, k = rng.normal(scale=40.0, size=(2, 2, 4, 8))
    cases.append((q, k, rng.normal(size=(2, 4, 3)), np.tril(np.ones((4, 4), bool))))
    expected = [_attention(q, k, v, m, 1 / math.sqrt(q.shape[-1])) for q, k, v, m in cases]
    mistakes = {"no scaling (divide the scores by √d)": [_attention(q, k, v, m, 1.0) for q, k, v, m in cases],
                "dividing by d instead of √d": [_attention(q, k, v, m, 1 / q.shape[-1]) for q, k, v, m in cases],
                "a softmax over the queries (axis −2); each query's weights over the keys must sum to 1":
                    [_attention(q, k, v, m, 1 / math.sqrt(q.shape[-1]), axis=-2) for q, k, v, m in cases],
                "masking after the softmax (set the masked scores to −inf before it, so the allowed weights "
                "still sum to 1)":
                    [_attention(q, k, v, m, 1 / math.sqrt(q.shape[-1]), mask_after=True) for q, k, v, m in cases]}
    return run_cases("attention", _finite(function, "attention"), cases, expected,
                     "softmax(q kᵀ / √d + M) v with M = −inf where allowed is False, softmax over the keys (last "
                     "axis); subtract each row's maximum score before exp (softmax does not change, exp no "
                     "longer overflows); q may have fewer positions than k.", mistakes=mistakes,
                     shape_hint="(batch, queries, dv)", **TOLERANCE)


def _finite(function, name):
    """``function`` whose output must be finite for finite inputs: NaN or inf says exp overflowed."""

    def checked(*case):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            output = to_numpy(function(*case))
        if not np.all(np.isfinite(output)):
            raise FloatingPointError(f"{name} returned NaN or inf for finite inputs whose largest score is "
                                     f"in the thousands: exp overflowed. Subtract each row's maximum score "
                                     f"before exp (softmax(s) = softmax(s - max s))")
        return output

    return checked


# --- Eqs. (AR.8)-(AR.9): top-k and top-p ----------------------------------------------------


def _masked(output) -> np.ndarray:
    return np.where(output <= NEGATIVE, -np.inf, output)


def _top_k(logits, k, largest=True):
    order = np.argsort(logits if not largest else -logits, axis=-1, kind="stable")[..., :k]
    keep = np.zeros(logits.shape, bool)
    np.put_along_axis(keep, order, True, axis=-1)
    return np.where(keep, logits, -np.inf)


def top_k_filter(function) -> CheckResult:
    """Check ``function(logits (..., V), k) -> logits`` with all but each row's k largest set to -inf, Eq. (AR.8)."""
    rng = seeded_rng(88)
    cases = [(np.array([0.3, 2.0, -1.0, 1.2, 0.9, -0.4]), 3),
             (rng.normal(size=(4, 10)) * 2.0, 2),
             (np.array([[5.0, 1.0, 0.0, -2.0], [-3.0, -1.0, 4.0, 2.0]]), 1),
             (np.array([0.1, -0.2, 0.4]), 3)]
    expected = [_top_k(logits, k) for logits, k in cases]
    mistakes = {"keeping k − 1 characters (off by one)": [_top_k(x, max(k - 1, 0)) for x, k in cases],
                "keeping k + 1 characters (off by one)": [_top_k(x, k + 1) for x, k in cases],
                "keeping the k smallest logits (sort in decreasing order)": [_top_k(x, k, largest=False)
                                                                             for x, k in cases],
                "probabilities, not logits (return the filtered logits; the sampler takes the softmax)":
                    [_softmax(_top_k(x, k)) for x, k in cases],
                "one threshold for the whole batch (find the k-th largest in each row, axis −1)":
                    [np.where(x >= np.sort(x, axis=None)[-k], x, -np.inf) for x, k in cases]}
    return run_cases("top_k_filter", lambda logits, k: _masked(to_numpy(function(logits, k))), cases, expected,
                     "in each row keep the k largest logits and set the others to −inf, e.g. with the k-th "
                     "largest of np.sort(logits, axis=-1) as a threshold.", mistakes=mistakes,
                     shape_hint="the logits' shape", **TOLERANCE)


def _top_p(probs, p, strict=False, renormalise=True, largest=True, at_most=False):
    order = np.argsort(-probs if largest else probs, kind="stable")
    mass_before = np.cumsum(probs[order]) - probs[order]
    keep_sorted = (mass_before + probs[order] < p if strict else mass_before <= p if at_most
                   else mass_before < p)
    keep = np.zeros(len(probs), bool)
    keep[order[keep_sorted]] = True
    kept = np.where(keep, probs, 0.0)
    with np.errstate(invalid="ignore"):  # an empty set renormalises to NaN, as a learner's code would
        return kept / kept.sum() if renormalise else kept


def top_p_filter(function) -> CheckResult:
    """Check ``function(probs (V,), p) -> probs (V,)``: the smallest set of most likely characters whose
    probability is at least p, renormalised to sum to 1; 0 elsewhere, Eq. (AR.9)."""
    rng = seeded_rng(89)
    skewed = np.array([0.05, 0.5, 0.1, 0.2, 0.15])
    dyadic = np.array([0.125, 0.5, 0.03125, 0.25, 0.09375])  # distinct, their sums exact in floating point
    cases = [(skewed, 0.6), (skewed, 0.3), (skewed, 0.9), (rng.dirichlet(np.full(12, 0.5)), 0.75),
             (np.array([0.4, 0.3, 0.2, 0.1]), 0.95),
             (dyadic, 0.75), (dyadic, 0.875)]  # the mass reaches p exactly: the set stops there
    expected = [_top_p(probs, p) for probs, p in cases]
    mistakes = {"keeping only the characters whose cumulative mass stays below p (the character that crosses "
                "p must be kept too: the set's mass has to reach p)": [_top_p(q, p, strict=True) for q, p in cases],
                "not renormalising (divide the kept probabilities by their sum)": [_top_p(q, p, renormalise=False)
                                                                                  for q, p in cases],
                "adding up the least likely characters first (sort in decreasing order)":
                    [_top_p(q, p, largest=False) for q, p in cases],
                "going on past the character whose mass reaches p exactly (compare the mass before each "
                "character with < p, not <= p: the smallest set whose mass is at least p)":
                    [_top_p(q, p, at_most=True) for q, p in cases]}
    return run_cases("top_p_filter", function, cases, expected,
                     "sort in decreasing order, keep a character while the mass of the ones before it is < p "
                     "(so the one that reaches p is kept), zero the rest, and divide by the kept mass.",
                     mistakes=mistakes, shape_hint="one probability per character, (V,)", **TOLERANCE)

