"""Tests of the neural character models (genai_tf.models.char_lm, transformer, recurrent, char_mlp):
causality, save/load, exact scoring against brute force, training, sampling, the key/value cache
against recomputation, the recurrent state, the MLP against Bengio's explicit form, and errors."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from genai_tf import sampling
from genai_tf.data.text import TextSpec, Vocabulary
from genai_tf.models import char_lm, registry
from genai_tf.models.char_mlp import FAMILIES as MLP_FAMILIES
from genai_tf.models.char_mlp import CharMLP
from genai_tf.models.recurrent import FAMILIES as LSTM_FAMILIES
from genai_tf.models.recurrent import CharLSTM
from genai_tf.models.transformer import FAMILIES as TRANSFORMER_FAMILIES
from genai_tf.models.transformer import TransformerLM

TEXT = ("the cat sat on the mat. the dog sat on the log. a cat and a dog met on a mat by the log. "
        "then the dog ran and the cat sat. ") * 3
VOCABULARY = Vocabulary.from_text(TEXT)
CONTEXT = 8
SIZES = {TransformerLM: {"d_model": 16, "num_layers": 2, "num_heads": 2},
         CharLSTM: {"embedding_dim": 8, "units": 16},
         CharMLP: {"embedding_dim": 4, "hidden": 16}}
CLASSES = list(SIZES)


def tiny(cls, context=CONTEXT, seed=0, **overrides):
    keras.utils.set_random_seed(seed)
    return cls(VOCABULARY.characters, context, **{**SIZES[cls], **overrides})


def numpy_nats(logits, target):
    """-log softmax(logits)[target] in float64, by hand."""
    logits = np.asarray(logits, "float64")
    peak = logits.max()
    return peak + math.log(np.exp(logits - peak).sum()) - logits[target]


def windows(text, length):
    ids = VOCABULARY.encode(text)
    starts = np.arange(0, len(ids) - length - 1, 3)
    index = starts[:, None] + np.arange(length)
    return ids[index], ids[index + 1]


@pytest.fixture
def ids():
    return VOCABULARY.encode(TEXT)


# --- the model interface ---------------------------------------------------------------------


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_changing_later_characters_leaves_earlier_logits_unchanged(cls, ids):
    model = tiny(cls)
    window = ids[:CONTEXT][None]
    changed = window.copy()
    changed[0, 5:] = (changed[0, 5:] + 3) % VOCABULARY.size
    logits, logits_changed = (keras.ops.convert_to_numpy(model(w)) for w in (window, changed))
    assert logits.shape == (1, CONTEXT, VOCABULARY.size)
    np.testing.assert_allclose(logits[0, :5], logits_changed[0, :5], atol=1e-6)
    assert np.abs(logits[0, 5:] - logits_changed[0, 5:]).max() > 1e-4  # the test can see a change


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_save_and_load_give_the_same_model(cls, ids, tmp_path):
    model = tiny(cls)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is cls and loaded.vocabulary == VOCABULARY and loaded.context == CONTEXT
    assert loaded.get_config() == model.get_config()
    window = ids[:CONTEXT][None]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(window)), keras.ops.convert_to_numpy(model(window)),
                               atol=1e-6)
    assert loaded.generate("the ", 12, seed=3) == model.generate("the ", 12, seed=3)


def set_uniform(model):
    """Zero the output layer: every logit 0, every character equally likely."""
    model.output_layer.set_weights([np.zeros_like(w) for w in model.output_layer.get_weights()])


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_a_uniform_model_scores_log_v(cls):
    model = tiny(cls)
    set_uniform(model)
    result = model.score(TEXT)
    assert result["characters"] == len(TEXT) - 1
    assert result["nats_per_char"] == pytest.approx(math.log(VOCABULARY.size), rel=1e-6)
    assert result["bits_per_char"] == pytest.approx(math.log2(VOCABULARY.size), rel=1e-6)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_score_with_stride_1_is_each_character_given_its_last_context_characters(cls, ids):
    model = tiny(cls)
    text_ids = ids[:40]
    expected = np.mean([numpy_nats(model.next_logits(text_ids[max(0, t - model.context):t]), text_ids[t])
                        for t in range(1, len(text_ids))])
    result = model.score(text_ids, stride=1)
    assert result["characters"] == len(text_ids) - 1
    assert result["nats_per_char"] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("cls", [TransformerLM, CharLSTM], ids=lambda c: c.__name__)
def test_the_default_score_uses_the_stated_windows(cls, ids):
    """Windows of `context` moved on by context // 2: a character after the first window is
    predicted from the window that ends on it or, past the last stride, the last window."""
    model = tiny(cls)
    text_ids, window, stride = ids[:37], CONTEXT, CONTEXT // 2
    count = len(text_ids) - 1
    starts = [*range(0, count - window, stride), count - window]
    nats = []
    for t in range(1, len(text_ids)):  # position t - 1 predicts character t
        position = t - 1
        if position < window:
            start = 0
        else:
            start = next(s for s in starts if s + window > position and (s == starts[-1] or s + window - 1 - position < stride))
        nats.append(numpy_nats(model.next_logits(text_ids[start:t]), text_ids[t]))
    result = model.score(text_ids)
    assert result["characters"] == count
    assert result["nats_per_char"] == pytest.approx(np.mean(nats), rel=1e-5)
    # a list of blocks is averaged over their characters
    first, second = model.score(text_ids[:20]), model.score(text_ids[20:])
    both = model.score([text_ids[:20], text_ids[20:]])
    assert both["characters"] == first["characters"] + second["characters"]
    assert both["nats_per_char"] == pytest.approx(
        (first["nats_per_char"] * 19 + second["nats_per_char"] * 16) / 35, rel=1e-6)
    model.score(ids[:500])  # 123 windows: two chunks, one smaller
    assert model._functions["position_nats"].experimental_get_tracing_count() <= 2  # not one per shape


def test_the_mlp_scores_exactly_by_default(ids):
    model = tiny(CharMLP, context=4)
    text_ids = ids[:1200]  # longer than one scoring window
    assert model.score(text_ids)["nats_per_char"] == pytest.approx(
        model.score(text_ids, stride=1)["nats_per_char"], rel=1e-5)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_a_few_training_steps_lower_the_loss(cls):
    model = tiny(cls)
    model.compile(optimizer=char_lm.adam(1e-2))
    inputs, targets = windows(TEXT, CONTEXT)
    data = tf.data.Dataset.from_tensor_slices((inputs, targets)).repeat().batch(16)
    before = model.evaluate(inputs, targets, batch_size=64, verbose=0, return_dict=True)
    history = model.fit(data, steps_per_epoch=40, epochs=1, shuffle=False, verbose=0).history
    after = model.evaluate(inputs, targets, batch_size=64, verbose=0, return_dict=True)
    assert set(history) == {"loss", "bits_per_char"}
    assert after["loss"] < before["loss"] - 0.5
    assert after["bits_per_char"] == pytest.approx(after["loss"] / math.log(2), rel=1e-5)
    assert model.score(TEXT)["nats_per_char"] < before["loss"] - 0.5


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_greedy_generation_follows_the_argmax_of_the_logits(cls):
    model = tiny(cls)
    text = model.generate("the c", 10, temperature=0)
    logits = model.stepwise_logits("the c", text)
    assert text == VOCABULARY.decode(logits[:-1].argmax(axis=-1))
    # a seeded draw repeats, another seed differs, and the draw follows sampling.text.sample_next
    assert model.generate("the c", 30, seed=1) == model.generate("the c", 30, seed=1)
    assert model.generate("the c", 30, seed=1) != model.generate("the c", 30, seed=2)
    drawn = model.generate("the c", 1, seed=5, top_k=3)
    assert VOCABULARY.encode(drawn)[0] == sampling.text.sample_next(logits[0], np.random.default_rng(5), top_k=3)
    assert model.generate("the c", 0) == ""


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_clear_errors(cls):
    model = tiny(cls)
    with pytest.raises(ValueError, match=r"The prompt has 2 character\(s\).*'Q', 'Z'"):
        model.generate("the QZ", 5)
    with pytest.raises(ValueError, match="The prompt is empty"):
        model.generate("", 5)
    with pytest.raises(ValueError, match="length=-1"):
        model.generate("the", -1)
    with pytest.raises(ValueError, match="temperature"):
        model.generate("the", 3, temperature=-1.0)
    with pytest.raises(ValueError, match="The text has 1 character"):
        model.score("the cat!")
    with pytest.raises(ValueError, match="at least 2 characters"):
        model.score("t")
    with pytest.raises(ValueError, match="stride"):
        model.score(TEXT, stride=0)
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match=r"\(inputs, targets\)"):
        model.train_on_batch(np.zeros((2, CONTEXT), "int32"))
    weights = model.output_layer.get_weights()
    model.output_layer.set_weights([weights[0], np.full_like(weights[1], np.nan)])
    with pytest.raises(ValueError, match="NaN"):
        model.generate("the", 3)
    with pytest.raises(FloatingPointError, match="NaN"):
        model.score(TEXT)


# --- the Transformer's key/value cache ---------------------------------------------------------


def test_cached_logits_equal_recomputed_logits_within_the_context():
    model = tiny(TransformerLM, context=24)
    generated = model.generate("the ", 20, seed=0)
    cached = model.stepwise_logits("the ", generated, use_cache=True)
    recomputed = model.stepwise_logits("the ", generated, use_cache=False)
    assert cached.shape == (21, VOCABULARY.size)
    np.testing.assert_allclose(cached, recomputed, atol=1e-5)
    assert model.generate("the ", 20, seed=0, use_cache=False) == generated


def test_a_full_cache_is_rebuilt_from_the_last_half_context():
    model = tiny(TransformerLM)
    prompt = "a cat and a dog"  # longer than the context: its last 8 characters are read
    assert model.generate(prompt, 25, seed=4) == model.generate(prompt[-CONTEXT:], 25, seed=4)
    generated = model.generate(prompt, 25, seed=4)
    cached = model.stepwise_logits(prompt, generated, use_cache=True)
    recomputed = model.stepwise_logits(prompt, generated, use_cache=False)
    history = VOCABULARY.encode(prompt[-CONTEXT:] + generated)
    # the cache holds the prompt's 8, is full, and is rebuilt from 4 characters at every 5th new one
    kept = CONTEXT
    for step in range(len(generated) + 1):
        end = CONTEXT + step
        if step:
            kept = kept + 1 if kept < CONTEXT else CONTEXT // 2
        np.testing.assert_allclose(cached[step], model.next_logits(history[end - kept:end]), atol=1e-5)
        np.testing.assert_allclose(recomputed[step], model.next_logits(history[end - CONTEXT:end]), atol=1e-5)
    assert np.abs(cached[1] - recomputed[1]).max() > 1e-4  # 4 characters of context are not 8
    # each decoding function was traced once: no retracing per step
    assert all(f.experimental_get_tracing_count() == 1 for f in model._functions.values())


def test_the_tied_transformer_uses_the_embedding_for_its_logits(ids, tmp_path):
    model = tiny(TransformerLM, tie_embeddings=True)
    assert not hasattr(model, "output_layer")
    names = {w.path.split("/")[-1] for w in model.weights}
    assert "output_bias" in names and "logits" not in {w.path.split("/")[-2] for w in model.weights if "/" in w.path}
    embedding = keras.ops.convert_to_numpy(model.token_embedding.embeddings)
    model.token_embedding.embeddings.assign(embedding * 2.0)
    window = ids[:CONTEXT][None]
    hidden = model.final_norm(model.blocks[1](model.blocks[0](model.position_embedding(model.token_embedding(window)))))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(window)),
                               keras.ops.convert_to_numpy(hidden) @ (embedding * 2.0).T, atol=1e-4)
    model.save(tmp_path / "tied.keras")
    loaded = keras.models.load_model(tmp_path / "tied.keras")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(window)), keras.ops.convert_to_numpy(model(window)),
                               atol=1e-6)


def test_the_transformer_returns_its_attention_maps_and_refuses_long_windows(ids):
    model = tiny(TransformerLM)
    logits, weights = model(ids[:CONTEXT][None], return_weights=True)
    assert len(weights) == 2 and tuple(weights[0].shape) == (1, 2, CONTEXT, CONTEXT)
    maps = keras.ops.convert_to_numpy(weights[1])
    np.testing.assert_allclose(maps.sum(axis=-1), 1.0, atol=1e-6)
    assert np.all(np.triu(maps[0, 0], k=1) == 0)
    model.compile(optimizer="adam")
    long = np.zeros((2, CONTEXT + 1), "int32")
    with pytest.raises(ValueError, match=f"longer than its context of {CONTEXT}"):
        model.train_on_batch(long, long)


def test_generation_speed_reports_both_paths():
    model = tiny(TransformerLM, context=16)
    speed = char_lm.generation_speed(model, "the cat", length=12)
    assert set(speed) == {"context", "length", "cached_chars_per_second", "uncached_chars_per_second", "speedup"}
    assert speed["context"] == 16 and speed["length"] == 12
    assert speed["speedup"] == pytest.approx(speed["cached_chars_per_second"] / speed["uncached_chars_per_second"])
    assert speed["cached_chars_per_second"] > 0 and speed["uncached_chars_per_second"] > 0


# --- the LSTM's state and the MLP's form ---------------------------------------------------------


def test_the_lstm_carries_its_state_past_the_context():
    model = tiny(CharLSTM)
    generated = model.generate("the ", 20, seed=0)
    cached = model.stepwise_logits("the ", generated, use_cache=True)
    recomputed = model.stepwise_logits("the ", generated, use_cache=False)
    np.testing.assert_allclose(cached[:5], recomputed[:5], atol=1e-5)  # 4 + 4 characters fit the context
    # past it the state summarises everything: the same as one pass from a zero state over it all
    whole = keras.ops.convert_to_numpy(model(VOCABULARY.encode("the " + generated)[None]))[0, 3:]
    np.testing.assert_allclose(cached, whole, atol=1e-5)
    assert np.abs(cached[-1] - recomputed[-1]).max() > 1e-5
    assert all(f.experimental_get_tracing_count() == 1 for f in model._functions.values())


def test_the_mlp_is_bengios_mlp_on_the_last_k_embeddings(ids):
    k = 4
    model = tiny(CharMLP, context=k)
    window = ids[:10]
    table = keras.ops.convert_to_numpy(model.embedding.embeddings)
    kernel, bias = model.mlp_hidden.get_weights()  # (k, e, hidden)
    out_kernel, out_bias = model.output_layer.get_weights()
    padded = np.concatenate([np.zeros((k - 1, table.shape[1])), table[window]])  # zero vectors before the text
    expected = np.stack([np.tanh(padded[t:t + k].reshape(-1) @ kernel.reshape(-1, kernel.shape[-1]) + bias)
                         @ out_kernel + out_bias for t in range(len(window))])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(window[None]))[0], expected, atol=1e-5)
    assert model.context == k


# --- the family declarations ---------------------------------------------------------------------


@pytest.mark.parametrize("families", [TRANSFORMER_FAMILIES, LSTM_FAMILIES, MLP_FAMILIES],
                         ids=lambda f: next(iter(f)))
def test_each_family_builds_a_compiled_text_model_from_a_text_spec(families):
    (name, family), = families.items()
    assert family.data == "text" and not family.reconstructs and family.context >= 1
    assert isinstance(family, registry.Family)
    model = family.build(TextSpec(VOCABULARY, 16), 0, 0)
    assert isinstance(model, family.model_class) and model.vocabulary == VOCABULARY
    assert model.optimizer is not None
    logs = model.train_on_batch(*windows(TEXT, 16), return_dict=True)
    assert set(logs) == {"loss", "bits_per_char"} and np.isfinite(logs["loss"])
    with pytest.raises(ValueError, match="TextSpec"):
        family.build((28, 28, 1), 0, 0)
    with pytest.raises(ValueError, match="latent"):
        family.build(TextSpec(VOCABULARY, 16), 8, 0)


@pytest.mark.parametrize(("name", "settings", "attribute"), [
    ("transformer", {"d_model": 16, "num_layers": 1, "num_heads": 2}, "d_model"),
    ("lstm", {"units": 16}, "units"), ("char_mlp", {"hidden": 16}, "hidden")])
def test_a_variant_of_a_text_family_passes_widths_to_its_builder(name, settings, attribute):
    family = registry.family(name)
    narrow = family.variant(**settings)
    model = narrow.build(TextSpec(VOCABULARY, 16), 0, 0)
    assert isinstance(model, family.model_class) and getattr(model, attribute) == settings[attribute]
    assert model.count_params() < family.build(TextSpec(VOCABULARY, 16), 0, 0).count_params()
    again = narrow.build(TextSpec(VOCABULARY, 16), 0, 0)  # the seed fixes the initial weights
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), again.get_weights(), strict=True))
