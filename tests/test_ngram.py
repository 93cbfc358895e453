"""The counted n-gram (genai_tf.models.ngram): Eq. (AR.4) against a brute-force count, add-k's
closed form, normalisation, blocks, save/load, scoring and generation."""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict

import keras
import numpy as np
import pytest

from genai_tf import sampling
from genai_tf.data import text as text_data
from genai_tf.data.text import TextSpec, Vocabulary
from genai_tf.models import ngram
from genai_tf.models.ngram import NGramModel

BLOCKS = ["abracadabra cab", "a bad cab; arc", "dab abba cadabra"]
CHARACTERS = "".join(sorted(set("".join(BLOCKS)) | {"z"}))  # "z" is never seen


def brute_force_kneser_ney(blocks, order, size):
    """p(w | h) by interpolated Kneser-Ney, counted with dicts from its definition."""
    raw = Counter()
    left = defaultdict(set)  # m-gram -> the characters before its occurrences ("start" at a block start)
    for block in blocks:
        for m in range(1, order + 1):
            for i in range(len(block) - m + 1):
                gram = tuple(block[i:i + m])
                raw[gram] += 1
                left[gram].add(block[i - 1] if i > 0 else "start")
    counts = {gram: (raw[gram] if len(gram) == order else len(left[gram])) for gram in raw}
    discounts = {}
    for m in range(1, order + 1):
        values = [c for gram, c in counts.items() if len(gram) == m]
        once, twice = values.count(1), values.count(2)
        discounts[m] = once / (once + 2 * twice) if once and twice else 0.5

    def prob(history, w):
        m = len(history) + 1
        following = [counts.get(history + (x,), 0) for x in range(size)]
        total = sum(following)
        lower = 1.0 / size if m == 1 else prob(history[1:], w)
        if total == 0:
            return lower
        types = sum(1 for c in following if c > 0)
        d = discounts[m]
        return (max(following[w] - d, 0.0) + d * types * lower) / total

    return prob, counts


def counted(blocks=BLOCKS, **kwargs) -> NGramModel:
    model = NGramModel(CHARACTERS, **kwargs)
    return model.count(blocks)


def contexts_to_check(blocks, order, vocabulary):
    """Every context (up to order - 1 characters) seen in the text, plus unseen ones of each length."""
    found = set()
    for block in blocks:
        ids = tuple(vocabulary.encode(block))
        for j in range(order):
            found.update(ids[i:i + j] for i in range(len(ids) - j + 1))
    z, a = vocabulary.encode("z")[0], vocabulary.encode("a")[0]
    found.update([(z,), (z, a), (a, z), (z, z, z)[:order - 1], (a, a, a)[:order - 1]])
    return sorted(context for context in found if len(context) <= order - 1)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_kneser_ney_matches_brute_force(order):
    model = counted(order=order)
    vocabulary = model.vocabulary
    prob, _ = brute_force_kneser_ney([tuple(vocabulary.encode(b)) for b in BLOCKS], order, vocabulary.size)
    for context in contexts_to_check(BLOCKS, order, vocabulary):
        expected = np.array([prob(tuple(context), w) for w in range(vocabulary.size)])
        got = np.exp(model.log_probs(np.array(context, dtype=np.int32)))
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9, err_msg=f"context {context}")
    # score: every character but each block's first, given its own block's previous characters
    nats = []
    for block in BLOCKS:
        ids = tuple(vocabulary.encode(block))
        nats += [-math.log(prob(ids[max(0, t - order + 1):t], ids[t])) for t in range(1, len(ids))]
    result = model.score(BLOCKS)
    assert result["characters"] == len(nats) == sum(len(b) - 1 for b in BLOCKS)
    assert result["nats_per_char"] == pytest.approx(np.mean(nats), abs=1e-12)
    assert result["bits_per_char"] == pytest.approx(np.mean(nats) / math.log(2), abs=1e-12)


