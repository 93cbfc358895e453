"""The sampling transforms of genai_tf.sampling.text against their definitions, computed independently."""

import itertools

import numpy as np
import pytest

from genai_tf import sampling


def _probs(logits):
    weights = np.exp(np.asarray(logits, float) - np.max(logits))
    return weights / weights.sum()


LOGITS = np.log([0.05, 0.4, 0.1, 0.25, 0.2])


def test_softmax_is_stable_and_normalised():
    probs = sampling.text.softmax(np.array([[1000.0, 1001.0, 999.0], [-5.0, 0.0, 5.0]]))
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0)
    np.testing.assert_allclose(probs[0], _probs([0.0, 1.0, -1.0]))


def test_temperature_scales_logits_and_zero_is_argmax():
    np.testing.assert_allclose(sampling.text.next_distribution(LOGITS, temperature=2.0), _probs(LOGITS / 2.0))
    np.testing.assert_allclose(sampling.text.next_distribution(LOGITS, temperature=1.0), _probs(LOGITS))
    np.testing.assert_array_equal(sampling.text.next_distribution(LOGITS, temperature=0.0), [0, 1, 0, 0, 0])
    cold = sampling.text.next_distribution(LOGITS, temperature=0.05)
    assert cold[1] > 0.99  # T -> 0 approaches the argmax
    hot = sampling.text.next_distribution(LOGITS, temperature=1e4)
    np.testing.assert_allclose(hot, 0.2, atol=1e-3)  # T -> inf approaches uniform
    with pytest.raises(ValueError, match="temperature"):
        sampling.text.apply_temperature(LOGITS, -1.0)


def test_top_k_keeps_the_k_likeliest_renormalised():
    probs = sampling.text.next_distribution(LOGITS, top_k=2)
    expected = np.array([0, 0.4, 0, 0.25, 0]) / 0.65
    np.testing.assert_allclose(probs, expected)
    np.testing.assert_allclose(sampling.text.next_distribution(LOGITS, top_k=99), _probs(LOGITS))
    with pytest.raises(ValueError, match="top_k"):
        sampling.text.top_k_filter(LOGITS, 0)


@pytest.mark.parametrize("p", [0.05, 0.3, 0.4, 0.41, 0.65, 0.85, 0.9, 0.999, 1.0])
def test_top_p_keeps_the_smallest_set_with_mass_at_least_p(p):
    """Brute force: of all subsets with mass >= p, the smallest (ties: the most mass) is kept."""
    probs = _probs(LOGITS)
    subsets = [s for r in range(1, 6) for s in itertools.combinations(range(5), r) if probs[list(s)].sum() >= p - 1e-12]
    best = min(subsets, key=lambda s: (len(s), -probs[list(s)].sum()))
    kept = sampling.text.next_distribution(LOGITS, top_p=p)
    assert set(np.flatnonzero(kept)) == set(best)
    np.testing.assert_allclose(kept[list(best)], probs[list(best)] / probs[list(best)].sum())


def test_top_p_works_row_by_row():
    rows = np.stack([LOGITS, LOGITS[::-1]])
    kept = sampling.text.top_p_filter(rows, 0.6)
    assert list(np.isfinite(kept[0])) == [False, True, False, True, False]
    assert list(np.isfinite(kept[1])) == [False, True, False, True, False][::-1]


def test_sample_next_draws_from_the_distribution():
    rng = np.random.default_rng(0)
    draws = sampling.text.sample_next(np.tile(LOGITS, (40_000, 1)), rng)
    frequencies = np.bincount(draws, minlength=5) / len(draws)
    probs = _probs(LOGITS)
    np.testing.assert_allclose(frequencies, probs, atol=4 * np.sqrt(probs * (1 - probs) / len(draws)).max())
    filtered = sampling.text.sample_next(np.tile(LOGITS, (2_000, 1)), rng, top_k=2)
    assert set(np.unique(filtered)) == {1, 3}
    assert sampling.text.sample_next(LOGITS, rng, temperature=0).item() == 1
    again = sampling.text.sample_next(LOGITS, np.random.default_rng(5)), sampling.text.sample_next(LOGITS, np.random.default_rng(5))
    assert again[0] == again[1]


def test_broken_logits_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        sampling.text.softmax([0.0, np.nan])
    with pytest.raises(ValueError, match="top_p"):
        sampling.text.top_p_filter(LOGITS, 0.0)