def test_add_k_matches_its_closed_form():
    k, order = 0.3, 3
    model = counted(order=order, smoothing="add_k", k=k)
    vocabulary = model.vocabulary
    size = vocabulary.size
    raw = Counter()
    for block in BLOCKS:
        ids = tuple(vocabulary.encode(block))
        for m, i in itertools.product(range(1, order + 1), range(len(ids))):
            if i + m <= len(ids):
                raw[ids[i:i + m]] += 1

    def closed_form(history, w):  # (c + k) / (c(h.) + kV), backing off where c(h.) = 0
        total = sum(raw[history + (x,)] for x in range(size))
        if total == 0:
            return 1.0 / size if not history else closed_form(history[1:], w)
        return (raw[history + (w,)] + k) / (total + k * size)

    for context in contexts_to_check(BLOCKS, order, vocabulary):
        expected = [closed_form(tuple(context), w) for w in range(size)]
        np.testing.assert_allclose(np.exp(model.log_probs(np.array(context))), expected, rtol=0, atol=1e-12)
    a, b = vocabulary.encode("ab")
    seen_total = sum(raw[(a, b, x)] for x in range(size))
    assert seen_total > 0 and np.exp(model.log_probs([a, b]))[a] == pytest.approx(
        (raw[(a, b, a)] + k) / (seen_total + k * size), abs=1e-15)


@pytest.mark.parametrize("smoothing", ngram.SMOOTHINGS)
@pytest.mark.parametrize("order", [1, 3, 5])
def test_probabilities_sum_to_one_for_seen_and_unseen_contexts(smoothing, order):
    model = counted(order=order, smoothing=smoothing)
    vocabulary = model.vocabulary
    for text in ["abracadabra", "zzzzzz", "cab zaz", "a"]:
        probs = np.exp(model.next_log_probs(vocabulary.encode(text)))
        assert probs.shape == (len(text), vocabulary.size)
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
        assert (probs > 0).all()  # every character, even the unseen "z", is possible
    assert np.exp(model.log_probs([])).sum() == pytest.approx(1.0, abs=1e-12)


def test_next_log_probs_rows_are_the_distributions_after_each_prefix():
    rng = np.random.default_rng(0)
    model = counted(order=4)
    ids = rng.integers(0, model.vocabulary.size, ngram.CHUNK + 70).astype(np.int32)  # crosses a chunk
    rows = model.next_log_probs(ids)
    for t in [0, 1, 2, 3, 500, ngram.CHUNK - 1, ngram.CHUNK, len(ids) - 1]:
        np.testing.assert_allclose(rows[t], model.log_probs(ids[max(0, t - 2):t + 1]), atol=1e-12)
    targets = model._target_probs(ids.astype(np.int64), np.arange(1, len(ids)))
    np.testing.assert_allclose(np.log(targets), rows[np.arange(len(ids) - 1), ids[1:]], atol=1e-12)
    outputs = model(ids[None, :50]).numpy()  # the keras call: the same rows, float32
    assert outputs.shape == (1, 50, model.vocabulary.size)
    np.testing.assert_allclose(outputs[0], rows[:50], atol=1e-5)
    np.testing.assert_array_equal(model.predict(ids[None, :50], verbose=0), outputs)  # in a tf.function too


def test_ngrams_never_span_two_blocks():
    split = counted(["ab", "cd"], order=2, smoothing="add_k", k=0.5)
    glued = counted(["abcd"], order=2, smoothing="add_k", k=0.5)
    b, c = split.vocabulary.encode("bc")
    assert [int(keys.shape[0]) for keys, _ in split.tables] == [4, 2]
    assert [int(keys.shape[0]) for keys, _ in glued.tables] == [4, 3]
    # "b" ends a block, so it has no continuation in `split`: p(. | b) backs off to the unigram
    np.testing.assert_allclose(split.log_probs([b]), split.log_probs([]), atol=1e-15)
    assert np.exp(glued.log_probs([b]))[c] == pytest.approx(1.5 / (1 + 0.5 * len(CHARACTERS)))
    assert split.score(["ab", "cd"])["characters"] == 2 and glued.score("abcd")["characters"] == 3


def test_unknown_characters_raise_the_vocabulary_error():
    model = counted(order=3)
    with pytest.raises(ValueError, match=r"The text has 2 character\(s\) .* lacks: '\?', '!'"):
        model.score("abc?!")
    with pytest.raises(ValueError, match=r"The training text has 1 character\(s\) .* lacks: '#'"):
        NGramModel(CHARACTERS).count(["ab", "a#"])
    with pytest.raises(ValueError, match="The prompt has 1 character"):
        model.generate("ab?", 5)
    with pytest.raises(ValueError, match="ids outside"):
        model.score(np.array([0, 1, len(CHARACTERS)]))


def test_bad_settings_and_order_of_calls_are_refused():
    with pytest.raises(ValueError, match="order <= 9"):
        NGramModel([chr(32 + i) for i in range(84)], order=10)  # 84^10 > 2^63
    NGramModel([chr(32 + i) for i in range(84)], order=9)
    with pytest.raises(ValueError, match="smoothing"):
        NGramModel(CHARACTERS, smoothing="laplace")
    with pytest.raises(ValueError, match="order"):
        NGramModel(CHARACTERS, order=0)
    with pytest.raises(ValueError, match="discount"):
        NGramModel(CHARACTERS, discount=1.5)
    with pytest.raises(ValueError, match="count"):
        NGramModel(CHARACTERS).score("abc")
    model = counted(order=2)
    with pytest.raises(ValueError, match="already holds counts"):
        model.count(BLOCKS)
    with pytest.raises(ValueError, match="at least 2 characters"):
        model.score("a")
    with pytest.raises(ValueError, match="length"):
        model.generate("a", -1)


def test_fixed_discount_is_used_at_every_order():
    model = counted(order=3, discount=0.75)
    np.testing.assert_array_equal(model.discounts.numpy(), [0.75, 0.75, 0.75])
    estimated = counted(order=3).discounts.numpy()
    assert ((estimated > 0) & (estimated < 1)).all() and not np.allclose(estimated, 0.75)


@pytest.mark.parametrize("smoothing", ngram.SMOOTHINGS)
def test_save_and_load_round_trip(tmp_path, smoothing):
    model = counted(order=4, smoothing=smoothing, k=0.2)
    path = tmp_path / "ngram.keras"
    model.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["ngram.keras"]  # no side files
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, NGramModel) and loaded.vocabulary == model.vocabulary
    assert (loaded.order, loaded.smoothing, loaded.k, loaded.context) == (4, smoothing, 0.2, 3)
    ids = model.vocabulary.encode("abracadabra zab")
    np.testing.assert_array_equal(loaded.next_log_probs(ids), model.next_log_probs(ids))
    np.testing.assert_array_equal(loaded.discounts.numpy(), model.discounts.numpy())
    assert loaded.generate("ab", 30, seed=3) == model.generate("ab", 30, seed=3)


def test_held_out_score_is_finite_and_beats_the_unigram():
    data = text_data.load("pydoc_topics", context=8, limit=120_000)
    train = data.ids("train")
    unigram = NGramModel(data.vocabulary, order=1).count(train)
    uniform = math.log(data.vocabulary.size)
    validation = data.ids("validation")
    unigram_nats = unigram.score(validation)["nats_per_char"]
    assert unigram_nats < uniform
    for smoothing in ngram.SMOOTHINGS:
        model = ngram.build(data.spec, smoothing=smoothing).count(train)
        assert model.order == min(ngram.DEFAULT_ORDER, data.context + 1)
        result = model.score(validation)
        assert np.isfinite(result["nats_per_char"]) and result["characters"] == (
            data.num_characters("validation") - len(validation))
        assert result["nats_per_char"] < unigram_nats - 0.5, (smoothing, result, unigram_nats)


def test_generate_is_seeded_and_temperature_zero_is_greedy():
    model = counted(order=3)
    first = model.generate("ab", 40, seed=7)
    assert len(first) == 40 and first == model.generate("ab", 40, seed=7)
    assert first != model.generate("ab", 40, seed=8)
    ids = list(model.vocabulary.encode("ab"))
    for _ in range(25):
        ids.append(int(np.argmax(model.log_probs(ids[-2:]))))
    greedy = model.vocabulary.decode(ids[2:])
    assert model.generate("ab", 25, temperature=0, seed=1) == greedy == model.generate("ab", 25, top_k=1)
    assert model.generate("", 0) == "" and len(model.generate("", 10, seed=0)) == 10
    sampled = model.generate("a", 400, seed=0, top_k=2)
    probs = sampling.text.next_distribution(model.log_probs(model.vocabulary.encode("a")), top_k=2)
    assert sampled[0] in {model.vocabulary.characters[i] for i in np.flatnonzero(probs)}
    assert "z" not in model.generate("ab", 200, seed=0, top_p=0.9)  # never seen, never in the nucleus


def test_family_builds_from_a_text_spec():
    family = ngram.FAMILIES["ngram"]
    assert family.counted and family.data == "text" and family.model_class is NGramModel
    vocabulary = Vocabulary(CHARACTERS)
    assert family.build(TextSpec(vocabulary, 128), 0, 0).order == ngram.DEFAULT_ORDER
    short = family.build(TextSpec(vocabulary, 2), 0, 0)
    assert short.order == 3 and short.context == 2 and short.vocabulary == vocabulary
    assert family.context == ngram.DEFAULT_ORDER - 1
